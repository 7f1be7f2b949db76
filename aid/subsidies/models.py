"""Subsidies: disbursement batches, their lines and transitions, and the precision findings resolved.
"""

from django.conf import settings
from django.db import models
from django.db.models import Exists, Max, OuterRef, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from aid.casework.models import HomeVisit
from aid.reference.models import AidProgram, Term
from common.audit import AuditedHistory
from students.choices import Role, Stage
from students.models import COUNTY_WIDE_ROLES, School, Student


class PaymentMethod(models.TextChoices):
    ONE_CARD = "one_card", _("Subsidy card (一卡通)")
    BANK = "bank", _("Bank transfer")
    CASH = "cash", _("Cash")
    IN_KIND = "in_kind", _("In kind")


class BatchQuerySet(models.QuerySet):
    def visible_to(self, user):
        """Bureau staff: batches of their region. School staff: batches with lines of their
        school. Teachers: none."""
        if not user.is_authenticated or not user.is_active:
            return self.none()
        if user.is_superuser:
            return self
        if user.role in COUNTY_WIDE_ROLES and user.region_id:
            return self.filter(region__code__startswith=user.region.code)
        if user.role == Role.SCHOOL_ADMIN and user.school_id:
            lines = DisbursementLine.objects.filter(batch=OuterRef("pk"), school_id=user.school_id)
            return self.filter(Exists(lines))
        return self.none()

    def awaiting_approval_by(self, user):
        """Submitted batches `user` may approve (审核: neither prepared nor submitted by
        them), annotated with `submitted_at`, the longest waiting first."""
        submitted = DisbursementBatch.State.SUBMITTED
        return (
            self.filter(state=submitted)
            .exclude(prepared_by=user)
            .exclude(submitted_by=user)
            .annotate(submitted_at=Max("transitions__at", filter=Q(transitions__to_state=submitted)))
            .order_by("submitted_at", "pk")
        )


class DisbursementBatch(models.Model):
    """发放批次: one program, one term, one region; lines generated from the eligible."""

    class State(models.TextChoices):
        DRAFT = "draft", _("Draft: schools review")
        SUBMITTED = "submitted", _("Submitted for approval")
        APPROVED = "approved", _("Approved")
        PAID = "paid", _("Paid")
        CLOSED = "closed", _("Closed")

    program = models.ForeignKey(
        AidProgram, verbose_name=_("aid program"), on_delete=models.PROTECT, related_name="batches"
    )
    term = models.ForeignKey(Term, verbose_name=_("term"), on_delete=models.PROTECT, related_name="batches")
    region = models.ForeignKey(
        "students.Region", verbose_name=_("region"), on_delete=models.PROTECT, related_name="+"
    )
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.DRAFT)
    # Raised by every change, so that two people acting on the same page both see a
    # conflict instead of the second silently overwriting the first.
    version = models.PositiveIntegerField(_("version"), default=0, editable=False)
    prepared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("prepared by"), on_delete=models.PROTECT, related_name="+"
    )
    prepared_at = models.DateTimeField(_("prepared at"), default=timezone.now)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("submitted by"), on_delete=models.PROTECT,
        related_name="+", null=True, blank=True,
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("approved by"), on_delete=models.PROTECT,
        related_name="+", null=True, blank=True,
    )
    paid_on = models.DateField(_("payment date"), null=True, blank=True)
    payment_method = models.CharField(
        _("payment method"), max_length=10, choices=PaymentMethod.choices, blank=True
    )

    history = AuditedHistory(excluded_fields=["version"])
    objects = BatchQuerySet.as_manager()

    class Meta:
        verbose_name = _("disbursement batch")
        verbose_name_plural = _("disbursement batches")
        ordering = ["-term__starts_on", "program__name", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(approved_by__isnull=True)
                | (~Q(approved_by=models.F("prepared_by")) & ~Q(approved_by=models.F("submitted_by"))),
                name="batch_approver_is_not_preparer",
            )
        ]

    def __str__(self):
        return f"{self.program} · {self.term} · {self.region}"

    def get_absolute_url(self):
        return reverse("aid:batch_detail", args=[self.pk])


class BatchTransition(models.Model):
    """Who moved a batch from one state to another, and when."""

    batch = models.ForeignKey(DisbursementBatch, on_delete=models.CASCADE, related_name="transitions")
    from_state = models.CharField(max_length=10, choices=DisbursementBatch.State.choices, blank=True)
    to_state = models.CharField(max_length=10, choices=DisbursementBatch.State.choices)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(default=timezone.now)
    note = models.CharField(max_length=200, blank=True)

    history = AuditedHistory()

    class Meta:
        verbose_name = _("batch transition")
        verbose_name_plural = _("batch transitions")
        ordering = ["at", "pk"]


class SchoolConfirmation(models.Model):
    """A school confirmed its part of a batch (its lines, with any changes it made)."""

    batch = models.ForeignKey(DisbursementBatch, on_delete=models.CASCADE, related_name="confirmations")
    school = models.ForeignKey(School, on_delete=models.PROTECT, related_name="+")
    confirmed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    confirmed_at = models.DateTimeField(default=timezone.now)

    history = AuditedHistory()

    class Meta:
        verbose_name = _("school confirmation")
        verbose_name_plural = _("school confirmations")
        constraints = [
            models.UniqueConstraint(fields=["batch", "school"], name="confirmation_once_per_school")
        ]


