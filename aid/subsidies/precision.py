"""Precision checks (精准资助比对) for one program and term, within a user's scope.

Each check returns findings: a student, the lines concerned and what is wrong. A finding
that a person has looked into (PrecisionResolution) is reported apart as resolved.
"""
import datetime
from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, Exists, Min, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from aid.reference.models import ProgramStandard, field_value
from aid.subsidies.models import (
    DisbursementBatch,
    DisbursementLine,
    PrecisionResolution,
)
from students import permissions
from students.models import Household, Student

Kind = PrecisionResolution.Kind
RULE_LABELS = {
    "on_roster": _("left the roster"),
    "stage": _("stage"),
    "household__category": _("household category"),
    "status": _("not in school"),
    "is_boarder": _("not a boarder"),
    "school_id": _("school"),
}


@dataclass
class Finding:
    kind: str
    student: Student
    lines: list = field(default_factory=list)
    detail: str = ""
    resolution: PrecisionResolution | None = None


@dataclass
class PrecisionReport:
    program: object
    term: object
    findings: dict  # kind → [Finding] still open
    resolved: list  # [Finding] with their resolution

    def open_count(self):
        return sum(len(items) for items in self.findings.values())


def precision_report(user, program, term):
    """All five checks for one program and term, in a fixed number of queries."""
    students = Student.objects.visible_to(user)
    lines = (
        DisbursementLine.objects.visible_to(user)
        .counting()
        .filter(program=program, term=term)
        .select_related("student__school", "student__household", "batch")
    )
    lines = list(lines)
    raw = {
        Kind.MISSED: missed(program, term, students),
        Kind.DUPLICATE: duplicates(program, term, lines),
        Kind.INELIGIBLE: ineligible(program, lines),
        Kind.AMOUNT: wrong_amounts(program, lines),
        Kind.OFF_ROSTER: paid_off_roster(lines),
    }
    resolutions = {
        (r.kind, r.student_id): r
        for r in PrecisionResolution.objects.filter(program=program, term=term).select_related("resolved_by")
    }
    findings, resolved = {}, []
    for kind, items in raw.items():
        findings[kind] = []
        for finding in items:
            finding.resolution = resolutions.get((kind, finding.student.pk))
            (resolved if finding.resolution else findings[kind]).append(finding)
    return PrecisionReport(program=program, term=term, findings=findings, resolved=resolved)


def missed(program, term, students):
    """漏发: eligible now, covered by a batch of this program for the term, and with no line
    of it anywhere: a line at another school (paid there before the student moved here)
    counts, whether or not the user can see it. A batch covers the students of its region's
    schools; where no batch covers a student nobody is due yet, and in-kind items handed over
    case by case on visits are not a list anyone is missing from."""
    regions = set(
        DisbursementBatch.objects.filter(program=program, term=term).values_list("region__code", flat=True)
    )
    if not regions:
        return []
    covered = Q()
    for code in regions:
        covered |= Q(school__region__code__startswith=code)
    included = DisbursementLine.objects.counting().filter(program=program, term=term, student=OuterRef("pk"))
    eligible = (
        program.eligible_students(students).filter(covered).exclude(Exists(included))
        .select_related("school", "household")
    )
    return [Finding(Kind.MISSED, student) for student in eligible]


def duplicates(program, term, lines):
    """重复: one person (one ID number) with more than one line, across batches and records."""
    counts = (
        DisbursementLine.objects.counting()
        .filter(program=program, term=term)
        .values("student__id_number")
        .annotate(n=Count("pk"))
        .filter(n__gt=1)
    )
    repeated = {row["student__id_number"] for row in counts}
    by_number = {}
    for line in lines:
        if line.student.id_number in repeated:
            by_number.setdefault(line.student.id_number, []).append(line)
    return [Finding(Kind.DUPLICATE, group[0].student, group) for group in by_number.values()]


def ineligible(program, lines):
    """错发: lines for students not eligible on the payment date (today for unpaid lines).

    Paid lines are checked against the student's record, and its household's, as they stood
    that day (history).
    """
    rules = program.eligibility_rules()
    as_paid = records_on_payment_dates([line for line in lines if line.paid_on])
    findings = []
    for line in lines:
        record = as_paid.get(line.pk) if line.paid_on else line.student
        reasons = failed_rules(record, rules) if record is not None else ["on_roster"]
        if reasons:
            detail = "、".join(str(RULE_LABELS[reason]) for reason in reasons)
            findings.append(Finding(Kind.INELIGIBLE, line.student, [line], detail))
    return findings


