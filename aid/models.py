"""Casework on top of the registry: pairings, home visits, aid policies, school pairings.

Each model that reaches a user has `visible_to(user)`; the rules mirror the registry's
(bureau: its region, school staff: their school, teachers: the students paired with them).
"""
import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Exists, ExpressionWrapper, OuterRef, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from students.choices import IN_SCHOOL_STATUSES, HouseholdCategory, Role, Stage
from students.models import COUNTY_WIDE_ROLES, School, Student

# A visit can be edited by its author for this long after it was recorded; after that
# only a school administrator corrects it, with a reason kept in the history.
VISIT_EDIT_WINDOW = datetime.timedelta(days=7)


class TermQuerySet(models.QuerySet):
    def current(self, today=None):
        """The term that contains today, or else the latest one that has started."""
        today = today or timezone.localdate()
        contains_today = ExpressionWrapper(Q(ends_on__gte=today), output_field=models.BooleanField())
        return self.filter(starts_on__lte=today).order_by(contains_today.desc(), "-starts_on").first()


class Term(models.Model):
    """A school term with its dates (e.g. 2020 春季学期), maintained by the bureau."""

    name = models.CharField(_("name"), max_length=30, unique=True)
    starts_on = models.DateField(_("starts on"))
    ends_on = models.DateField(_("ends on"))

    objects = TermQuerySet.as_manager()

    class Meta:
        verbose_name = _("term")
        verbose_name_plural = _("terms")
        ordering = ["-starts_on"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_on__gt=models.F("starts_on")), name="term_ends_after_start"
            )
        ]

    def __str__(self):
        return self.name


