"""Evidence: photos taken on a home visit or of a rectification's work, and the scanned
pages of a school's signed roster (花名册) for a batch.

The pictures are kept cleaned (common.images) in the default storage under a random name,
and reach a browser only through the view that asks `visible_to` of the record they
belong to; an attachment's history records who added it and when.
"""
import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from common.audit import AuditedHistory

from aid.casework.models import HomeVisit
from aid.subsidies.models import DisbursementBatch
from aid.supervision.models import Rectification
from students.models import School


def stored_name(attachment, filename):
    """A random name under the month it was added: the uploader's file name (often a
    student's name) is never part of the path."""
    return f"evidence/{timezone.now():%Y/%m}/{uuid.uuid4().hex}.jpg"


def stored_thumbnail_name(attachment, filename):
    return f"evidence/{timezone.now():%Y/%m}/{uuid.uuid4().hex}-thumbnail.jpg"


class AttachmentQuerySet(models.QuerySet):
    def visible_to(self, user):
        """An attachment is seen by whoever sees the record it belongs to: the visit, the
        rectification item, or the batch and the school whose roster it is."""
        return self.filter(
            Q(visit__in=HomeVisit.objects.visible_to(user))
            | Q(rectification__in=Rectification.objects.visible_to(user))
            | Q(batch__in=DisbursementBatch.objects.visible_to(user), school__in=School.objects.visible_to(user))
        )


class Attachment(models.Model):
    """One picture belonging to exactly one record: a visit, a rectification item, or one
    school's part of a batch (a page of its signed roster)."""

    class Kind(models.TextChoices):
        VISIT_PHOTO = "visit", _("Home visit photo")
        RECTIFICATION_PHOTO = "rectification", _("Rectification photo")
        SIGNED_ROSTER = "roster", _("Signed roster")

    kind = models.CharField(_("kind"), max_length=15, choices=Kind.choices)
    visit = models.ForeignKey(
        HomeVisit, verbose_name=_("home visit"), on_delete=models.PROTECT, null=True, blank=True,
        related_name="photos",
    )
    rectification = models.ForeignKey(
        Rectification, verbose_name=_("rectification item"), on_delete=models.PROTECT, null=True, blank=True,
        related_name="photos",
    )
    batch = models.ForeignKey(
        DisbursementBatch, verbose_name=_("disbursement batch"), on_delete=models.PROTECT, null=True,
        blank=True, related_name="signed_rosters",
    )
    school = models.ForeignKey(
        School, verbose_name=_("school"), on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    image = models.FileField(_("picture"), upload_to=stored_name, max_length=200)
    thumbnail = models.FileField(_("thumbnail"), upload_to=stored_thumbnail_name, max_length=200)
    width = models.PositiveIntegerField(_("width"))
    height = models.PositiveIntegerField(_("height"))
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("added by"), on_delete=models.PROTECT, related_name="+"
    )
    uploaded_at = models.DateTimeField(_("added at"), default=timezone.now)

    history = AuditedHistory()
    objects = AttachmentQuerySet.as_manager()

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")
        ordering = ["uploaded_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(kind="visit", visit__isnull=False, rectification__isnull=True, batch__isnull=True,
                      school__isnull=True)
                    | Q(kind="rectification", visit__isnull=True, rectification__isnull=False,
                        batch__isnull=True, school__isnull=True)
                    | Q(kind="roster", visit__isnull=True, rectification__isnull=True, batch__isnull=False,
                        school__isnull=False)
                ),
                name="attachment_belongs_to_one_record",
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} · {self.uploaded_at:%Y-%m-%d %H:%M}"

    def get_absolute_url(self):
        return reverse("aid:attachment", args=[self.pk])

    def get_thumbnail_url(self):
        return reverse("aid:attachment_thumbnail", args=[self.pk])
