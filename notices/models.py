"""A notification: one line of text for one user, with the page where the thing is done.

The text names at most a person (a student or a teacher), never an ID or phone number: the
page it links to shows the rest, to whoever may see it.
"""
from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class NotificationQuerySet(models.QuerySet):
    def visible_to(self, user):
        """A user's notifications are theirs alone."""
        if not user.is_authenticated or not user.is_active:
            return self.none()
        return self.filter(recipient=user)

    def unread(self):
        return self.filter(read_at__isnull=True)


class Notification(models.Model):
    class Kind(models.TextChoices):
        NEXT_VISIT_PASSED = "next_visit", _("Next visit date passed")
        RECTIFICATION_DUE = "rectification_due", _("Rectification due soon")
        CASE_WITHOUT_PERSUASION = "case_stale", _("Case without persuasion")
        BATCH_RETURNED = "batch_returned", _("Batch sent back")
        CASE_ASSIGNED = "case_assigned", _("Case assigned to you")
        RECTIFICATION_REPORTED = "rectification_reported", _("Rectification reported")

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("recipient"), on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField(_("kind"), max_length=30, choices=Kind.choices)
    text = models.CharField(_("text"), max_length=200)
    link = models.CharField(_("link"), max_length=200)
    # What the notification is about ("visit:12", "batch:3:transition:40"): with the kind,
    # the recipient and the day, it makes a notification once only (the daily job may run twice).
    subject = models.CharField(_("about"), max_length=60)
    day = models.DateField(_("day"), default=timezone.localdate)
    created = models.DateTimeField(_("created"), default=timezone.now)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)
    emailed_at = models.DateTimeField(_("sent by e-mail at"), null=True, blank=True)

    objects = NotificationQuerySet.as_manager()

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["recipient", "kind", "subject", "day"], name="notification_once_a_day"
            ),
        ]
        indexes = [models.Index(fields=["recipient", "read_at"], name="notification_unread")]

    def __str__(self):
        return self.text

    def get_absolute_url(self):
        return reverse("notices:open", args=[self.pk])
