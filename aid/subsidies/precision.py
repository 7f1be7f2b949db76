"""Precision checks (精准资助比对) for one program and term, within a user's scope.

Each check finds students or lines: a finding is a student, the lines concerned and what is
wrong. A finding that a person has looked into (PrecisionResolution) is reported apart as
resolved. The checks select and count in the database, and only the findings a page shows
become objects, so the home page's counts and the precision page take a fixed number of
queries whatever the size of the county.
"""
import datetime
from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Exists, F, Min, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce, TruncDate
from django.db.models.lookups import LessThanOrEqual
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from aid.casework.tallies import tallied_scope
from aid.reference.models import ProgramStandard, field_value
from aid.subsidies.models import (
    DisbursementBatch,
    DisbursementLine,
    PrecisionResolution,
)
from aid.subsidies.tallies import EligibilityTally, StudentFactsTally, lines_tallied, students_tallied
from students import permissions
from students.models import Household, Student, shared_id_numbers

Kind = PrecisionResolution.Kind
# What a finding about a line shows: the student with their school and household, the batch.
LINE_RELATED = ("school", "student__school", "student__household", "batch")
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
    findings: dict  # kind → [Finding] still open (with a limit, the first of them)
    counts: dict  # kind → how many are open
    resolved: list  # [Finding] with their resolution (with a limit, the first of them)
    resolved_count: int

    def open_count(self):
        return sum(self.counts.values())


def precision_report(user, program, term, limit=None):
    """All five checks for one program and term, in a fixed number of queries. The checks
    select in the database; with `limit`, only that many findings of each kind (and of the
    resolved ones) become objects, and the counts are of all of them."""
    checks = PrecisionChecks(user, program, term, shared_id_numbers())
    resolutions = checks.resolutions
    findings, counts, resolved, resolved_count = {}, {}, [], 0
    for kind in Kind.values:
        counts[kind], findings[kind] = checks.findings(kind, resolved=False, limit=limit)
        count, items = checks.findings(kind, resolved=True, limit=limit)
        resolved_count += count
        for finding in items:
            finding.resolution = resolutions.get((kind, finding.student.pk)) or checks.group_resolution(
                finding, resolutions
            )
        resolved += items
    if limit is not None:
        resolved = resolved[:limit]
    return PrecisionReport(program, term, findings, counts, resolved, resolved_count)


def open_findings_count(user, program, term, shared_numbers=None):
    """The number of open findings, as the precision page counts them, without making any
    of them (the home page's figure). `shared_numbers`: shared_id_numbers(), when the caller
    counts several programs."""
    if shared_numbers is None:
        shared_numbers = shared_id_numbers()
    checks = PrecisionChecks(user, program, term, shared_numbers)
    return sum(checks.count(kind) for kind in Kind.values)


