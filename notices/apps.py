from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NoticesConfig(AppConfig):
    """Notifications inside the app: what happened that is the user's to act on."""

    name = "notices"
    verbose_name = _("Notifications")
