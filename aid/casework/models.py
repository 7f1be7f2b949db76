"""Casework with each student: teacher pairings, home visits and their checklists, school pairings and
their exchange activities.
"""
import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Exists, OuterRef, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from aid.reference.models import AidProgram, DeliveryItem
from common.audit import AuditedHistory
from students.choices import Role
from students.models import School, Student, visible_students

# A visit can be edited by its author for this long after it was recorded; after that
# only a school administrator corrects it, with a reason kept in the history.
VISIT_EDIT_WINDOW = datetime.timedelta(days=7)


class PairingQuerySet(models.QuerySet):
    def visible_to(self, user):
        return self.filter(visible_students(user, via="student"))

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

    history = AuditedHistory()
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

    def next_visit_passed(self, today):
        """The latest visit of each student on the roster whose next-visit date is before
        `today`: nobody has been back since the date the teacher set."""
        later = HomeVisit.objects.filter(student_id=OuterRef("student_id")).filter(
            Q(visited_on__gt=OuterRef("visited_on")) | Q(visited_on=OuterRef("visited_on"), pk__gt=OuterRef("pk"))
        )
        return self.filter(next_visit_on__lt=today, student__left_roster_on__isnull=True).exclude(Exists(later))

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
    study_situation = models.TextField(_("study situation"), max_length=2000, blank=True)
    living_situation = models.TextField(_("living situation"), max_length=2000, blank=True)
    remote_learning_feedback = models.TextField(_("remote classes and homework"), max_length=2000, blank=True)
    family_concerns = models.TextField(_("family's concerns"), max_length=2000, blank=True)
    measures = models.TextField(_("measures agreed"), max_length=2000, blank=True)
    dropout_risk = models.CharField(
        _("dropout risk"), max_length=5, choices=Risk.choices, default=Risk.NONE
    )
    follow_up_needed = models.BooleanField(_("follow-up needed"), default=False)
    next_visit_on = models.DateField(_("next visit"), null=True, blank=True)
    created_at = models.DateTimeField(_("recorded at"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    history = AuditedHistory(excluded_fields=["updated_at"], bases=[VisitDetailsHistory])
    objects = HomeVisitQuerySet.as_manager()

    class Meta:
        verbose_name = _("home visit")
        verbose_name_plural = _("home visits")
        ordering = ["-visited_on", "-pk"]
        indexes = [
            models.Index(fields=["student", "visited_on"], name="visit_student_date"),
            # The visit list's order: its pages are read from this index (KeysFirstPaginator).
            models.Index(fields=["-visited_on", "-id"], name="visit_list_order"),
            # The suspected-dropout ledger's high-risk visits: a few in a hundred of all visits.
            models.Index(fields=["visited_on", "student"], condition=Q(dropout_risk="high"), name="visit_high_risk"),
        ]

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

    history = AuditedHistory()

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

    history = AuditedHistory()

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

    history = AuditedHistory(m2m_fields=["supported_schools"])
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
    summary = models.TextField(_("summary"), max_length=2000)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("recorded by")
    )

    history = AuditedHistory()

    class Meta:
        verbose_name = _("exchange activity")
        verbose_name_plural = _("exchange activities")
        ordering = ["-held_on", "-pk"]

    def __str__(self):
        return f"{self.get_kind_display()} · {self.held_on:%Y-%m-%d}"