class AidProgram(models.Model):
    """An aid policy (资助项目): who is eligible for it, by stage and household category.

    The home-visit checklist asks, for each program that applies to a student, whether it
    was really delivered.
    """

    class Kind(models.TextChoices):
        CASH = "cash", _("Cash")
        FEE_WAIVER = "fee_waiver", _("Fee waiver")
        IN_KIND = "in_kind", _("In kind")

    class FundingSource(models.TextChoices):
        CENTRAL = "central", _("Central government")
        PROVINCE = "province", _("Province")
        CITY = "city", _("City")
        COUNTY = "county", _("County")
        SCHOOL = "school", _("School")
        SOCIETY = "society", _("Society")

    name = models.CharField(_("name"), max_length=60, unique=True)
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices, default=Kind.CASH)
    funding_source = models.CharField(
        _("funding source"), max_length=10, choices=FundingSource.choices, default=FundingSource.CENTRAL
    )
    stages = models.JSONField(_("eligible stages"), default=list)
    household_categories = models.JSONField(
        _("eligible household categories"),
        default=list,
        blank=True,
        help_text=_("Leave empty when every registered household is eligible."),
    )
    requires_enrolment = models.BooleanField(_("student must be in school"), default=True)
    boarders_only = models.BooleanField(_("boarders only"), default=False)
    schools = models.ManyToManyField(
        School,
        verbose_name=_("only at these schools"),
        blank=True,
        related_name="+",
        help_text=_("For example the schools served by a subsidised bus. Empty: every school."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    description = models.TextField(_("description"), blank=True)

    class Meta:
        verbose_name = _("aid program")
        verbose_name_plural = _("aid programs")
        ordering = ["name"]

    def __str__(self):
        return self.name

    def eligibility_rules(self):
        """(student field path, allowed values) pairs: the one statement of who is eligible,
        used both on a queryset (eligible_students) and on one student (applies_to)."""
        rules = [("stage", set(self.stages))]
        if self.household_categories:
            rules.append(("household__category", set(self.household_categories)))
        if self.requires_enrolment:
            rules.append(("status", set(IN_SCHOOL_STATUSES)))
        if self.boarders_only:
            rules.append(("is_boarder", {True}))
        school_ids = {school.pk for school in self.schools.all()}
        if school_ids:
            rules.append(("school_id", school_ids))
        return rules

    def eligible_students(self, students):
        """The students of `students` (already scoped) on the roster and eligible now."""
        lookups = {f"{path}__in": list(values) for path, values in self.eligibility_rules()}
        return students.on_roster().filter(**lookups)

    def applies_to(self, student):
        return student.on_roster and all(
            field_value(student, path) in values for path, values in self.eligibility_rules()
        )

    def stage_labels(self):
        return [Stage(stage).label for stage in self.stages if stage in Stage.values]

    def category_labels(self):
        return [
            HouseholdCategory(category).label
            for category in self.household_categories
            if category in HouseholdCategory.values
        ]

    def standard_amount(self, stage):
        """The standard amount per student per term for a stage (Decimal), or None."""
        for standard in self.standards.all():
            if standard.stage == stage:
                return standard.amount
        return None


def field_value(instance, path):
    """Follow a lookup path such as "household__category" on an instance."""
    for name in path.split("__"):
        if instance is None:
            return None
        instance = getattr(instance, name)
    return instance


class ProgramStandard(models.Model):
    """The standard amount of a program per student per term, for one stage."""

    program = models.ForeignKey(AidProgram, on_delete=models.CASCADE, related_name="standards")
    stage = models.CharField(_("stage"), max_length=12, choices=Stage.choices)
    amount = models.DecimalField(_("amount per term"), max_digits=10, decimal_places=2)

    class Meta:
        verbose_name = _("standard amount")
        verbose_name_plural = _("standard amounts")
        constraints = [
            models.UniqueConstraint(fields=["program", "stage"], name="standard_once_per_stage"),
            models.CheckConstraint(condition=Q(amount__gte=0), name="standard_not_negative"),
        ]

    def __str__(self):
        return f"{self.program} · {self.get_stage_display()} · {self.amount}"


def programs_applying_to(student):
    """The active programs the student is entitled to, for the visit checklist."""
    programs = AidProgram.objects.filter(is_active=True).prefetch_related("schools")
    return [program for program in programs if program.applies_to(student)]


class DeliveryItem(models.Model):
    """An item handed over on home visits (书包, 防疫礼包 …), from the bureau's list."""

    name = models.CharField(_("name"), max_length=40, unique=True)
    unit = models.CharField(_("unit"), max_length=10, default="个")
    program = models.ForeignKey(
        AidProgram,
        verbose_name=_("in-kind aid program"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="delivery_items",
        limit_choices_to={"kind": "in_kind"},
        help_text=_("Items handed over on a visit count as payments of this program."),
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("delivery item")
        verbose_name_plural = _("delivery items")
        ordering = ["name"]

    def __str__(self):
        return self.name


class PairingQuerySet(models.QuerySet):
    def visible_to(self, user):
        return self.filter(student__in=Student.objects.visible_to(user))

    def active(self):
        return self.filter(ended_on__isnull=True)

    def needing_reassignment(self):
        """Active pairings whose teacher left or now works at another school."""
        return self.active().filter(
            Q(teacher__is_active=False) | ~Q(teacher__school_id=models.F("student__school_id"))
        )


class Pairing(models.Model):
    """结对帮扶: the teacher responsible for a student, from a date until replaced."""

    student = models.ForeignKey(
        Student, verbose_name=_("student"), on_delete=models.PROTECT, related_name="pairings"
    )
    teacher = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("teacher"),
        on_delete=models.PROTECT,
        related_name="pairings",
    )
    started_on = models.DateField(_("started on"))
    ended_on = models.DateField(_("ended on"), null=True, blank=True)
    end_reason = models.CharField(_("reason for the change"), max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("paired by")
    )
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
        verbose_name=_("ended by"),
    )

    objects = PairingQuerySet.as_manager()

    class Meta:
        verbose_name = _("pairing")
        verbose_name_plural = _("pairings")
        ordering = ["-started_on", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["student"],
                condition=Q(ended_on__isnull=True),
                name="pairing_one_active_per_student",
                violation_error_message=_("This student already has a pairing teacher."),
            ),
            models.CheckConstraint(
                condition=Q(ended_on__isnull=True) | Q(ended_on__gte=models.F("started_on")),
                name="pairing_ends_after_start",
            ),
        ]

    def __str__(self):
        return f"{self.teacher} · {self.student}"

    @property
    def is_active(self):
        return self.ended_on is None

    def reassignment_reason(self):
        """Why this pairing needs another teacher (the reassignment list's rows)."""
        if not self.teacher.is_active:
            return gettext("Teacher has left")
        if self.teacher.school:
            return gettext("Now at %(school)s") % {"school": self.teacher.school.name}
        return gettext("No longer at a school")


class HomeVisitQuerySet(models.QuerySet):
    def visible_to(self, user):
        """Teachers: their paired students' visits and the visits they took part in.
        Everyone else: the visits of the students of the schools in their scope."""
        if user.is_authenticated and user.is_active and user.role == Role.TEACHER:
            took_part = HomeVisit.other_visitors.through.objects.filter(
                homevisit_id=OuterRef("pk"), user_id=user.pk
            )
            paired = Pairing.objects.active().filter(teacher=user, student_id=OuterRef("student_id"))
            return self.filter(Q(author=user) | Exists(took_part) | Exists(paired))
        return self.filter(student__school__in=School.objects.visible_to(user))

    def in_term(self, term):
        return self.filter(visited_on__gte=term.starts_on, visited_on__lte=term.ends_on)

    def with_undelivered_policy(self):
        undelivered = PolicyCheck.objects.filter(visit=OuterRef("pk"), delivered=False)
        return self.filter(Exists(undelivered))


class VisitDetailsHistory(models.Model):
    """What each history record of a visit keeps beyond the visit's own fields: who else
    came, the policy checklist and the items handed over, as they stood after that save
    (services.visit_details), so a correction of those shows what it changed."""

    details = models.JSONField(default=dict, blank=True, editable=False)

    class Meta:
        abstract = True


class HomeVisit(models.Model):
    """家访: what a teacher saw and agreed at a student's home (or on the phone)."""

    class Mode(models.TextChoices):
        IN_PERSON = "in_person", _("In person")
        PHONE = "phone", _("Phone")
        VIDEO = "video", _("Video")

    class Risk(models.TextChoices):
        NONE = "none", _("None")
        SOME = "some", _("Some")
        HIGH = "high", _("High")

    student = models.ForeignKey(
        Student, verbose_name=_("student"), on_delete=models.PROTECT, related_name="visits"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        on_delete=models.PROTECT,
        related_name="visits_recorded",
    )
    other_visitors = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("other visitors"),
        blank=True,
        related_name="visits_joined",
    )
    visited_on = models.DateField(_("visit date"), default=timezone.localdate)
    mode = models.CharField(_("mode"), max_length=10, choices=Mode.choices, default=Mode.IN_PERSON)
    study_situation = models.TextField(_("study situation"), blank=True)
    living_situation = models.TextField(_("living situation"), blank=True)
    remote_learning_feedback = models.TextField(_("remote classes and homework"), blank=True)
    family_concerns = models.TextField(_("family's concerns"), blank=True)
    measures = models.TextField(_("measures agreed"), blank=True)
    dropout_risk = models.CharField(
        _("dropout risk"), max_length=5, choices=Risk.choices, default=Risk.NONE
    )
    follow_up_needed = models.BooleanField(_("follow-up needed"), default=False)
    next_visit_on = models.DateField(_("next visit"), null=True, blank=True)
    created_at = models.DateTimeField(_("recorded at"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    history = HistoricalRecords(excluded_fields=["updated_at"], bases=[VisitDetailsHistory])
    objects = HomeVisitQuerySet.as_manager()

    class Meta:
        verbose_name = _("home visit")
        verbose_name_plural = _("home visits")
        ordering = ["-visited_on", "-pk"]
        indexes = [models.Index(fields=["student", "visited_on"], name="visit_student_date")]

    def __str__(self):
        return f"{self.student} · {self.visited_on:%Y-%m-%d}"

    def get_absolute_url(self):
        return reverse("aid:visit_detail", args=[self.pk])

    def clean(self):
        super().clean()
        if self.next_visit_on and self.visited_on and self.next_visit_on < self.visited_on:
            raise ValidationError({"next_visit_on": _("The next visit cannot be before this one.")})

    def editable_by_author_until(self):
        return self.created_at + VISIT_EDIT_WINDOW


class PolicyCheck(models.Model):
    """One line of the visit's policy checklist: was this aid really delivered?"""

    visit = models.ForeignKey(HomeVisit, on_delete=models.CASCADE, related_name="policy_checks")
    program = models.ForeignKey(
        AidProgram, verbose_name=_("aid program"), on_delete=models.PROTECT, related_name="+"
    )
    delivered = models.BooleanField(_("delivered"))
    reason = models.CharField(_("why not"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("policy check")
        verbose_name_plural = _("policy checks")
        constraints = [
            models.UniqueConstraint(fields=["visit", "program"], name="policy_check_once_per_visit"),
            models.CheckConstraint(
                condition=Q(delivered=True) | ~Q(reason=""), name="policy_not_delivered_has_reason"
            ),
        ]


class VisitDelivery(models.Model):
    """Items handed over during a visit, with their quantities."""

    visit = models.ForeignKey(HomeVisit, on_delete=models.CASCADE, related_name="deliveries")
    item = models.ForeignKey(
        DeliveryItem, verbose_name=_("item"), on_delete=models.PROTECT, related_name="+"
    )
    quantity = models.PositiveSmallIntegerField(_("quantity"), default=1)

    class Meta:
        verbose_name = _("item delivered")
        verbose_name_plural = _("items delivered")
        constraints = [
            models.UniqueConstraint(fields=["visit", "item"], name="delivery_once_per_visit"),
            models.CheckConstraint(condition=Q(quantity__gte=1), name="delivery_quantity_positive"),
        ]


class SchoolPairingQuerySet(models.QuerySet):
    def visible_to(self, user):
        """The pairings that touch a school in the user's scope, as supporter or supported."""
        schools = School.objects.visible_to(user)
        supported = SchoolPairing.supported_schools.through.objects.filter(
            schoolpairing_id=OuterRef("pk"), school__in=schools
        )
        return self.filter(Q(lead_school__in=schools) | Exists(supported))


class SchoolPairing(models.Model):
    """学校结对帮扶: a city school supporting one or more weak or poor-village schools."""

    lead_school = models.ForeignKey(
        School, verbose_name=_("supporting school"), on_delete=models.PROTECT, related_name="+"
    )
    supported_schools = models.ManyToManyField(
        School, verbose_name=_("supported schools"), related_name="supporting_pairings"
    )
    started_on = models.DateField(_("started on"))
    ended_on = models.DateField(_("ended on"), null=True, blank=True)
    goals = models.TextField(_("goals"), blank=True)

    objects = SchoolPairingQuerySet.as_manager()

    class Meta:
        verbose_name = _("school pairing")
        verbose_name_plural = _("school pairings")
        ordering = ["lead_school__name", "-started_on"]

    def __str__(self):
        return str(self.lead_school)

    def get_absolute_url(self):
        return reverse("aid:school_pairing_detail", args=[self.pk])


class ExchangeActivity(models.Model):
    """An activity between paired schools: teaching visits, joint research, donations …"""

    class Kind(models.TextChoices):
        TEACHING = "teaching", _("Teaching in the countryside")
        RESEARCH = "research", _("Joint teaching research")
        SHADOWING = "shadowing", _("Job shadowing")
        DONATION = "donation", _("Donation")
        OTHER = "other", _("Other")

    pairing = models.ForeignKey(
        SchoolPairing, verbose_name=_("school pairing"), on_delete=models.CASCADE, related_name="activities"
    )
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    held_on = models.DateField(_("date"))
    participants = models.CharField(_("participants"), max_length=300, blank=True)
    summary = models.TextField(_("summary"))
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("recorded by")
    )

    class Meta:
        verbose_name = _("exchange activity")
        verbose_name_plural = _("exchange activities")
        ordering = ["-held_on", "-pk"]

    def __str__(self):
        return f"{self.get_kind_display()} · {self.held_on:%Y-%m-%d}"


# ---------------------------------------------------------------------------------------
# Disbursement: batches, lines, precision findings
# ---------------------------------------------------------------------------------------


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

    @property
    def is_frozen(self):
        """Approved batches change only through payment results."""
        return self.state != self.State.DRAFT


class BatchTransition(models.Model):
    """Who moved a batch from one state to another, and when."""

    batch = models.ForeignKey(DisbursementBatch, on_delete=models.CASCADE, related_name="transitions")
    from_state = models.CharField(max_length=10, choices=DisbursementBatch.State.choices, blank=True)
    to_state = models.CharField(max_length=10, choices=DisbursementBatch.State.choices)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(default=timezone.now)
    note = models.CharField(max_length=200, blank=True)

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

    history = HistoricalRecords()
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
        indexes = [models.Index(fields=["program", "term", "status"], name="line_program_term_status")]

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

    class Meta:
        verbose_name = _("resolved finding")
        verbose_name_plural = _("resolved findings")
        constraints = [
            models.UniqueConstraint(
                fields=["program", "term", "kind", "student"], name="finding_resolved_once"
            )
        ]


# ---------------------------------------------------------------------------------------
# Dropout control (控辍保学)
# ---------------------------------------------------------------------------------------


class DropoutCaseQuerySet(models.QuerySet):
    def visible_to(self, user):
        return self.filter(student__in=Student.objects.visible_to(user))

    def open(self):
        return self.filter(closed_on__isnull=True)

    def open_on(self, day):
        """Cases open at the end of `day`, as the records stood then."""
        return self.filter(opened_on__lte=day).filter(Q(closed_on__isnull=True) | Q(closed_on__gt=day))


class DropoutCase(models.Model):
    """A student who dropped out, or is at high risk of it, followed until back in school."""

    class Kind(models.TextChoices):
        DROPOUT = "dropout", _("Dropped out")
        RISK = "risk", _("At risk")

    class Trigger(models.TextChoices):
        STATUS = "status", _("Enrolment status changed")
        VISIT = "visit", _("Home visit found high risk")
        MANUAL = "manual", _("Opened by hand")

    class Reason(models.TextChoices):
        LEARNING = "learning", _("Learning difficulties")
        AVERSION = "aversion", _("Dislikes school")
        FINANCIAL = "financial", _("Family financial hardship")
        HEALTH = "health", _("Illness or disability")
        WORK = "work", _("Left to work")
        MARRIAGE = "marriage", _("Early marriage or childbirth")
        OTHER = "other", _("Other")

    class Outcome(models.TextChoices):
        RETURNED = "returned", _("Returned to school")
        HOME_TAUGHT = "home_taught", _("Taught at home")
        TRANSFERRED = "transferred", _("Transferred")
        OTHER = "other", _("Other")

    student = models.ForeignKey(
        Student, verbose_name=_("student"), on_delete=models.PROTECT, related_name="dropout_cases"
    )
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    trigger = models.CharField(_("opened because"), max_length=10, choices=Trigger.choices)
    visit = models.ForeignKey(
        HomeVisit, verbose_name=_("home visit"), on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    opened_on = models.DateField(_("opened on"), default=timezone.localdate)
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("opened by"), on_delete=models.PROTECT,
        null=True, blank=True, related_name="+",
    )
    reason = models.CharField(_("reason"), max_length=12, choices=Reason.choices, blank=True)
    reason_note = models.CharField(_("details"), max_length=300, blank=True)
    closed_on = models.DateField(_("closed on"), null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("closed by"), on_delete=models.PROTECT,
        null=True, blank=True, related_name="+",
    )
    outcome = models.CharField(_("outcome"), max_length=12, choices=Outcome.choices, blank=True)
    outcome_note = models.CharField(_("explanation"), max_length=300, blank=True)
    receiving_school = models.CharField(_("receiving school"), max_length=100, blank=True)

    objects = DropoutCaseQuerySet.as_manager()

    class Meta:
        verbose_name = _("dropout case")
        verbose_name_plural = _("dropout cases")
        ordering = ["opened_on", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["student"], condition=Q(closed_on__isnull=True), name="dropout_case_one_open_per_student",
                violation_error_message=_("This student already has an open case."),
            ),
            models.CheckConstraint(
                condition=Q(closed_on__isnull=True) | ~Q(outcome=""), name="dropout_case_closed_has_outcome"
            ),
        ]

    def __str__(self):
        return f"{self.student} · {self.get_kind_display()}"

    def get_absolute_url(self):
        return reverse("aid:case_detail", args=[self.pk])

    def days_open(self, today=None):
        end = self.closed_on or today or timezone.localdate()
        return (end - self.opened_on).days


class CaseResponsible(models.Model):
    """包保责任人: the people answerable for bringing the student back."""

    class Role(models.TextChoices):
        TEACHER = "teacher", _("Teacher")
        TOWNSHIP = "township", _("Township official")
        VILLAGE = "village", _("Village official")
        OTHER = "other", _("Other")

    case = models.ForeignKey(DropoutCase, on_delete=models.CASCADE, related_name="responsibles")
    role = models.CharField(_("role"), max_length=10, choices=Role.choices)
    name = models.CharField(_("name"), max_length=50)
    phone = models.CharField(_("phone"), max_length=20, blank=True)

    class Meta:
        verbose_name = _("responsible person")
        verbose_name_plural = _("responsible persons")


class PersuasionAttempt(models.Model):
    """劝返记录: one attempt to bring the student back."""

    class Method(models.TextChoices):
        HOME_VISIT = "home_visit", _("Home visit")
        PHONE = "phone", _("Phone")
        MEETING = "meeting", _("Meeting with the family")
        OTHER = "other", _("Other")

    case = models.ForeignKey(DropoutCase, on_delete=models.CASCADE, related_name="attempts")
    attempted_on = models.DateField(_("date"))
    persons = models.CharField(_("who"), max_length=200)
    method = models.CharField(_("how"), max_length=12, choices=Method.choices)
    outcome = models.CharField(_("outcome"), max_length=300)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("persuasion attempt")
        verbose_name_plural = _("persuasion attempts")
        ordering = ["attempted_on", "pk"]


# ---------------------------------------------------------------------------------------
# Grid supervision (网格督导) and school projects
# ---------------------------------------------------------------------------------------


class GridGroupQuerySet(models.QuerySet):
    def visible_to(self, user):
        if not user.is_authenticated or not user.is_active:
            return self.none()
        if user.is_superuser:
            return self
        if user.role in COUNTY_WIDE_ROLES and user.region_id:
            return self.filter(region__code__startswith=user.region.code)
        if user.role == Role.GRID_LEADER:
            return self.filter(Q(leader=user) | Q(members=user)).distinct()
        return self.none()


class GridGroup(models.Model):
    """网格组: led by a bureau leader, covering some townships of the county."""

    name = models.CharField(_("name"), max_length=50)
    region = models.ForeignKey(
        "students.Region", verbose_name=_("county"), on_delete=models.PROTECT, related_name="+"
    )
    leader = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("leader"), on_delete=models.PROTECT, related_name="grids_led"
    )
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, verbose_name=_("members"), blank=True, related_name="grids_joined"
    )
    townships = models.ManyToManyField(
        "students.Region", verbose_name=_("townships"), related_name="grid_groups", through="GridTownship"
    )

    objects = GridGroupQuerySet.as_manager()

    class Meta:
        verbose_name = _("grid group")
        verbose_name_plural = _("grid groups")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["region", "name"], name="grid_name_unique_in_county"),
        ]

    def __str__(self):
        return self.name


