"""The registry: regions, schools, households, students and the staff who use it.

Every model that reaches a user has a QuerySet with `visible_to(user)`; views, exports
and form choices start from it, so a record outside the user's scope is never shown.
"""
import functools
import operator

import pgtrigger
from django.contrib.auth.models import AbstractUser, UserManager
from django.core.exceptions import ValidationError
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.lookups import DataContains
from django.db import connections, models
from django.db.models import Exists, OuterRef, Q, Value
from django.db.models.functions import Reverse, Upper
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from common import masking
from common.audit import AuditedHistory, append_only
from common.state_machine import StateMachine

from . import idnumber, permissions
from .choices import (
    IN_SCHOOL_STATUSES,
    Gender,
    Grade,
    HouseholdCategory,
    LeaveReason,
    PovertyCause,
    RegionLevel,
    Role,
    Stage,
    Status,
    stage_of_grade,
)

COUNTY_WIDE_ROLES = (Role.BUREAU_ADMIN, Role.VIEWER)
# Roles that need a region: the county-wide ones, and grid leaders (their county).
REGION_ROLES = (*COUNTY_WIDE_ROLES, Role.GRID_LEADER)


def grid_townships(user):
    """The townships of the grid groups a grid leader leads or belongs to (aid.GridGroup)."""
    return Region.objects.filter(Q(grid_groups__leader=user) | Q(grid_groups__members=user))


