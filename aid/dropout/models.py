"""Dropout control (控辍保学): cases, their responsible persons and persuasion attempts.
"""

from django.conf import settings
from django.db import models
from django.db.models import Count, Exists, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from aid.casework.models import HomeVisit
from common.audit import AuditedHistory
from common.state_machine import StateMachine
from students.models import Student, visible_students


class DropoutCaseQuerySet(models.QuerySet):
    def visible_to(self, user):
        return self.filter(visible_students(user, via="student"))

    def open(self):
        return self.filter(closed_on__isnull=True)

    def without_persuasion_since(self, day):
        """Open cases, opened before `day`, with no persuasion attempt since `day`: nobody
        has tried to bring the student back for a while. Annotated with `last_attempt_on`,
        the ones waiting longest first."""
        recent = PersuasionAttempt.objects.filter(case_id=OuterRef("pk"), attempted_on__gte=day)
        return (
            self.open()
            .filter(opened_on__lt=day)
            .exclude(Exists(recent))
            .with_attempts()
            .order_by(Coalesce("last_attempt_on", "opened_on"), "pk")
        )

    def with_attempts(self):
        """Annotate `attempt_count` and `last_attempt_on`, the number and latest date of the
        persuasion attempts. Subqueries rather than a join and GROUP BY, so that a count of
        the cases is a count of the cases alone and a page computes them for its rows only."""
        attempts = PersuasionAttempt.objects.filter(case=OuterRef("pk")).order_by()
        return self.annotate(
            attempt_count=Coalesce(Subquery(attempts.values("case").annotate(n=Count("pk")).values("n")), 0),
            last_attempt_on=Subquery(attempts.order_by("-attempted_on").values("attempted_on")[:1]),
        )

    def open_on(self, day):
        """Cases open at the end of `day`, as the records stood then."""
        return self.filter(opened_on__lte=day).filter(Q(closed_on__isnull=True) | Q(closed_on__gt=day))


class DropoutCase(models.Model):
    """A student who dropped out, or is at high risk of it, followed until back in school."""

    class Kind(models.TextChoices):
        DROPOUT = "dropout", _("Dropped out")
        RISK = "risk", _("At risk")

    class State(models.TextChoices):
        """Derived from `closed_on`: a case is struck off (销号) once, with its outcome."""

        OPEN = "open", _("Open case")
        CLOSED = "closed", _("Struck off")

    # A case closed too early (the student left again) is reopened with a reason.
    MOVES = StateMachine(
        State, {State.OPEN: {State.CLOSED}, State.CLOSED: {State.OPEN}},
        messages={
            (State.CLOSED, State.CLOSED): _("This case is already closed."),
            (State.OPEN, State.OPEN): _("This case is open."),
        },
    )

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

    history = AuditedHistory()
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

    @property
    def state(self):
        return self.State.OPEN if self.closed_on is None else self.State.CLOSED

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
    name = models.CharField(pgettext_lazy("person", "name"), max_length=50)
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    account = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("staff account"), on_delete=models.SET_NULL,
        null=True, blank=True, related_name="+",
        help_text=_("When the person has an account: they are told of the case and reminded of it."),
    )

    history = AuditedHistory()

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

    history = AuditedHistory()

    class Meta:
        verbose_name = _("persuasion attempt")
        verbose_name_plural = _("persuasion attempts")
        ordering = ["attempted_on", "pk"]


class CaseReopening(models.Model):
    """A closed case opened again, with why, and how it had been closed."""

    case = models.ForeignKey(DropoutCase, on_delete=models.CASCADE, related_name="reopenings")
    reopened_on = models.DateField(_("reopened on"), default=timezone.localdate)
    reason = models.CharField(_("reason for reopening"), max_length=300)
    reopened_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    previous_closed_on = models.DateField(_("had been closed on"))
    previous_outcome = models.CharField(_("previous outcome"), max_length=12, choices=DropoutCase.Outcome.choices)

    history = AuditedHistory()

    class Meta:
        verbose_name = _("case reopening")
        verbose_name_plural = _("case reopenings")
        ordering = ["reopened_on", "pk"]
