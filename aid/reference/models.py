"""The reference lists the bureau maintains: terms, aid programs and their standard amounts, the items
handed over on visits and the inspection checklist.

Programs, items and checklist points belong to a county, whose bureau administrators edit
them in the app's pages (aid.reference.views), or to none: shared by every county of the
province and edited by IT staff (superusers) only. Terms are shared. Each county's work sees
the shared lists and its own (`serving(region)`), nobody another county's.
"""

from django.db import models
from django.db.models import Exists, ExpressionWrapper, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from common.audit import AuditedHistory
from students.choices import IN_SCHOOL_STATUSES, HouseholdCategory, Stage
from students import permissions
from students.choices import RegionLevel
from students.models import Region, School


class ReferenceQuerySet(models.QuerySet):
    def serving(self, region):
        """The shared entries and those of the county `region` lies in (or is)."""
        prefixes = [region.code[:length] for length in range(1, len(region.code) + 1)]
        return self.filter(Q(region__isnull=True) | Q(region__code__in=prefixes))

    def visible_to(self, user):
        """The shared entries and those of the counties in the user's scope, or above it."""
        if not user.is_authenticated or not user.is_active:
            return self.none()
        if user.is_superuser:
            return self
        scope = Region.objects.visible_to(user).filter(code__startswith=OuterRef("region__code"))
        return self.filter(Q(region__isnull=True) | Exists(scope))

    def editable_by(self, user):
        """IT staff edit every list; a county's bureau administrators only their county's."""
        if not permissions.may(user, permissions.CHANGE, self.model):
            return self.none()
        if user.is_superuser:
            return self
        if not user.region_id or user.region.level != RegionLevel.COUNTY:
            return self.none()
        return self.filter(region_id=user.region_id)


def county_field():
    return models.ForeignKey(
        Region,
        verbose_name=_("county"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        limit_choices_to={"level": RegionLevel.COUNTY},
        help_text=_("Empty: shared by every county of the province, edited by IT staff only."),
    )


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

    history = AuditedHistory()
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
    region = county_field()
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

    history = AuditedHistory(m2m_fields=["schools"])
    objects = ReferenceQuerySet.as_manager()

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

    history = AuditedHistory()

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
    programs = AidProgram.objects.serving(student.school.region).filter(is_active=True).prefetch_related("schools")
    return [program for program in programs if program.applies_to(student)]


class DeliveryItem(models.Model):
    """An item handed over on home visits (书包, 防疫礼包 …), from the bureau's list."""

    name = models.CharField(_("name"), max_length=40, unique=True)
    region = county_field()
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

    history = AuditedHistory()
    objects = ReferenceQuerySet.as_manager()

    class Meta:
        verbose_name = _("delivery item")
        verbose_name_plural = _("delivery items")
        ordering = ["name"]

    def __str__(self):
        return self.name


class ChecklistItem(models.Model):
    """A point every inspection checks, maintained by the bureau."""

    text = models.CharField(_("item"), max_length=100, unique=True)
    region = county_field()
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    is_active = models.BooleanField(_("active"), default=True)

    history = AuditedHistory()
    objects = ReferenceQuerySet.as_manager()

    class Meta:
        verbose_name = _("inspection checklist item")
        verbose_name_plural = _("inspection checklist")
        ordering = ["position", "pk"]

    def __str__(self):
        return self.text
