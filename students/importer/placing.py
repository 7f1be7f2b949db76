"""Place each cleaned row against the registry as it is now: its school and township, new or
known, what would change; and the full-snapshot comparison."""
import difflib

from django.db.models import Exists, OuterRef
from django.utils.translation import gettext as _

from common.spreadsheets import (
    RawTable,
)

from students.choices import (
    RegionLevel,
    Stage,
)
from students.models import (
    Household,
    Region,
    School,
    Student,
)

from .cleaning import clean_rows
from .header import COLUMN_BY_KEY, COLUMN_ORDER, FULL_WIDTH, find_header
from .plan import ImportPlan, PlannedRow


class Registry:
    """What the rows are checked against, loaded in a few queries for the whole file."""

    def __init__(self, actor, id_numbers):
        self.actor = actor
        self.schools = list(School.objects.visible_to(actor).select_related("region"))
        self.school_by_key = {}
        for school in self.schools:
            self.school_by_key.setdefault(school_key(school.name), []).append(school)
        self.townships = [
            (school_key(township.name), township)
            for township in Region.objects.visible_to(actor).filter(level=RegionLevel.TOWNSHIP)
        ]
        self.students_by_id_number = {}
        found = []
        numbers = list(id_numbers)
        visible = Student.objects.visible_to(actor).filter(pk=OuterRef("pk"))
        for start in range(0, len(numbers), 5000):
            found += (
                Student.objects.filter(id_number__in=numbers[start:start + 5000])
                .annotate(in_scope=Exists(visible))
                .select_related("household")
            )
        share_schools_and_townships(found)
        for student in found:
            current = self.students_by_id_number.get(student.id_number)
            # The record on the roster wins over older records that left it.
            if current is None or (current.left_roster_on and not student.left_roster_on):
                self.students_by_id_number[student.id_number] = student
        self.visible_student_ids = {student.pk for student in found if student.in_scope}

    def school_for(self, text):
        """Exact name, or the one school whose name contains (or is contained in) the text."""
        key = school_key(text)
        exact = self.school_by_key.get(key, [])
        if len(exact) == 1:
            return exact[0], []
        candidates = [
            school for school in self.schools
            if key and (key in school_key(school.name) or school_key(school.name) in key)
        ]
        if len(candidates) == 1:
            return candidates[0], []
        names = [school.name for school in self.schools]
        suggestions = [school.name for school in candidates][:3] or difflib.get_close_matches(
            text, names, n=3, cutoff=0.4
        )
        return None, suggestions

    def township_for(self, text):
        key = school_key(text)
        for name_key, township in self.townships:
            if name_key == key or (key and key in name_key):
                return township
        return None


def share_schools_and_townships(students):
    """Give the students their schools and their households' townships, one object each for
    the few there are, rather than one per row from a join (a fifth of a re-check's time)."""
    schools = School.objects.in_bulk({student.school_id for student in students})
    households = [student.household for student in students if student.household is not None]
    townships = Region.objects.in_bulk({household.township_id for household in households})
    for student in students:
        student.school = schools[student.school_id]
    for household in households:
        household.township = townships[household.township_id]


def school_key(name):
    return "".join(str(name).translate(FULL_WIDTH).split())


PROGRESS_EVERY = 500  # rows between two reports to a background job


def plan_import(table: RawTable, *, actor, mapping_override=None, snapshot=None, on_progress=None) -> ImportPlan:
    """Check every row of the table and decide what it would do. Writes nothing.

    Two passes: each row is cleaned on its own (clean_rows), then placed in the registry as
    it is now (place_row: school, township, and whether the student is new or known).
    `on_progress(rows_done, rows_total, stage)`, when given, hears how far the second pass is.
    """
    header = find_header(table, mapping_override)
    cleaned = clean_rows(table, header)
    registry = Registry(actor, {row.student_fields["id_number"] for row in cleaned if "id_number" in row.student_fields})
    rows = []
    for row in cleaned:
        if on_progress and len(rows) % PROGRESS_EVERY == 0:
            on_progress(len(rows), len(cleaned), _("Checking the rows against the registry"))
        rows.append(place_row(row, registry))
    check_shared_households(rows)
    plan = ImportPlan(header=header, rows=rows)
    if snapshot is not None:
        compare_snapshot(plan, actor, snapshot)
    return plan


def place_row(clean, registry):
    """A cleaned row checked against the registry: its school and township, then whether it
    is a new student, a known one (updated or unchanged), or an error."""
    planned = PlannedRow(
        number=clean.number,
        raw=clean.raw,
        errors=list(clean.errors),
        student_fields=dict(clean.student_fields),
        household_fields=dict(clean.household_fields),
    )
    school = check_school(planned, clean.texts.get("school", ""), registry)
    if school is not None:
        planned.student_fields["school"] = school
        if "stage" not in planned.student_fields and len(school.stages) == 1:
            planned.student_fields["stage"] = Stage(school.stages[0])
    township_text = clean.texts.get("township")
    if township_text:
        township = registry.township_for(township_text)
        if township is None:
            planned.error("township", _("Unknown township “%(value)s”.") % {"value": township_text})
        else:
            planned.household_fields["township"] = township
    elif school is not None:
        planned.household_fields["township"] = school.region
    planned.errors.sort(key=lambda error: COLUMN_ORDER[error.column])
    if not planned.errors:
        classify(planned, registry)
    if planned.errors:
        planned.action = "error"
    return planned