class PrecisionChecks:
    """The five checks of one program and term within a user's scope, as querysets.

    Each check selects students (漏发) or lines (the others); a finding is open unless a
    resolution of its kind names its student. Paid lines are checked against the student as
    recorded on the payment day: where neither the student nor the household has changed
    since, that is the record as it stands, and the database checks it; the few lines whose
    records changed after the payment are checked against their history in Python
    (records_on_payment_dates), and counted and listed with the rest.
    """

    def __init__(self, user, program, term, shared_numbers):
        self.program, self.term = program, term
        self.shared_numbers = shared_numbers  # shared_id_numbers()
        self.students = Student.objects.visible_to(user)
        self.tallied_schools = tallied_scope(user)  # None where the checks count from the lines
        self.lines = DisbursementLine.objects.visible_to(user).counting().filter(program=program, term=term)
        self.rules = program.eligibility_rules()

    @cached_property
    def standards(self):
        return {s.stage: s.amount for s in ProgramStandard.objects.filter(program=self.program)}

    @cached_property
    def resolutions(self):
        """{(kind, student id): PrecisionResolution} of the program and term. Resolutions are
        written by people, a handful per program and term: one query, and the checks then
        leave them out by a list instead of looking for one per finding."""
        resolutions = PrecisionResolution.objects.filter(program=self.program, term=self.term)
        return {(r.kind, r.student_id): r for r in resolutions.select_related("resolved_by")}

    @cached_property
    def resolved_students(self):
        """kind → the ids of the students whose findings of that kind someone resolved."""
        resolved = {kind: set() for kind in Kind.values}
        for kind, student_id in self.resolutions:
            resolved[kind].add(student_id)
        return resolved

    @cached_property
    def resolved_duplicate_numbers(self):
        """A duplicate is one finding per ID number, resolved whichever of its students the
        resolution names."""
        students = self.resolved_students[Kind.DUPLICATE]
        return set(Student.objects.filter(pk__in=students).values_list("id_number", flat=True)) if students else set()

    # -- what each check selects --------------------------------------------------------

    @cached_property
    def batch_regions(self):
        """The codes of the regions the program's batches of the term cover."""
        return set(
            DisbursementBatch.objects.filter(program=self.program, term=self.term).values_list("region__code", flat=True)
        )

    def covered(self, school="school"):
        """Q of the rows whose `school` lies in a region a batch covers."""
        covered = Q()
        for code in self.batch_regions:
            covered |= Q(**{f"{school}__region__code__startswith": code})
        return covered

    def missed_students(self):
        """漏发: eligible now, covered by a batch of this program for the term, and with no
        line of it anywhere: a line at another school (paid there before the student moved
        here) counts, whether or not the user can see it. A batch covers the students of its
        region's schools; where no batch covers a student nobody is due yet, and in-kind
        items handed over case by case on visits are not a list anyone is missing from."""
        if not self.batch_regions:
            return self.students.none()
        covered = self.covered()
        included = DisbursementLine.objects.counting().filter(
            program=self.program, term=self.term, student=OuterRef("pk")
        )
        return self.program.eligible_students(self.students).filter(covered).exclude(Exists(included))

    def duplicate_lines(self):
        """重复: the lines in scope of one person (one ID number) with more than one line,
        across batches and records (lines the user cannot see count)."""
        if not self.shared_numbers:
            return self.lines.none()
        another = DisbursementLine.objects.counting().filter(
            program=self.program, term=self.term, student__id_number=OuterRef("student__id_number")
        ).exclude(pk=OuterRef("pk"))
        return self.lines.filter(student__id_number__in=self.shared_numbers).filter(Exists(another))

    def line_condition(self, kind):
        """The Q of the lines a line check finds (in the database)."""
        if kind == Kind.AMOUNT:
            # Differs from the program's current standard for its stage, with no reason given.
            standard = ProgramStandard.objects.filter(
                program=self.program, stage=OuterRef("stage"), amount=OuterRef("amount")
            )
            return Q(amount_reason="") & ~Q(Exists(standard))
        if kind == Kind.OFF_ROSTER:
            return Q(status=DisbursementLine.Status.PAID, student__left_roster_on__isnull=False)
        # 错发: not eligible on the payment date (today for unpaid lines). Where the record
        # then is the record now the database checks it; the lines whose records changed
        # since their payment are checked in Python (changed_ineligible) and left out here
        # by their keys, so that the database does not look up the history of every line.
        if self.changed_lines:
            return self.fails_now() & ~Q(pk__in=list(self.changed_lines))
        return self.fails_now()

    def fails_now(self):
        failed = Q(student__left_roster_on__isnull=False)
        for path, values in self.rules:
            failed |= ~Q(**{f"student__{path}__in": list(values)})
        return failed

    @cached_property
    def changed_ineligible(self):
        """{line key: (student id, reasons)} of the paid lines in scope whose student or
        household changed after the payment and that were not eligible on the payment day."""
        as_paid = records_on_payment_dates(self.changed_lines)
        return {
            pk: (self.changed_lines[pk][0], reasons)
            for pk, record in as_paid.items() if (reasons := self.reasons(record))
        }

    @cached_property
    def changed_lines(self):
        """{line key: (student id, payment day)} of changed_since_payment's lines: what
        records_on_payment_dates needs, without making the lines (the home page only counts
        them, and the lines with their student, school and household cost 1 ms each)."""
        rows = self.changed_since_payment().order_by().values_list("pk", "student_id", "paid_on")
        return {pk: (student_id, paid_on) for pk, student_id, paid_on in rows}

    def changed_since_payment(self):
        """The paid lines in scope whose record on the payment day may not be the record now.

        Only the lines of students (or of households) with a history record after the
        earliest payment day can be such lines: they are found through the history's date
        index and hashed, and only they are then checked line by line
        (unchanged_since_payment), not every paid line of the program."""
        paid = self.lines.filter(paid_on__isnull=False)
        first_day = paid.aggregate(first=Min("paid_on"))["first"]
        if first_day is None:
            return paid.none()
        since = end_of(first_day)
        changed_households = Household.history.filter(history_date__gt=since).values("id")
        candidates = paid.filter(
            Q(student_id__in=Student.history.filter(history_date__gt=since).values("id"))
            | Q(student_id__in=Student.objects.filter(household_id__in=changed_households).values("id"))
        )
        # By their keys first, as _first_lines does: PostgreSQL cannot foresee how few lines
        # the history picks, and would join every student to them (300 lines of a program
        # with 34,000: 100 ms, against 5 ms by their keys).
        keys = list(candidates.order_by().values_list("pk", flat=True)[: KEYS_FIRST + 1])
        if len(keys) <= KEYS_FIRST:
            candidates = DisbursementLine.objects.filter(pk__in=keys)
        return candidates.exclude(unchanged_since_payment())

    def reasons(self, record):
        """The rules `record` fails (a student, or its history record); a student not
        registered then fails "on the roster"."""
        return failed_rules(record, self.rules) if record is not None else ["on_roster"]

    # -- counting and listing -----------------------------------------------------------

    def selection(self, kind, resolved):
        """The queryset of one check's open (or resolved) findings: students for 漏发, lines
        for the rest."""
        if kind == Kind.MISSED:
            queryset, key, keys = self.missed_students(), "pk", self.resolved_students[kind]
        elif kind == Kind.DUPLICATE:
            queryset, key, keys = self.duplicate_lines(), "student__id_number", self.resolved_duplicate_numbers
        else:
            queryset, key, keys = self.lines.filter(self.line_condition(kind)), "student_id", self.resolved_students[kind]
        if not keys:
            return queryset.none() if resolved else queryset
        return queryset.filter(**{f"{key}__in": keys}) if resolved else queryset.exclude(**{f"{key}__in": keys})

    def changed_findings(self, kind, resolved):
        """{line key: reasons} of the lines checked in Python that are open (or resolved)
        findings of `kind`."""
        if kind != Kind.INELIGIBLE:
            return {}
        resolved_students = self.resolved_students[Kind.INELIGIBLE]
        return {
            pk: reasons for pk, (student_id, reasons) in self.changed_ineligible.items()
            if (student_id in resolved_students) == resolved
        }

    def count(self, kind, resolved=False):
        if kind in TALLIED_KINDS and not resolved and self.tallied_schools is not None:
            return self.tallied_missed_count() if kind == Kind.MISSED else self.tallied_count(kind)
        selection = self.selection(kind, resolved)
        if kind == Kind.DUPLICATE:
            return selection.values("student__id_number").distinct().count()
        return selection.count() + len(self.changed_findings(kind, resolved))

    def tallied_count(self, kind):
        """The open findings of a line check (错发, 离册, 金额) without reading the program's
        lines (a county's 40,000: 30 to 45 ms a program for 错发's join to the students): the
        lines that meet the check by their own and their students' facts, from the tally, less
        those that the database leaves out of the check (changed since their payment) or that
        someone resolved, and with the changed lines that fail as paid."""
        in_scope = Q(school__in=self.tallied_schools)
        tallied = lines_tallied(self.program, self.term, in_scope & self.tally_condition(kind))
        resolved = self.resolved_students[kind]
        changed = list(self.changed_lines) if kind == Kind.INELIGIBLE else []
        if resolved or changed:
            met = self.fails_now() if kind == Kind.INELIGIBLE else self.line_condition(kind)
            tallied -= self.lines.filter(met).filter(Q(student_id__in=resolved) | Q(pk__in=changed)).count()
        return tallied + len(self.changed_findings(kind, resolved=False))

    def tally_condition(self, kind):
        """The Q on EligibilityTally's facts of the lines a check finds."""
        if kind == Kind.OFF_ROSTER:
            return Q(status=DisbursementLine.Status.PAID, on_roster=False)
        if kind == Kind.AMOUNT:
            condition = Q(amount_explained=False)
            for stage, amount in self.standards.items():
                condition &= ~Q(line_stage=stage, amount=amount)
            return condition
        return Q(on_roster=False) | ~self.meets_rules(EligibilityTally.FACTS)

    def tallied_missed_count(self):
        """The open findings of 漏发 without joining the eligible students to the program's
        lines: the eligible students the batches cover, less those with a line (from their
        facts on the lines' tally, wherever the line is), less those someone resolved."""
        if not self.batch_regions:
            return 0
        eligible = students_tallied(
            Q(school__in=self.tallied_schools) & self.covered() & self.meets_rules(StudentFactsTally.FACTS)
        )
        with_a_line = lines_tallied(
            self.program, self.term,
            Q(student_school__in=self.tallied_schools, on_roster=True) & self.covered("student_school")
            & self.meets_rules(EligibilityTally.FACTS),
        )
        resolved = self.resolved_students[Kind.MISSED]
        still_missed = self.missed_students().filter(pk__in=resolved).count() if resolved else 0
        return eligible - with_a_line - still_missed

    def meets_rules(self, facts):
        """Q of a tally's rows whose facts (StudentFactsTally.FACTS, EligibilityTally.FACTS)
        meet every rule."""
        return Q(**{f"{facts[path]}__in": list(values) for path, values in self.rules})

    def findings(self, kind, resolved, limit):
        """(count, [Finding]) of one check: all of them, or the first `limit`."""
        selection = self.selection(kind, resolved)
        if kind == Kind.MISSED:
            students, count = _first_students(selection, limit)
            return count, [Finding(kind, student) for student in students]
        if kind == Kind.DUPLICATE:
            return self._duplicate_findings(selection, limit)
        lines, count = _first_lines(selection, limit)
        found = [(line, self.line_reasons(kind, line)) for line in lines]
        changed = self.changed_findings(kind, resolved)
        if changed:
            as_paid = DisbursementLine.objects.filter(pk__in=list(changed)).select_related(*LINE_RELATED)
            found += [(line, changed[line.pk]) for line in as_paid]
        found = sorted(found, key=lambda pair: _line_order(pair[0]))
        return count + len(changed), [
            Finding(kind, line.student, [line], self.describe(kind, line, reasons))
            for line, reasons in _first(found, limit)
        ]

    def line_reasons(self, kind, line):
        """Why the database selected `line` (for 错发: the rules its student fails)."""
        return self.reasons(line.student) if kind == Kind.INELIGIBLE else []

    def describe(self, kind, line, reasons):
        if kind == Kind.AMOUNT:
            return f"{line.amount} ≠ {self.standards.get(line.stage)}"
        return "、".join(str(RULE_LABELS[reason]) for reason in reasons)

    def _duplicate_findings(self, selection, limit):
        groups = selection.values("student__id_number").annotate(first=Min("pk")).order_by("first")
        groups, count = _first_and_count(groups, limit)
        numbers = [row["student__id_number"] for row in groups]
        by_number = {number: [] for number in numbers}
        lines = self.lines.filter(student__id_number__in=numbers).select_related(*LINE_RELATED)
        for line in lines:
            by_number[line.student.id_number].append(line)
        return count, [Finding(Kind.DUPLICATE, group[0].student, group) for group in by_number.values() if group]

    def group_resolution(self, finding, resolutions):
        """The resolution of a duplicate found under another of its lines' students."""
        if finding.kind != Kind.DUPLICATE:
            return None
        names = {line.student_id for line in finding.lines}
        return next((r for (kind, student_id), r in resolutions.items() if kind == finding.kind and student_id in names), None)


