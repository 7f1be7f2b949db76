from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class JobsConfig(AppConfig):
    """Long work in the background worker, and each user's downloads."""

    name = "jobs"
    verbose_name = _("Background work")