class GridTownship(models.Model):
    """A township covered by a grid: each township by one grid at most."""

    gridgroup = models.ForeignKey(GridGroup, on_delete=models.CASCADE)
    region = models.ForeignKey("students.Region", on_delete=models.CASCADE)

    class Meta:
        db_table = "aid_gridgroup_townships"  # the table of the many-to-many it replaced
        constraints = [models.UniqueConstraint(fields=["region"], name="township_in_one_grid")]


class ChecklistItem(models.Model):
    """A point every inspection checks, maintained by the bureau."""

    text = models.CharField(_("item"), max_length=100, unique=True)
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("inspection checklist item")
        verbose_name_plural = _("inspection checklist")
        ordering = ["position", "pk"]

    def __str__(self):
        return self.text


class InspectionQuerySet(models.QuerySet):
    def visible_to(self, user):
        """Supervision is for the bureau, grids and schools; teachers see none of it."""
        if user.is_authenticated and user.role == Role.TEACHER:
            return self.none()
        return self.filter(school__in=School.objects.visible_to(user))


class Inspection(models.Model):
    """督导检查: a grid's visit to a school, with the checklist and findings."""

    school = models.ForeignKey(School, verbose_name=_("school"), on_delete=models.PROTECT, related_name="inspections")
    grid = models.ForeignKey(GridGroup, verbose_name=_("grid group"), on_delete=models.PROTECT, related_name="inspections")
    inspected_on = models.DateField(_("date"))
    inspectors = models.ManyToManyField(settings.AUTH_USER_MODEL, verbose_name=_("inspectors"), related_name="+")
    findings = models.TextField(_("findings"), blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    objects = InspectionQuerySet.as_manager()

    class Meta:
        verbose_name = _("inspection")
        verbose_name_plural = _("inspections")
        ordering = ["-inspected_on", "-pk"]

    def __str__(self):
        return f"{self.school} · {self.inspected_on:%Y-%m-%d}"

    def get_absolute_url(self):
        return reverse("aid:inspection_detail", args=[self.pk])


class ChecklistAnswer(models.Model):
    inspection = models.ForeignKey(Inspection, on_delete=models.CASCADE, related_name="answers")
    item = models.ForeignKey(ChecklistItem, verbose_name=_("item"), on_delete=models.PROTECT, related_name="+")
    satisfactory = models.BooleanField(_("satisfactory"))
    note = models.CharField(_("note"), max_length=300, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["inspection", "item"], name="checklist_answer_once"),
        ]