# The checks whose open findings count from the eligibility tallies where they are kept.
TALLIED_KINDS = (Kind.INELIGIBLE, Kind.OFF_ROSTER, Kind.AMOUNT, Kind.MISSED)


def unchanged_since_payment():
    """Q of paid lines whose student's latest history record, and its household's, date from
    the payment day or before: the record in force on that day is the record as it stands.
    (Every write keeps history; a record with none at all is taken as it stands.) One index
    probe per line for each, the day compared once per line."""
    def recorded_by_payment_day(model, id_path):
        latest = model.history.filter(id=OuterRef(id_path)).order_by("-history_date").values("history_date")[:1]
        return Q(LessThanOrEqual(Coalesce(TruncDate(Subquery(latest)), F("paid_on")), F("paid_on")))

    household = Q(student__household__isnull=True) | recorded_by_payment_day(Household, "student__household_id")
    return Q(paid_on__isnull=False) & recorded_by_payment_day(Student, "student_id") & household


def _first(items, limit):
    return items if limit is None else items[:limit]


def _first_and_count(queryset, limit):
    """The first `limit` rows of `queryset` (all of them without a limit) and how many it
    holds, counted by the database only when the list may have been cut short."""
    rows = list(_first(queryset, limit))
    return rows, queryset.count() if limit is not None and len(rows) == limit else len(rows)