def records_on_payment_dates(lines):
    """For each paid line, the student's history record in force at the end of its payment
    day, with its household's record in force then (None if the student was not registered
    then). Two queries for any number of lines."""
    if not lines:
        return {}
    until = end_of(max(line.paid_on for line in lines))
    students = histories(Student, {line.student_id for line in lines}, until)
    households = histories(
        Household, {r.household_id for records in students.values() for r in records if r.household_id}
    )
    found = {}
    for line in lines:
        moment = end_of(line.paid_on)
        record = in_force(students.get(line.student_id, []), moment)
        if record is not None:
            records = households.get(record.household_id, [])
            # A household recorded only after the payment: its first record is the best known.
            household = in_force(records, moment) or (records[0] if records else None)
            record.household = household.instance if household is not None else None
        found[line.pk] = record
    return found


def histories(model, ids, until=None):
    """The history records of these objects (up to `until`), oldest first, by object id."""
    by_id = {}
    records = model.history.filter(id__in=ids).order_by("id", "history_date", "history_id")
    if until is not None:
        records = records.filter(history_date__lte=until)
    for record in records:
        by_id.setdefault(record.id, []).append(record)
    return by_id


def in_force(records, moment):
    """Of one object's records (oldest first), the one in force at `moment`; None before the
    first or after a deletion."""
    earlier = [record for record in records if record.history_date <= moment]
    return earlier[-1] if earlier and earlier[-1].history_type != "-" else None


def end_of(day):
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.max))


def failed_rules(student, rules):
    failed = [path for path, values in rules if field_value(student, path) not in values]
    if student.left_roster_on is not None:
        failed.insert(0, "on_roster")
    return failed


def wrong_amounts(program, lines):
    """Amounts that differ from the program's current standard with no reason given."""
    standards = {s.stage: s.amount for s in ProgramStandard.objects.filter(program=program)}
    return [
        Finding(Kind.AMOUNT, line.student, [line], f"{line.amount} ≠ {standards.get(line.stage)}")
        for line in lines
        if not line.amount_reason and standards.get(line.stage) != line.amount
    ]


def paid_off_roster(lines):
    """Paid lines whose student has since left the roster."""
    return [
        Finding(Kind.OFF_ROSTER, line.student, [line])
        for line in lines
        if line.status == DisbursementLine.Status.PAID and line.student.left_roster_on is not None
    ]


def finding_resolve(*, actor, program, term, kind, student, note):
    """Record what a person found about a finding; it then shows as resolved."""
    return findings_resolve(actor=actor, program=program, term=term, kind=kind, students=[student], note=note)[0]


@transaction.atomic
def findings_resolve(*, actor, program, term, kind, students, note):
    """The same note for several findings of one kind (the precision page's bulk action):
    all of them, or none when one student is outside the actor's scope."""
    if not permissions.may(actor, permissions.ADD, PrecisionResolution):
        raise PermissionDenied
    student_ids = {student.pk for student in students}
    if Student.objects.visible_to(actor).filter(pk__in=student_ids).count() != len(student_ids):
        raise PermissionDenied
    if not note.strip():
        raise ValidationError({"note": gettext("Say what was found and done.")})
    resolutions = []
    for student in students:
        resolution, _created = PrecisionResolution.objects.update_or_create(
            program=program, term=term, kind=kind, student=student,
            defaults={"note": note.strip(), "resolved_by": actor, "resolved_at": timezone.now()},
        )
        resolutions.append(resolution)
    return resolutions


def findings_open_longer_than(user, term, prepared_before, open_findings):
    """The programs of `term` whose first batch in the user's scope was prepared before the
    day `prepared_before` and that still have open findings. The checks find what is wrong
    from the moment a batch is prepared, so such a program's findings count as waiting since
    its first batch (findings are computed, not stored, and have no date of their own). Each row:
    program_id, program__name, first_prepared, open (the count from `open_findings`, which
    maps program ids to their open findings). The oldest first; one query."""
    rows = (
        DisbursementBatch.objects.visible_to(user)
        .filter(term=term)
        .values("program_id", "program__name")
        .annotate(first_prepared=Min("prepared_at"))
        .filter(first_prepared__lt=timezone.make_aware(datetime.datetime.combine(prepared_before, datetime.time.min)))
        .order_by("first_prepared", "program_id")
    )
    return [
        {**row, "open": open_findings[row["program_id"]]}
        for row in rows
        if open_findings.get(row["program_id"])
    ]