class RectificationQuerySet(models.QuerySet):
    def visible_to(self, user):
        """Supervision is for the bureau, grids and schools; teachers see none of it."""
        if user.is_authenticated and user.role == Role.TEACHER:
            return self.none()
        return self.filter(school__in=School.objects.visible_to(user))

    def unfinished(self):
        return self.exclude(status=Rectification.Status.CLOSED)

    def overdue(self, today=None):
        """Not closed, and the deadline has passed (the deadline day itself is not late)."""
        return self.unfinished().filter(deadline__lt=today or timezone.localdate())


class Rectification(models.Model):
    """整改事项: something an inspection found that the school must put right by a deadline."""

    class Status(models.TextChoices):
        OPEN = "open", pgettext_lazy("rectification", "Open")
        REPORTED = "reported", pgettext_lazy("rectification", "Reported by the school")
        CLOSED = "closed", pgettext_lazy("rectification", "Closed")
        REOPENED = "reopened", pgettext_lazy("rectification", "Reopened")

    inspection = models.ForeignKey(Inspection, on_delete=models.CASCADE, related_name="rectifications")
    school = models.ForeignKey(School, verbose_name=_("school"), on_delete=models.PROTECT, related_name="rectifications")
    description = models.TextField(_("what must be put right"))
    deadline = models.DateField(_("deadline"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.OPEN)
    school_report = models.TextField(_("what the school did"), blank=True)
    reported_at = models.DateTimeField(_("reported at"), null=True, blank=True)
    closed_on = models.DateField(_("closed on"), null=True, blank=True)
    history = HistoricalRecords()

    objects = RectificationQuerySet.as_manager()

    class Meta:
        verbose_name = _("rectification item")
        verbose_name_plural = _("rectification items")
        ordering = ["deadline", "pk"]

    def __str__(self):
        return f"{self.school} · {self.deadline:%Y-%m-%d}"

    def is_overdue(self, today=None):
        return self.status != self.Status.CLOSED and self.deadline < (today or timezone.localdate())


class SchoolProjectQuerySet(models.QuerySet):
    def visible_to(self, user):
        """Supervision is for the bureau, grids and schools; teachers see none of it."""
        if user.is_authenticated and user.role == Role.TEACHER:
            return self.none()
        return self.filter(school__in=School.objects.visible_to(user))


class SchoolProject(models.Model):
    """薄弱学校改造: a building, playground, equipment or toilet project at a school."""

    class Type(models.TextChoices):
        BUILDING = "building", _("Building renovation or extension")
        PLAYGROUND = "playground", _("Synthetic sports ground")
        IT = "it", _("IT equipment")
        TOILET = "toilet", _("Toilet renovation")
        OTHER = "other", _("Other")

    class Status(models.TextChoices):
        PLANNED = "planned", pgettext_lazy("project", "Planned")
        UNDERWAY = "underway", pgettext_lazy("project", "Under way")
        COMPLETED = "completed", pgettext_lazy("project", "Completed")

    school = models.ForeignKey(School, verbose_name=_("school"), on_delete=models.PROTECT, related_name="projects")
    name = models.CharField(_("name"), max_length=100)
    type = models.CharField(_("type"), max_length=12, choices=Type.choices)
    investment = models.DecimalField(_("investment (yuan)"), max_digits=14, decimal_places=2)
    funding_source = models.CharField(
        _("funding source"), max_length=10, choices=AidProgram.FundingSource.choices
    )
    started_on = models.DateField(pgettext_lazy("project", "started on"), null=True, blank=True)
    completed_on = models.DateField(pgettext_lazy("project", "completed on"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PLANNED)

    objects = SchoolProjectQuerySet.as_manager()

    class Meta:
        verbose_name = _("school project")
        verbose_name_plural = _("school projects")
        ordering = ["school__name", "-started_on"]
        constraints = [
            models.CheckConstraint(condition=Q(investment__gte=0), name="project_investment_not_negative"),
        ]

    def __str__(self):
        return self.name
