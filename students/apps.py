from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class StudentsConfig(AppConfig):
    name = "students"
    verbose_name = _("Student registry")

    def ready(self):
        from .importer import background  # noqa: F401  (registers the import jobs with the worker)