def check_shared_households(rows):
    """Rows that will share one new household (siblings: see household_key) must describe it
    the same way; otherwise one family's category would silently replace the other's."""
    first_of = {}
    for row in rows:
        if row.errors or (row.student is not None and row.student.household is not None):
            continue
        key = household_key(row.household_fields)
        if key is None:
            continue
        first = first_of.setdefault(key, row)
        if first is row:
            continue
        differing = [
            COLUMN_BY_KEY[name].header
            for name in sorted(set(row.household_fields) | set(first.household_fields))
            if name in COLUMN_BY_KEY and row.household_fields.get(name) != first.household_fields.get(name)
        ]
        if differing:
            row.error(
                "head_name",
                _("Row %(row)s has the same household, but its %(columns)s differ; make them agree or tell the households apart.")
                % {"row": first.number, "columns": "、".join(differing)},
            )
            row.action = "error"


def check_school(planned, text, registry):
    if not text:
        planned.error("school", _("The school is empty."))
        return None
    school, suggestions = registry.school_for(text)
    if school is None:
        if suggestions:
            planned.error(
                "school",
                _("No school in your scope is called “%(value)s”. Did you mean: %(suggestions)s?")
                % {"value": text, "suggestions": "、".join(suggestions)},
            )
        else:
            planned.error("school", _("No school in your scope is called “%(value)s”.") % {"value": text})
    return school


STUDENT_FIELDS_COMPARED = ("name", "student_number", "school", "stage", "grade", "class_name", "status", "note")

HOUSEHOLD_FIELDS_COMPARED = (
    "registration_number", "head_name", "township", "village", "category",
    "poverty_cause", "guardian_name", "guardian_phone",
)


def classify(planned, registry):
    fields = planned.student_fields
    existing = registry.students_by_id_number.get(fields["id_number"])
    if existing is None:
        require_for_new(planned)
        planned.action = "new"
        return
    if existing.pk not in registry.visible_student_ids and existing.on_roster:
        planned.error(
            "id_number",
            _("This student is on the roster of %(school)s, outside your scope; ask the county bureau to transfer the record.")
            % {"school": existing.school.name},
        )
        return
    if existing.name != fields["name"]:
        planned.conflict = {"file": fields["name"], "registry": existing.name, "school": existing.school.name}
        planned.error(
            "id_number",
            _("This ID number belongs to %(registry)s (%(school)s) in the registry, but the file says %(file)s.")
            % planned.conflict,
        )
        return
    planned.student = existing
    planned.changes = changes_of(existing, fields, STUDENT_FIELDS_COMPARED, Student)
    if existing.household is not None:
        planned.changes += changes_of(
            existing.household, planned.household_fields, HOUSEHOLD_FIELDS_COMPARED, Household
        )
    elif planned.household_fields.get("head_name"):
        planned.changes.append((_("household"), "", planned.household_fields["head_name"]))
    if not existing.on_roster:
        planned.changes.append((_("roster"), _("Left the roster"), _("On the roster")))
    planned.action = "updated" if planned.changes else "unchanged"


def require_for_new(planned):
    """A new student needs what the registry cannot do without."""
    for key in ("stage", "grade"):
        if key not in planned.student_fields:
            planned.error(key, _("A new student needs a %(column)s.") % {"column": COLUMN_BY_KEY[key].header})
    household = planned.household_fields
    if not household.get("head_name"):
        household["head_name"] = household.get("guardian_name") or planned.student_fields["name"]
    if "category" not in household:
        planned.error("category", _("A new student needs the household category."))


def changes_of(instance, fields, names, model):
    changes = []
    for name in names:
        if name not in fields:
            continue
        old, new = getattr(instance, name), fields[name]
        if old != new:
            label = model._meta.get_field(name).verbose_name
            changes.append((label, display(model, name, old), display(model, name, new)))
    return changes


def display(model, name, value):
    model_field = model._meta.get_field(name)
    if model_field.choices:
        return dict(model_field.flatchoices).get(value, value)
    return "" if value is None else str(value)


def compare_snapshot(plan, actor, snapshot):
    """Students of the snapshot's scope who are missing from the file, and those who moved."""
    in_file = {
        row.student_fields.get("id_number") for row in plan.rows if row.student_fields.get("id_number")
    }
    scope = Student.objects.visible_to(actor).on_roster()
    if isinstance(snapshot, School):
        scope = scope.filter(school=snapshot)
    else:
        scope = scope.filter(school__region__code__startswith=snapshot.code)
    plan.absent_students = [
        student for student in scope.select_related("school") if student.id_number not in in_file
    ]
    moved = {_("school"), _("stage"), _("enrolment status")}
    plan.moved_students = [
        row for row in plan.rows
        if row.action == "updated" and any(str(label) in moved for label, _old, _new in row.changes)
    ]


def household_key(fields):
    """What makes new rows one household: the same registration number, or else the same
    head of household in the same village with the same phone. Heads who share a name in a
    village are common, so without a number or a phone to tie them the row is a household of
    its own (None)."""
    if fields.get("registration_number"):
        return ("number", fields["registration_number"])
    if not fields.get("guardian_phone"):
        return None
    township = fields.get("township")
    return (
        "name", township.pk if township else None, fields.get("village", ""), fields.get("head_name", ""),
        fields["guardian_phone"],
    )