# The most finding lines whose keys are taken before the lines themselves (_first_lines).
KEYS_FIRST = 2000


def _first_lines(selection, limit):
    """The first `limit` lines of a line check's selection with their relations, and how many
    it holds.

    A check usually finds a few lines among thousands. Asked for the lines in the listing's
    order with a limit, the database joins every line of the program to its student and
    household in that order, expecting to meet enough findings early (200 ms for a county
    when there are none). So the keys come first, and all of them: asked for with a limit
    as well, PostgreSQL again expects to meet them early and looks up the student of each
    line by its key (one finding in a program's 23,000 lines: 84 ms), where without one it
    hashes the students (57 ms). Only those lines are then fetched. A check that finds more
    than KEYS_FIRST lines does meet them early, and is listed as it stands."""
    keys = list(selection.order_by().values_list("pk", flat=True))
    if len(keys) > KEYS_FIRST:
        return list(_first(selection.select_related(*LINE_RELATED), limit)), len(keys)
    lines = DisbursementLine.objects.filter(pk__in=keys).select_related(*LINE_RELATED)
    return list(_first(lines, limit)), len(keys)


def _first_students(selection, limit):
    """The first `limit` students of the 漏发 check's selection with their school and
    household, and how many it holds: their keys first, all of them and in the listing's
    order. Asked for the students themselves with a limit, PostgreSQL expects to meet enough
    early and looks for each eligible student's line one by one (41 found among a program's
    23,000 eligible students: 106 ms); the keys alone, without a limit, it finds by hashing
    the lines (39 ms)."""
    keys = list(selection.values_list("pk", flat=True))
    first = _first(keys, limit)
    by_key = Student.objects.select_related("school", "household").in_bulk(first)
    return [by_key[key] for key in first], len(keys)


def _line_order(line):
    """The lines' default order (school, then student name), for merging two lists of lines."""
    return (line.school.name, line.student.name)


def records_on_payment_dates(paid):
    """{line key: record} for paid lines given as {line key: (student id, payment day)}: the
    student's history record in force at the end of the line's payment day, with its
    household's record in force then (None if the student was not registered then). Two
    queries for any number of lines, none for none."""
    if not paid:
        return {}
    students = histories(Student, {student_id for student_id, _ in paid.values()})
    households = histories(Household, {r.household_id for records in students.values() for r in records if r.household_id})
    as_paid = {}
    for pk, (student_id, paid_on) in paid.items():
        moment = end_of(paid_on)
        record = in_force(students.get(student_id, []), moment)
        if record is not None:
            records = households.get(record.household_id, [])
            # A household recorded only after the payment: its first record is the best known.
            household = in_force(records, moment) or (records[0] if records else None)
            record.household = household.instance if household is not None else None
        as_paid[pk] = record
    return as_paid


def histories(model, ids):
    """The history records of these objects, oldest first, by object id."""
    by_id = {}
    if ids:
        for record in model.history.filter(id__in=ids).order_by("id", "history_date", "history_id"):
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
