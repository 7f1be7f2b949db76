"""The login log: every login, failed login, lockout, second-factor step and logout."""
from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from common.audit import append_only
from students.choices import Role
from students.models import staff_of_region


class LoginEventQuerySet(models.QuerySet):
    def visible_to(self, user):
        """Bureau administrators read the events of their region's staff (theirs, its
        schools'); superusers every event, including failures for logins that do not exist."""
        if not user.is_authenticated or not user.is_active:
            return self.none()
        if user.is_superuser:
            return self
        if user.role == Role.BUREAU_ADMIN and user.region_id:
            return self.filter(staff_of_region(user.region.code))
        return self.none()


class LoginEvent(models.Model):
    class Result(models.TextChoices):
        LOGGED_IN = "logged_in", _("Logged in")
        FAILED = "failed", _("Wrong login or password")
        LOCKED_OUT = "locked_out", _("Locked out after too many failures")
        CODE_ACCEPTED = "code_accepted", _("Two-factor code accepted")
        CODE_REFUSED = "code_refused", _("Two-factor code refused")
        LOGGED_OUT = "logged_out", _("Logged out")
        TIMED_OUT = "timed_out", _("Session ended by the time limit")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.PROTECT, null=True, blank=True,
        related_name="+", help_text=_("Empty when the login typed is nobody's."),
    )
    username = models.CharField(_("login typed"), max_length=150, blank=True)
    happened_at = models.DateTimeField(_("when"), default=timezone.now, db_index=True)
    address = models.GenericIPAddressField(_("address"), null=True, blank=True)
    result = models.CharField(_("result"), max_length=20, choices=Result.choices)

    objects = LoginEventQuerySet.as_manager()
    audit_date_field = "happened_at"  # the retention command removes rows by it

    class Meta:
        verbose_name = _("login event")
        verbose_name_plural = _("login log")
        ordering = ["-happened_at", "-pk"]
        triggers = [append_only()]  # an audit table: nobody edits or deletes its rows

    def __str__(self):
        return f"{self.username} {self.get_result_display()}"
