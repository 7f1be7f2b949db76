"""Grid supervision (网格督导): grid groups, inspections, rectification items and school projects.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from aid.reference.models import AidProgram, ChecklistItem
from common.audit import AuditedHistory
from common.state_machine import StateMachine
from students.choices import Role
from students.models import COUNTY_WIDE_ROLES, School


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

    history = AuditedHistory(m2m_fields=["members"])
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

    history = AuditedHistory()

    class Meta:
        db_table = "aid_gridgroup_townships"  # the table of the many-to-many it replaced
        constraints = [models.UniqueConstraint(fields=["region"], name="township_in_one_grid")]


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

    history = AuditedHistory(m2m_fields=["inspectors"])
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

    history = AuditedHistory()

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

    def to_report(self):
        """Items the school must still act on and report (not reported, or reopened)."""
        return self.filter(status__in=(Rectification.Status.OPEN, Rectification.Status.REOPENED))

    def awaiting_check(self):
        """Items the school reported that the grid must close or reopen, oldest report first."""
        return self.filter(status=Rectification.Status.REPORTED).order_by("reported_at", "pk")

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
    history = AuditedHistory()

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

    # A project goes ahead (and may be finished without being recorded under way); a
    # completion recorded too early is taken back to under way. Edits keep their status.
    MOVES = StateMachine(Status, {
        Status.PLANNED: {Status.PLANNED, Status.UNDERWAY, Status.COMPLETED},
        Status.UNDERWAY: {Status.UNDERWAY, Status.COMPLETED},
        Status.COMPLETED: {Status.COMPLETED, Status.UNDERWAY},
    })

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

    history = AuditedHistory()
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