class User(AbstractUser):
    """A staff account. The role and its region or school decide what the user sees."""

    full_name = models.CharField(_("full name"), max_length=50, blank=True)
    role = models.CharField(_("role"), max_length=20, choices=Role.choices, blank=True)
    region = models.ForeignKey(
        "Region",
        verbose_name=_("region"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="staff",
        help_text=_("For bureau administrators and viewers: the region they oversee."),
    )
    school = models.ForeignKey(
        "School",
        verbose_name=_("school"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="staff",
        help_text=_("For school administrators and teachers: the school they work at."),
    )
    phone = models.CharField(_("mobile phone"), max_length=20, blank=True)
    subject = models.CharField(
        _("subject or duty"),
        max_length=30,
        blank=True,
        help_text=_("For school staff: the subject taught or the duty, e.g. 数学, 心理健康, 校长."),
    )
    must_change_password = models.BooleanField(
        _("must change the password"),
        default=False,
        help_text=_("Set when someone else chose the password: the user must choose a new one at the next login."),
    )

    objects = UserManager()

    class Meta:
        verbose_name = _("staff account")
        verbose_name_plural = _("staff accounts")

    def __str__(self):
        return self.full_name or self.username

    def clean(self):
        super().clean()
        if self.role in REGION_ROLES and not self.region_id:
            raise ValidationError({"region": _("This role needs a region.")})
        if self.role in (Role.SCHOOL_ADMIN, Role.TEACHER) and not self.school_id:
            raise ValidationError({"school": _("This role needs a school.")})

    @property
    def can_edit_students(self):
        return permissions.may(self, permissions.CHANGE, "students.student")

    @property
    def may_import_roster(self):
        return permissions.may(self, permissions.IMPORT, "students.rosterimport")

    @property
    def sees_full_id_numbers(self):
        """Staff who fill in aid paperwork see ID numbers; viewers and teachers do not."""
        return self.is_superuser or self.role in (Role.BUREAU_ADMIN, Role.SCHOOL_ADMIN)

    @property
    def sees_full_phones(self):
        """Teachers call families, so they see phone numbers; viewers do not."""
        return self.is_superuser or self.role in (
            Role.BUREAU_ADMIN,
            Role.SCHOOL_ADMIN,
            Role.TEACHER,
        )

    @property
    def scope_label(self):
        if self.is_superuser and not self.role:
            return _("All regions")
        if self.role in COUNTY_WIDE_ROLES and self.region_id:
            return self.region.name
        if self.school_id:
            return self.school.name
        if self.role == Role.GRID_LEADER:
            grids = self.grids_led.all() | self.grids_joined.all()
            return "、".join(sorted({str(grid) for grid in grids}))
        return ""


def staff_of_region(code, through="user"):
    """Records (of a log) whose user, reached through the field `through`, works in the
    region with this code: staff of the region or of one inside it, and staff of its schools."""
    return Q(**{f"{through}__region__code__startswith": code}) | Q(
        **{f"{through}__school__region__code__startswith": code}
    )


class RegionQuerySet(models.QuerySet):
    def visible_to(self, user):
        """The regions inside the user's scope (their region and everything below it)."""
        if not user.is_authenticated:
            return self.none()
        if user.is_superuser:
            return self
        if user.role in COUNTY_WIDE_ROLES and user.region_id:
            return self.filter(code__startswith=user.region.code)
        if user.role == Role.GRID_LEADER:
            return self.filter(pk__in=grid_townships(user).values("pk"))
        if user.school_id:
            return self.filter(pk=user.school.region_id)
        return self.none()

    def townships(self):
        return self.filter(level=RegionLevel.TOWNSHIP)


class Region(models.Model):
    """A node of the administrative division tree, keyed by its national code.

    Codes nest by prefix (37 Shandong, 3713 Linyi, 371324 Lanling, 371324100 a township),
    so "inside this region" is a prefix test on the code.
    """

    code = models.CharField(_("division code"), max_length=12, unique=True)
    name = models.CharField(_("name"), max_length=50)
    level = models.CharField(_("level"), max_length=10, choices=RegionLevel.choices)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent region"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
    )

    history = AuditedHistory()
    objects = RegionQuerySet.as_manager()

    class Meta:
        verbose_name = _("region")
        verbose_name_plural = _("regions")
        ordering = ["code"]

    def __str__(self):
        return self.name

    def clean(self):
        super().clean()
        if self.parent_id and not self.code.startswith(self.parent.code):
            raise ValidationError({"code": _("A region's code must start with its parent's code.")})


class SchoolQuerySet(models.QuerySet):
    def visible_to(self, user):
        """The schools in the user's scope: the base of every other model's scope.

        Superusers: all. Bureau staff and viewers: the schools of their region. Grid
        leaders and members: the schools of their grids' townships. School staff: theirs.
        """
        if not user.is_authenticated or not user.is_active:
            return self.none()
        if user.is_superuser:
            return self
        if user.role in COUNTY_WIDE_ROLES and user.region_id:
            return self.filter(region__code__startswith=user.region.code)
        if user.role == Role.GRID_LEADER:
            return self.filter(region__in=grid_townships(user).values("pk"))
        if user.role in (Role.SCHOOL_ADMIN, Role.TEACHER) and user.school_id:
            return self.filter(pk=user.school_id)
        return self.none()


class School(models.Model):
    code = models.CharField(_("national school code"), max_length=20, blank=True)
    name = models.CharField(_("name"), max_length=100, unique=True)
    region = models.ForeignKey(
        Region,
        verbose_name=_("township"),
        on_delete=models.PROTECT,
        related_name="schools",
    )
    stages = models.JSONField(_("stages taught"), default=list, blank=True)
    is_urban = models.BooleanField(_("urban school"), default=False)
    is_weak = models.BooleanField(_("weak school"), default=False)
    is_poor_village = models.BooleanField(_("in a poor village"), default=False)
    address = models.CharField(_("address"), max_length=200, blank=True)

    history = AuditedHistory()
    objects = SchoolQuerySet.as_manager()

    class Meta:
        verbose_name = _("school")
        verbose_name_plural = _("schools")
        ordering = ["region__code", "name"]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("students:school_detail", args=[self.pk])

    def stage_labels(self):
        return [Stage(stage).label for stage in self.stages if stage in Stage.values]


class HouseholdQuerySet(models.QuerySet):
    def visible_to(self, user):
        """Bureau staff see the households of their region; others those of their students."""
        if not user.is_authenticated:
            return self.none()
        if user.is_superuser:
            return self
        if user.role in COUNTY_WIDE_ROLES and user.region_id:
            return self.filter(township__code__startswith=user.region.code)
        students = Student.objects.visible_to(user).filter(household=OuterRef("pk"))
        return self.filter(Exists(students))


class Household(models.Model):
    registration_number = models.CharField(
        _("poverty registration number"), max_length=30, blank=True
    )
    head_name = models.CharField(_("head of household"), max_length=50)
    township = models.ForeignKey(
        Region, verbose_name=_("township"), on_delete=models.PROTECT, related_name="households"
    )
    village = models.CharField(_("village"), max_length=50, blank=True)
    category = models.CharField(
        _("household category"), max_length=30, choices=HouseholdCategory.choices
    )
    poverty_cause = models.CharField(
        _("main cause of poverty"), max_length=30, choices=PovertyCause.choices, blank=True
    )
    guardian_name = models.CharField(_("guardian"), max_length=50, blank=True)
    guardian_phone = models.CharField(_("guardian's phone"), max_length=20, blank=True)
    note = models.TextField(_("note"), max_length=1000, blank=True)

    history = AuditedHistory()
    objects = HouseholdQuerySet.as_manager()

    class Meta:
        verbose_name = _("household")
        verbose_name_plural = _("households")
        ordering = ["township__code", "village", "head_name"]
        constraints = [
            models.UniqueConstraint(
                fields=["registration_number"],
                condition=~Q(registration_number=""),
                name="household_registration_number_unique",
            )
        ]

    def __str__(self):
        if self.village:
            return f"{self.head_name}（{self.village}）"
        return self.head_name

    def get_absolute_url(self):
        return reverse("students:household_detail", args=[self.pk])


GRAMS = ArrayField(models.TextField())


class NameGrams(models.Func):
    """The characters and character pairs of a name, lower-cased (the SQL function
    student_name_grams of migration 0005, PostgreSQL only)."""

    function = "student_name_grams"
    output_field = GRAMS


def search_grams(text):
    """What a name containing `text` must contain: its character pairs (one character
    alone when it is one), as student_name_grams makes them."""
    text = text.lower()
    return [text] if len(text) == 1 else sorted({text[i : i + 2] for i in range(len(text) - 1)})


def visible_students(user, via=None):
    """The one rule that decides which students a user may see, as a Q: of the students, or,
    with `via` (the path of a relation to a student, such as "student"), of the rows whose
    student the user may see.

    Bureau staff and viewers: every student of a school in their region.
    School administrators: their school. Teachers: the students paired with them now
    (aid.Pairing; at most one active pairing per student, so the join adds no rows).

    Across a relation it is a join to the student: the database looks up the student of each
    row, where an IN of the students in scope would first hash every student of a county.
    """
    path = f"{via}__" if via else ""
    schools = schools_seen_whole(user)
    if schools is None:
        return Q(**{f"{path}pairings__teacher": user, f"{path}pairings__ended_on__isnull": True})
    return Q(**{f"{path}school__in": schools})


def schools_seen_whole(user):
    """The schools all of whose students the user sees (visible_students), or None for a
    teacher, who sees the students paired with them."""
    if user.is_authenticated and user.role == Role.TEACHER:
        return None
    return School.objects.visible_to(user)


# IdNumberCount kept by statement-level triggers on the student table: whatever writes
# students (a form, the importer's COPY, the admin, psql) updates the counts in its own
# transaction. An upsert takes the count's row lock, so two transactions adding records of
# one ID number are counted one after the other; rows are taken in ID-number order so that
# two such transactions cannot deadlock. Each statement runs through EXECUTE, planned for the
# rows of that call: a static one is planned once per connection for the transition tables
# of its first call, and after a one-row write the UPDATE's join of its old and new rows ran
# as a nested loop (3,000 students: 3.5 s more).
_COUNTS = "students_idnumbercount"
_ADD = f"""INSERT INTO {_COUNTS} AS c (id_number, records)
    SELECT id_number, count(*) FROM {{rows}} GROUP BY id_number ORDER BY id_number
    ON CONFLICT (id_number) DO UPDATE SET records = c.records + EXCLUDED.records"""
_SUBTRACT = [
    f"""UPDATE {_COUNTS} AS c SET records = c.records - gone.records
    FROM (SELECT id_number, count(*) AS records FROM {{rows}} GROUP BY id_number ORDER BY id_number) gone
    WHERE c.id_number = gone.id_number""",
    f"DELETE FROM {_COUNTS} WHERE records = 0 AND id_number IN (SELECT id_number FROM {{rows}})",
]
# The records an UPDATE gave another ID number: (id_number) before and after.
_RENUMBERED = (
    "(SELECT {side}.id_number FROM old_rows JOIN new_rows ON new_rows.id = old_rows.id"
    " WHERE old_rows.id_number <> new_rows.id_number) AS renumbered"
)


def _executed(*statements):
    """A trigger function's body: each statement through EXECUTE, then RETURN NULL."""
    return "".join(f"EXECUTE $sql$ {statement} $sql$; " for statement in statements) + "RETURN NULL;"


def _subtract(rows):
    return [statement.format(rows=rows) for statement in _SUBTRACT]


ID_NUMBER_COUNT_TRIGGERS = [
    pgtrigger.Trigger(
        name="id_number_count_insert", when=pgtrigger.After, operation=pgtrigger.Insert,
        level=pgtrigger.Statement, referencing=pgtrigger.Referencing(new="new_rows"),
        func=_executed(_ADD.format(rows="new_rows")),
    ),
    pgtrigger.Trigger(
        name="id_number_count_update", when=pgtrigger.After, operation=pgtrigger.Update,
        level=pgtrigger.Statement, referencing=pgtrigger.Referencing(old="old_rows", new="new_rows"),
        func=_executed(
            _ADD.format(rows=_RENUMBERED.format(side="new_rows")), *_subtract(_RENUMBERED.format(side="old_rows"))
        ),
    ),
    pgtrigger.Trigger(
        name="id_number_count_delete", when=pgtrigger.After, operation=pgtrigger.Delete,
        level=pgtrigger.Statement, referencing=pgtrigger.Referencing(old="old_rows"),
        func=_executed(*_subtract("old_rows")),
    ),
    pgtrigger.Trigger(
        name="id_number_count_truncate", when=pgtrigger.After, operation=pgtrigger.Truncate,
        # DELETE: a TRUNCATE of both tables at once (Django's flush) refuses a nested one.
        level=pgtrigger.Statement, func=f"DELETE FROM {_COUNTS}; RETURN NULL;",
    ),
]


class IdNumberCount(models.Model):
    """How many student records carry an ID number (two records of one person: one on the
    roster at most, see student_one_active_per_id_number). Kept by the triggers above, on
    PostgreSQL; read through shared_id_numbers()."""

    id_number = models.CharField(_("ID number"), max_length=18, primary_key=True)
    records = models.PositiveIntegerField(_("records"))

    class Meta:
        verbose_name = _("records of an ID number")
        verbose_name_plural = _("records of ID numbers")
        indexes = [models.Index(fields=["id_number"], condition=Q(records__gt=1), name="id_number_shared")]


def shared_id_numbers(using="default"):
    """The ID numbers that more than one student record carries, whatever the scope: from
    IdNumberCount's few shared rows on PostgreSQL, from the students themselves where no
    trigger keeps the counts (the SQLite demo)."""
    if connections[using].vendor == "postgresql":
        shared = IdNumberCount.objects.using(using).filter(records__gt=1).values_list("id_number", flat=True)
    else:
        shared = (
            Student.objects.using(using).order_by().values("id_number")
            .annotate(records=models.Count("pk")).filter(records__gt=1).values_list("id_number", flat=True)
        )
    return list(shared)


class StudentQuerySet(models.QuerySet):
    def visible_to(self, user):
        """The students the user may see (visible_students)."""
        return self.filter(visible_students(user))

    def on_roster(self):
        return self.filter(left_roster_on__isnull=True)

    def in_school(self):
        return self.filter(status__in=IN_SCHOOL_STATUSES)

    def search(self, text, *, full_numbers=True):
        """Name, student number, or the last digits of the ID number.

        A user who sees masked numbers (`full_numbers=False`) finds by the last digits they
        are shown and by nothing longer: a search for a whole student number or for more
        of the ID's end would let them try the hidden birth dates one by one.

        On PostgreSQL each part has an index (migration 0005): the name's characters and
        character pairs (GIN, so a two- or three-character Chinese name is found without
        reading every row: pg_trgm sees no CJK letters under the C.UTF-8 locale), the
        upper-cased student number, and the reversed ID number, whose prefix is the tail.
        """
        text = idnumber.normalize(text)
        if not text:
            return self
        looks_like_id_ending = text[:-1].isdigit() and (text[-1].isdigit() or text[-1] == "X")
        id_ends_with = Q(id_number_reversed__startswith=text[::-1])
        numbers = []
        if full_numbers:
            numbers.append(Q(student_number__iexact=text))
            if len(text) >= masking.VISIBLE_ID_ENDING and looks_like_id_ending:
                numbers.append(id_ends_with)
        elif len(text) == masking.VISIBLE_ID_ENDING and looks_like_id_ending:
            numbers.append(id_ends_with)

        def or_a_number(name_condition):
            return functools.reduce(operator.or_, numbers, name_condition)

        condition = or_a_number(Q(name__icontains=text))
        if connections[self.db].vendor == "postgresql":
            # (grams or a number) and (contains or a number): the same rows as (grams and
            # contains) or a number, but its first half is then exactly the indexes'
            # condition, and PostgreSQL does not compute each candidate's grams again to
            # filter it (a common two-character name: 23 -> 9 ms in 200,000 students).
            grams = Q(DataContains(NameGrams("name"), Value(search_grams(text), output_field=GRAMS)))
            condition = or_a_number(grams) & condition
        return self.alias(id_number_reversed=Reverse("id_number")).filter(condition)


# The student list's default order: school, grade, class, name. By the school's id rather
# than its name, so that the order is one index on the students' table (student_roster_order).
ROSTER_ORDER = ["school_id", "grade", "class_name", "name", "id"]


class Student(models.Model):
    name = models.CharField(pgettext_lazy("person", "name"), max_length=50)
    gender = models.CharField(_("gender"), max_length=1, choices=Gender.choices, editable=False)
    id_number = models.CharField(_("ID number"), max_length=18, db_index=True)
    birth_date = models.DateField(_("birth date"), editable=False)
    student_number = models.CharField(_("student number"), max_length=30, blank=True)
    school = models.ForeignKey(
        School, verbose_name=_("school"), on_delete=models.PROTECT, related_name="students"
    )
    stage = models.CharField(_("stage"), max_length=12, choices=Stage.choices)
    grade = models.CharField(_("grade"), max_length=2, choices=Grade.choices)
    class_name = models.CharField(_("class"), max_length=20, blank=True)
    is_boarder = models.BooleanField(_("boarder"), default=False)
    status = models.CharField(
        _("enrolment status"), max_length=20, choices=Status.choices, default=Status.ENROLLED
    )
    household = models.ForeignKey(
        Household,
        verbose_name=_("household"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="students",
    )
    note = models.TextField(_("note"), max_length=1000, blank=True)
    left_roster_on = models.DateField(_("left the roster on"), null=True, blank=True)
    left_roster_reason = models.CharField(
        _("reason for leaving the roster"), max_length=30, choices=LeaveReason.choices, blank=True
    )
    left_roster_note = models.CharField(_("explanation"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    history = AuditedHistory()
    objects = StudentQuerySet.as_manager()

    class Meta:
        verbose_name = _("student")
        verbose_name_plural = _("students")
        ordering = ["school__region__code", "school__name", "grade", "class_name", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["id_number"],
                condition=Q(left_roster_on__isnull=True),
                name="student_one_active_per_id_number",
                violation_error_message=_("Another student on the roster has this ID number."),
            ),
            models.CheckConstraint(
                condition=Q(left_roster_on__isnull=True) | ~Q(left_roster_reason=""),
                name="student_leaving_needs_reason",
            ),
        ]
        indexes = [
            # A school's students by stage and status, and with what the precision checks
            # ask of each (boarder, on the roster, household, and the key to join them by):
            # the students a program misses are counted from this index alone (a boarding
            # subsidy in 200,000: 146 -> 26 ms).
            models.Index(
                fields=["school", "stage", "status", "is_boarder"], include=["left_roster_on", "household", "id"],
                name="student_eligibility",
            ),
            # The student list's order (ROSTER_ORDER): any page of the roster is an index scan.
            models.Index(
                fields=["school", "grade", "class_name", "name", "id"], condition=Q(left_roster_on__isnull=True), name="student_roster_order"
            ),
            # Counting a scope's roster reads this narrow index alone.
            models.Index(fields=["school"], condition=Q(left_roster_on__isnull=True), name="student_on_roster_school"),
            models.Index(Upper("student_number"), name="student_number_upper"),
            # The students who left the roster, a few in a hundred: the precision check of
            # lines paid to them reads these alone instead of every student.
            models.Index(fields=["id"], condition=Q(left_roster_on__isnull=False), name="student_off_roster"),
        ]
        triggers = ID_NUMBER_COUNT_TRIGGERS

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("students:student_detail", args=[self.pk])

    def clean(self):
        super().clean()
        errors = {}
        if self.id_number:
            try:
                facts = idnumber.validate(self.id_number)
            except ValidationError as error:
                errors["id_number"] = error
            else:
                self.id_number = idnumber.normalize(self.id_number)
                self.birth_date = facts.birth_date
                self.gender = facts.gender
        if self.grade and self.stage and stage_of_grade(self.grade) != self.stage:
            errors["grade"] = _("This grade does not belong to the chosen stage.")
        if errors:
            raise ValidationError(errors)

    @property
    def on_roster(self):
        return self.left_roster_on is None

    @property
    def in_school(self):
        return self.status in IN_SCHOOL_STATUSES

    def fill_from_id_number(self):
        """Set birth date and gender from the (already validated) ID number."""
        facts = idnumber.validate(self.id_number)
        self.birth_date = facts.birth_date
        self.gender = facts.gender


class RosterImportQuerySet(models.QuerySet):
    def visible_to(self, user):
        """Bureau staff see the imports made in their region; school staff their school's."""
        if not user.is_authenticated:
            return self.none()
        if user.is_superuser:
            return self
        if user.role == Role.BUREAU_ADMIN and user.region_id:
            code = user.region.code
            return self.filter(
                Q(uploaded_by__region__code__startswith=code)
                | Q(uploaded_by__school__region__code__startswith=code)
            )
        if user.role == Role.SCHOOL_ADMIN and user.school_id:
            return self.filter(uploaded_by__school_id=user.school_id)
        return self.none()

    def without_files(self):
        """Without the file and its rows as read (megabytes each), which load when used."""
        return self.defer("content", "rows_read")


class RosterImport(models.Model):
    """One uploaded roster file: checked, then applied as a whole, and revertible."""

    class State(models.TextChoices):
        CHECKED = "checked", _("Checked, not applied")
        APPLIED = "applied", _("Applied")
        REVERTED = "reverted", _("Reverted")

    # Checking again (a new column mapping) keeps an import checked.
    MOVES = StateMachine(
        State,
        {State.CHECKED: {State.CHECKED, State.APPLIED}, State.APPLIED: {State.REVERTED}},
        messages={
            (State.APPLIED, State.CHECKED): _("This import was already applied."),
            (State.APPLIED, State.APPLIED): _("This import was already applied."),
            (State.REVERTED, State.CHECKED): _("This import was already applied."),
            (State.REVERTED, State.APPLIED): _("This import was already applied."),
            (State.CHECKED, State.REVERTED): _("Only an applied import can be reverted."),
            (State.REVERTED, State.REVERTED): _("Only an applied import can be reverted."),
        },
    )

    uploaded_by = models.ForeignKey(
        User, verbose_name=_("uploaded by"), on_delete=models.PROTECT, related_name="+"
    )
    uploaded_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)
    file_name = models.CharField(_("file name"), max_length=255)
    checksum = models.CharField(_("SHA-256 checksum"), max_length=64)
    content = models.BinaryField(_("file content"), editable=False)
    # The rows as the check read them (spreadsheets.table_to_json): later steps (the check
    # page, the column mapping, the apply, the error report) start from them instead of
    # parsing the file again. JSON text rather than jsonb, which would turn 3.7E+17 into an
    # integer and hide an ID number that Excel stored as a number.
    rows_read = models.TextField(_("rows as read"), blank=True, editable=False)
    column_mapping = models.JSONField(_("column mapping"), default=dict, blank=True)
    is_snapshot = models.BooleanField(
        _("full snapshot"),
        default=False,
        help_text=_("The file lists every student of the chosen scope."),
    )
    snapshot_school = models.ForeignKey(
        School,
        verbose_name=_("snapshot of school"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    snapshot_region = models.ForeignKey(
        Region,
        verbose_name=_("snapshot of region"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.CHECKED)
    created_count = models.PositiveIntegerField(_("new"), default=0)
    updated_count = models.PositiveIntegerField(_("updated"), default=0)
    unchanged_count = models.PositiveIntegerField(_("unchanged"), default=0)
    error_count = models.PositiveIntegerField(_("errors"), default=0)
    applied_at = models.DateTimeField(_("applied at"), null=True, blank=True)
    reverted_at = models.DateTimeField(_("reverted at"), null=True, blank=True)
    file_purged_at = models.DateTimeField(_("file deleted at"), null=True, blank=True, editable=False)
    reverted_by = models.ForeignKey(
        User,
        verbose_name=_("reverted by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )

    # The file and the rows read from it stay out of the history, so purging them
    # (purge_roster_files) removes every copy.
    history = AuditedHistory(excluded_fields=["content", "rows_read"])
    objects = RosterImportQuerySet.as_manager()

    class Meta:
        verbose_name = _("roster import")
        verbose_name_plural = _("roster imports")
        ordering = ["-uploaded_at"]

    def __str__(self):
        return f"{self.file_name} ({self.uploaded_at:%Y-%m-%d %H:%M})"

    def get_absolute_url(self):
        return reverse("students:roster_import_detail", args=[self.pk])

    @property
    def history_reason(self):
        """The change reason written on every history record this import makes."""
        return f"roster-import:{self.pk}"

    @property
    def row_count(self):
        """The data rows of the file, as its last check counted them."""
        return self.created_count + self.updated_count + self.unchanged_count + self.error_count

    @property
    def changed_count(self):
        """The students that applying writes and reverting undoes."""
        return self.created_count + self.updated_count


class ImportedChange(models.Model):
    """What one applied import did to one student, with the values before, for revert."""

    class Action(models.TextChoices):
        CREATED = "created", _("Created")
        UPDATED = "updated", _("Updated")

    roster_import = models.ForeignKey(
        RosterImport, on_delete=models.CASCADE, related_name="changes"
    )
    student = models.ForeignKey(
        Student, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    household = models.ForeignKey(
        Household, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    household_created = models.BooleanField(default=False)
    action = models.CharField(max_length=10, choices=Action.choices)
    row_number = models.PositiveIntegerField()
    student_before = models.JSONField(default=dict, blank=True)
    household_before = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = _("imported change")
        verbose_name_plural = _("imported changes")


class SnapshotAbsence(models.Model):
    """A student of the snapshot's scope missing from the file: to be checked by a person."""

    roster_import = models.ForeignKey(
        RosterImport, on_delete=models.CASCADE, related_name="absences"
    )
    student = models.ForeignKey(Student, on_delete=models.CASCADE, related_name="absences")
    checked_at = models.DateTimeField(_("checked at"), null=True, blank=True)
    checked_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    note = models.CharField(_("what was found"), max_length=200, blank=True)

    history = AuditedHistory()

    class Meta:
        verbose_name = _("student absent from a snapshot")
        verbose_name_plural = _("students absent from a snapshot")
        constraints = [
            models.UniqueConstraint(
                fields=["roster_import", "student"], name="absence_once_per_import"
            )
        ]


class ExportLogQuerySet(models.QuerySet):
    def visible_to(self, user):
        """Only bureau administrators read the log: the exports made by the staff of their
        region, and by the city or province viewers whose scope takes it in."""
        if not user.is_authenticated:
            return self.none()
        if user.is_superuser:
            return self
        if user.role == Role.BUREAU_ADMIN and user.region_id:
            code = user.region.code
            return self.filter(
                staff_of_region(code) | Q(user__role=Role.VIEWER, user__region__code__in=_code_prefixes(code))
            )
        return self.none()


def _code_prefixes(code):
    """The codes of the regions above a region: 3713 and 37 for 371324 (division codes
    nest by prefix, two digits a level up to the county, three below it)."""
    return [code[:length] for length in (2, 4, 6, 9) if length < len(code)]


# The lists whose exports are logged, by the name they are logged under.
EXPORTED_LISTS = {
    "students": _("Students"),
    "schools": _("Schools"),
    "teachers": _("Teachers"),
    "unpaired_students": _("Unpaired students"),
    "pairings_needing_reassignment": _("Pairings needing reassignment"),
    "school_pairings": _("School pairings"),
    "visits": _("Home visits"),
    "unvisited_students": _("Students not visited"),
    "dropout_cases": _("Dropout cases"),
    "ledger_school_age": _("School-age children ledger"),
    "ledger_suspected": _("Suspected dropouts ledger"),
    "ledger_dropout": _("Dropouts ledger"),
    "disbursement_batches": _("Disbursement batches"),
    "batch_roster": _("Signature roster"),
    "precision": _("Precision checks"),
    "grid_groups": _("Grid groups"),
    "inspections": _("Inspections"),
    "rectification_items": _("Rectification items"),
    "export_log": _("Export log"),
}


class ExportLog(models.Model):
    """An export that carried personal data, by any role: who, when, what filter, how many
    rows, and whether its ID and phone numbers were masked. Append-only (common.audit); rows
    leave only after the retention period."""

    audit_date_field = "exported_at"

    user = models.ForeignKey(User, verbose_name=_("user"), on_delete=models.PROTECT, related_name="+")
    exported_at = models.DateTimeField(_("exported at"), auto_now_add=True)
    list_name = models.CharField(_("list"), max_length=50)
    query = models.CharField(_("filter"), max_length=1000, blank=True)
    row_count = models.PositiveIntegerField(_("rows"))
    id_numbers_masked = models.BooleanField(
        _("ID numbers masked"),
        default=False,
        help_text=_("With them the birth dates (as years) and the student numbers."),
    )
    phones_masked = models.BooleanField(_("phone numbers masked"), default=False)

    objects = ExportLogQuerySet.as_manager()

    class Meta:
        verbose_name = _("export log entry")
        verbose_name_plural = _("export log")
        ordering = ["-exported_at"]
        triggers = [append_only()]

    def list_label(self):
        return EXPORTED_LISTS.get(self.list_name, self.list_name)

    def masking_label(self):
        if self.id_numbers_masked and self.phones_masked:
            return _("ID and phone numbers masked")
        if self.id_numbers_masked:
            return _("ID numbers masked, phone numbers in full")
        if self.phones_masked:
            return _("Phone numbers masked, ID numbers in full")
        return _("In full")