class LineQuerySet(models.QuerySet):
    def visible_to(self, user):
        """Teachers: the lines of their paired students (what the family received).
        Everyone else: the lines of the schools in their scope."""
        if user.is_authenticated and user.role == Role.TEACHER:
            return self.filter(student__in=Student.objects.visible_to(user))
        return self.filter(school__in=School.objects.visible_to(user))

    def counting(self):
        """Lines that count as given or to be given (not removed)."""
        return self.exclude(status=DisbursementLine.Status.REMOVED)

    def awaiting_confirmation(self):
        """Lines of draft batches whose school has not confirmed its part yet (a change to
        a school's lines withdraws its confirmation, so these are what it must review)."""
        confirmed = SchoolConfirmation.objects.filter(batch_id=OuterRef("batch_id"), school_id=OuterRef("school_id"))
        return self.counting().filter(batch__state=DisbursementBatch.State.DRAFT).exclude(Exists(confirmed))


class DisbursementLine(models.Model):
    """发放记录: one student's payment of one program for one term."""

    class Status(models.TextChoices):
        PLANNED = "planned", _("Planned")
        REMOVED = "removed", _("Removed")
        PAID = "paid", _("Paid")
        RETURNED = "returned", _("Returned")
        FAILED = "failed", _("Failed")

    batch = models.ForeignKey(
        DisbursementBatch, verbose_name=_("batch"), on_delete=models.CASCADE,
        related_name="lines", null=True, blank=True,
    )
    visit = models.ForeignKey(
        HomeVisit, verbose_name=_("home visit"), on_delete=models.PROTECT,
        related_name="disbursement_lines", null=True, blank=True,
    )
    program = models.ForeignKey(AidProgram, verbose_name=_("aid program"), on_delete=models.PROTECT, related_name="+")
    term = models.ForeignKey(Term, verbose_name=_("term"), on_delete=models.PROTECT, related_name="+")
    student = models.ForeignKey(
        Student, verbose_name=_("student"), on_delete=models.PROTECT, related_name="disbursements"
    )
    school = models.ForeignKey(School, verbose_name=_("school"), on_delete=models.PROTECT, related_name="+")
    stage = models.CharField(_("stage"), max_length=12, choices=Stage.choices)
    standard_amount = models.DecimalField(_("standard amount"), max_digits=10, decimal_places=2)
    amount = models.DecimalField(_("amount"), max_digits=10, decimal_places=2)
    amount_reason = models.CharField(_("reason for the amount"), max_length=200, blank=True)
    quantity = models.PositiveSmallIntegerField(_("quantity"), default=1)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PLANNED)
    added_reason = models.CharField(_("reason for adding"), max_length=200, blank=True)
    removed_reason = models.CharField(_("reason for removing"), max_length=200, blank=True)
    result_reason = models.CharField(_("reason for return or failure"), max_length=200, blank=True)
    paid_on = models.DateField(_("payment date"), null=True, blank=True)
    payment_method = models.CharField(_("payment method"), max_length=10, choices=PaymentMethod.choices, blank=True)
    bank_account = models.CharField(_("bank account"), max_length=30, blank=True)

    history = AuditedHistory()
    objects = LineQuerySet.as_manager()

    class Meta:
        verbose_name = _("disbursement line")
        verbose_name_plural = _("disbursement lines")
        ordering = ["school__name", "student__name"]
        constraints = [
            models.UniqueConstraint(
                fields=["program", "term", "student"],
                condition=~Q(status="removed"),
                name="line_one_per_program_term_student",
                violation_error_message=_("This student already has this program for this term."),
            ),
            models.CheckConstraint(condition=Q(amount__gte=0), name="line_amount_not_negative"),
            models.CheckConstraint(
                condition=Q(amount=models.F("standard_amount")) | ~Q(amount_reason=""),
                name="line_changed_amount_has_reason",
            ),
            models.CheckConstraint(
                condition=~Q(status="removed") | ~Q(removed_reason=""),
                name="line_removal_has_reason",
            ),
            models.CheckConstraint(
                condition=Q(batch__isnull=False) | Q(visit__isnull=False),
                name="line_from_batch_or_visit",
            ),
        ]
        indexes = [
            models.Index(fields=["program", "term", "status"], name="line_program_term_status"),
            # A program's lines of a term school by school: what scoped checks and sums read.
            # It carries what the precision checks read of each line, so that they read the
            # index alone (200,000 students, the 34,000 school-bag lines: the amount check
            # 19-24 -> 12 ms, the off-roster check 17-28 -> 7-9 ms; the boarding subsidy's
            # 错发 join 57-72 -> 46-48 ms).
            models.Index(
                fields=["program", "term", "school"],
                include=["status", "student", "stage", "amount", "amount_reason", "paid_on"],
                name="line_program_term_school",
            ),
        ]

    def __str__(self):
        return f"{self.student} · {self.program} · {self.amount}"


class PrecisionResolution(models.Model):
    """A precision-check finding that a person looked into, with what they found."""

    class Kind(models.TextChoices):
        MISSED = "missed", _("Eligible but not included")
        DUPLICATE = "duplicate", _("Included twice")
        INELIGIBLE = "ineligible", _("Included but not eligible")
        AMOUNT = "amount", _("Amount differs from the standard")
        OFF_ROSTER = "off_roster", _("Paid but no longer on the roster")

    program = models.ForeignKey(AidProgram, on_delete=models.PROTECT, related_name="+")
    term = models.ForeignKey(Term, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    student = models.ForeignKey(Student, on_delete=models.PROTECT, related_name="+")
    note = models.CharField(_("resolution"), max_length=300)
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    resolved_at = models.DateTimeField(default=timezone.now)

    history = AuditedHistory()

    class Meta:
        verbose_name = _("resolved finding")
        verbose_name_plural = _("resolved findings")
        constraints = [
            models.UniqueConstraint(
                fields=["program", "term", "kind", "student"], name="finding_resolved_once"
            )
        ]
