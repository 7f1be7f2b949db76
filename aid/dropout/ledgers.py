"""The three dropout-control ledgers (控辍保学台账), as they stood at the end of a period.

Schools report monthly and the county quarterly. A ledger for a past period is built from
the records as they were then: students from their history, cases from their dates. Its
scope is the user's schools, applied to the school each record had then: a pupil who moved
from school A to school B this week stays in A's November ledger and is not in B's, and a
case stays with the school the student dropped out of.

A period under way describes the records as they stand, which is the students' table itself
(every write keeps its history). A past period reads each student's history row in force at
its end. Each ledger is a query: the database applies the scope, the age and the reasons,
orders, counts and pages it, so a page of a ledger of 200,000 students reads its 100 rows,
and the schools, households, teachers and persuasion records of those rows alone.
"""
import calendar
import datetime
import itertools
import re
from dataclasses import dataclass
from functools import cached_property, reduce
from operator import or_

from django.core.exceptions import ValidationError
from django.db import connections
from django.db.models import (
    BigIntegerField,
    BooleanField,
    Exists,
    ExpressionWrapper,
    F,
    IntegerField,
    OuterRef,
    Q,
    Subquery,
    Value,
)
from django.db.models import prefetch_related_objects
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from aid.casework.models import HomeVisit, Pairing
from aid.dropout.models import DropoutCase
from students.choices import Status
from students.models import Household, School, SnapshotAbsence, Student

# Compulsory-education age (义务教育适龄): 6 to 15 on 31 August of the school year.
SCHOOL_AGE = (6, 15)
OUT_OF_SCHOOL = (Status.SUSPENDED, Status.DROPPED_OUT, Status.NOT_ENROLLED)
# A high-risk student not visited for this long is a suspected dropout.
UNVISITED_DAYS = 60


@dataclass(frozen=True)
class Period:
    """A month (2026-11) or a quarter (2026-Q4)."""

    label: str
    starts_on: datetime.date
    ends_on: datetime.date

    @classmethod
    def parse(cls, text):
        text = (text or "").strip().upper()
        if match := re.fullmatch(r"(\d{4})-(\d{1,2})", text):
            year, month = int(match[1]), int(match[2])
            if 1 <= month <= 12:
                last = calendar.monthrange(year, month)[1]
                return cls(f"{year}-{month:02d}", datetime.date(year, month, 1), datetime.date(year, month, last))
        if match := re.fullmatch(r"(\d{4})-Q([1-4])", text):
            year, quarter = int(match[1]), int(match[2])
            first_month = 3 * quarter - 2
            last = calendar.monthrange(year, first_month + 2)[1]
            return cls(
                f"{year}-Q{quarter}", datetime.date(year, first_month, 1), datetime.date(year, first_month + 2, last)
            )
        raise ValidationError(_("Write a month as 2026-11 or a quarter as 2026-Q4."))

    @classmethod
    def current_month(cls, today=None):
        today = today or timezone.localdate()
        return cls.parse(f"{today.year}-{today.month}")

    @property
    def as_of(self):
        """The moment the ledger describes: the end of the period, or now if it is not over."""
        end = timezone.make_aware(datetime.datetime.combine(self.ends_on, datetime.time.max))
        return min(end, timezone.now())

    @property
    def is_over(self):
        """Whether the period has ended (before today): then its ledgers read the history."""
        return self.ends_on < timezone.localdate()

    @property
    def as_of_day(self):
        """The day the ledger describes: the last of the period, or today if it is not over."""
        return min(self.ends_on, timezone.localdate())


class Entries:
    """A ledger's entries in order: counted and sliced in SQL, and iterated in batches.

    `rows` is an ordered queryset (or a SortedUnion). `load` turns a batch of its rows into
    the entries the ledger shows (with their schools, households, teachers…) in a fixed
    number of queries, so a page of 100 entries costs the same whatever the size of the
    ledger. A long ledger whose order comes from other tables sorts keys alone: its `rows`
    are keys, which `fetch` turns into records, and `count` (if given) counts it without the
    joins of the order.
    """

    batch_size = 2000

    def __init__(self, rows, *, load, fetch=None, count=None):
        self.rows = rows
        self.load = load
        self.fetch = fetch or (lambda rows: rows)
        self.counting = count or rows.count

    @cached_property
    def _count(self):
        return self.counting()

    def count(self):
        return self._count

    def __len__(self):
        return self._count

    def __getitem__(self, index):
        if not isinstance(index, slice):
            return self[index : index + 1][0]
        return self.load(self.fetch(list(self.rows[index])))

    def __iter__(self):
        rows = self.rows.iterator(chunk_size=self.batch_size)
        while batch := list(itertools.islice(rows, self.batch_size)):
            yield from self.load(self.fetch(batch))


class SortedUnion:
    """The rows of some querysets in one order, sliced and iterated as one queryset. A slice
    sorts each queryset only as far as the slice's end, and then the union of those: the
    first page sorts 100 rows of each (a sort each that can run in parallel), not all."""

    def __init__(self, querysets, order):
        self.querysets = [queryset.order_by(*order) for queryset in querysets]
        self.order = order

    def union(self, stop=None):
        if len(self.querysets) == 1:
            return self.querysets[0]
        if stop is None or not connections[self.querysets[0].db].features.supports_slicing_ordering_in_compound:
            first, *others = [queryset.order_by() for queryset in self.querysets]  # SQLite: the whole union
        else:
            first, *others = [queryset[:stop] for queryset in self.querysets]
        return first.union(*others, all=True).order_by(*self.order)

    def __getitem__(self, index):
        return self.union(index.stop)[index]

    def iterator(self, chunk_size):
        return self.union().iterator(chunk_size=chunk_size)


def ledger_schools(user):
    """The schools whose records a ledger lists: the user's schools, matched against the
    school each record had at the time (not the student's school today)."""
    return School.objects.visible_to(user).values("pk")


def records_as_of(history, moment):
    """Each record's history row in force at `moment`: its latest row by then (by date, then
    by history id), unless that row is its deletion."""
    rows = history.filter(history_date__lte=moment)
    later = rows.filter(id=OuterRef("id")).filter(
        Q(history_date__gt=OuterRef("history_date"))
        | Q(history_date=OuterRef("history_date"), history_id__gt=OuterRef("history_id"))
    )
    return rows.exclude(Exists(later)).exclude(history_type="-")


def students_as_of(user, period):
    """The records of the students of the user's schools on the roster at the end of the
    period, as they stood then: the students' table for a period under way, their history
    rows in force at its end for a past one (HistoricalStudent rows: `id` is the student's).
    The scope is read first, so that the query filters by a list of schools."""
    if period.is_over:
        records = records_as_of(Student.history.all(), period.as_of)
    else:
        records = Student.objects.all()
    return records.filter(on_the_roster_of(user))


def on_the_roster_of(user):
    """On the roster of one of the user's schools (a record's school, read as a list)."""
    schools = list(ledger_schools(user).values_list("pk", flat=True))
    return Q(school_id__in=schools, left_roster_on__isnull=True)


def students_as_of_by_source(user, period):
    """students_as_of() as one or two querysets, for a ledger that lists nearly every
    student: for a past period, the students not changed since its end read from the table
    (the latest history row of each is the row as it stands), and only the others, changed,
    created or deleted since, from their history. The hash join of every history row with
    every other that finds the latest becomes a look-up of those few."""
    roster = on_the_roster_of(user)
    if not period.is_over:
        return [Student.objects.filter(roster)]
    changed = Student.history.filter(history_date__gt=period.as_of).values("id")
    return [
        Student.objects.filter(roster).exclude(id__in=changed),
        records_as_of(Student.history.all(), period.as_of).filter(roster, id__in=changed),
    ]


def as_students(records):
    """History rows as the students they describe (pk the student's id); students as they are."""
    return [record if isinstance(record, Student) else record.instance for record in records]


def attach_schools(records):
    """Each record's school, with its township, in one query for the batch."""
    schools = School.objects.select_related("region").in_bulk({record.school_id for record in records})
    for record in records:
        record.school = schools[record.school_id]
    return records


def attach_schools_and_households(students):
    """Each student's school and household (each with its township), in two queries for the
    batch."""
    households = Household.objects.select_related("township").in_bulk(
        {student.household_id for student in students if student.household_id}
    )
    for student in students:
        student.household = households.get(student.household_id)
    return attach_schools(students)


def school_age_bounds(period):
    """(31 August of the school year, born after, born on or before): 6 to 15 on that day."""
    year = period.ends_on.year if period.ends_on.month >= 9 else period.ends_on.year - 1
    cutoff = datetime.date(year, 8, 31)
    youngest = cutoff.replace(year=cutoff.year - SCHOOL_AGE[0])
    oldest = cutoff.replace(year=cutoff.year - SCHOOL_AGE[1] - 1)
    return cutoff, oldest, youngest


def of_school_age(period):
    _cutoff, oldest, youngest = school_age_bounds(period)
    return Q(birth_date__gt=oldest, birth_date__lte=youngest)


# By township, village and household (a student without a household first), then name.
SCHOOL_AGE_ORDER = (
    F("township_code").asc(nulls_first=True), "village", "head_name", "name", "school_id", "grade", "id"
)


def school_age_keys(records, source):
    """The source's number and the key of each record, with the columns of SCHOOL_AGE_ORDER."""
    return (
        records.order_by()
        .annotate(
            source=Value(source, output_field=IntegerField()),
            key=F("pk"),
            township_code=F("household__township__code"),
            village=F("household__village"),
            head_name=F("household__head_name"),
        )
        .values_list("source", "key", "township_code", "village", "head_name", "name", "school_id", "grade", "id")
    )


def school_age_ledger(user, period):
    """适龄儿童台账: registered students of compulsory-education age, with status and teacher.
    The order is sorted on keys alone (of one source or two), and a slice's records are then
    read by key."""
    cutoff, _oldest, _youngest = school_age_bounds(period)
    sources = [records.filter(of_school_age(period)) for records in students_as_of_by_source(user, period)]
    keys = SortedUnion([school_age_keys(records, source) for source, records in enumerate(sources)], SCHOOL_AGE_ORDER)

    def fetch(rows):
        wanted = [[] for _records in sources]
        for source, key, *_order in rows:
            wanted[source].append(key)
        found = [records.model._base_manager.in_bulk(ids) for records, ids in zip(sources, wanted, strict=True)]
        return [found[source][key] for source, key, *_order in rows]

    def load(records):
        students = attach_schools_and_households(as_students(records))
        teachers = dict(
            Pairing.objects.filter(student_id__in=[s.pk for s in students], started_on__lte=period.ends_on)
            .exclude(ended_on__lt=period.ends_on)
            .values_list("student_id", "teacher__full_name")
        )
        for student in students:
            birthday_later = (cutoff.month, cutoff.day) < (student.birth_date.month, student.birth_date.day)
            student.age = cutoff.year - student.birth_date.year - birthday_later
            student.teacher_name = teachers.get(student.pk, "")
        return students

    return Entries(keys, fetch=fetch, load=load, count=lambda: sum(records.count() for records in sources))


@dataclass
class Suspect:
    student: object
    reasons: list


def suspect_reasons(period):
    """Why a student is a suspected dropout, as conditions on the student's record at the
    end of the period, in the order the ledger lists them."""
    open_cases = DropoutCase.objects.open_on(period.ends_on).values("student_id")
    return {
        "missing_from_roster": Q(id__in=missing_from_latest_snapshot(period)),
        "not_visited": Q(id__in=unvisited_high_risk(period)),
        "unexplained": Q(status__in=OUT_OF_SCHOOL) & ~Q(id__in=open_cases),
    }


def suspected_records(user, period):
    """The records of the suspected-dropout ledger, each annotated with its reasons (True or
    False), by township, school, grade and name.

    The students a reason may name are read first, a few thousand ids in one query (the
    union of three small sets), and the records looked up by those ids: tested against the
    reasons record by record, a county's every student would be read twice a page."""
    reasons = suspect_reasons(period)
    records = students_as_of(user, period)
    candidates = list(
        missing_from_latest_snapshot(period).values_list("student_id", flat=True).union(
            unvisited_high_risk(period).values_list("student_id", flat=True),
            records.filter(status__in=OUT_OF_SCHOOL).order_by().values_list("id", flat=True),
        )
    )
    return (
        records.filter(id__in=candidates)
        .annotate(**{name: ExpressionWrapper(condition, output_field=BooleanField()) for name, condition in reasons.items()})
        .filter(reduce(or_, (Q(**{name: True}) for name in reasons)))
        .order_by("school__region__code", "school__name", "grade", "name", "id")
    )


def suspected_dropout_ledger(user, period):
    """疑似辍学台账: students missing from the latest full roster comparison (not yet
    checked), high-risk students not visited for UNVISITED_DAYS, and students out of school
    with no open case to explain it."""

    def load(records):
        suspects = []
        for record, student in zip(records, attach_schools_and_households(as_students(records)), strict=True):
            found = []
            if record.missing_from_roster:
                found.append(_("missing from the latest full roster"))
            if record.not_visited:
                found.append(_("high dropout risk, not visited for %(days)s days") % {"days": UNVISITED_DAYS})
            if record.unexplained:
                found.append(
                    _("out of school (%(status)s) with no open case") % {"status": student.get_status_display()}
                )
            suspects.append(Suspect(student, found))
        return suspects

    return Entries(suspected_records(user, period), load=load)


def missing_from_latest_snapshot(period):
    """The students reported missing by a full snapshot applied before the period ended and
    not checked by then (student ids)."""
    as_of = period.as_of
    absences = SnapshotAbsence.objects.filter(
        roster_import__applied_at__lte=as_of,
        roster_import__state="applied",
    ).exclude(checked_at__lte=as_of)
    return absences.order_by().values("student_id")


def unvisited_high_risk(period):
    """The students whose latest home visit by the end of the period found a high dropout
    risk and was more than UNVISITED_DAYS before the period's last day (today for the month
    under way) (student ids)."""
    visits = HomeVisit.objects.filter(visited_on__lte=period.ends_on)
    threshold = period.as_of_day - datetime.timedelta(days=UNVISITED_DAYS)
    later = visits.filter(student_id=OuterRef("student_id"), visited_on__gt=OuterRef("visited_on"))
    return (
        visits.filter(dropout_risk=HomeVisit.Risk.HIGH, visited_on__lt=threshold)
        .exclude(Exists(later))
        .order_by()
        .values("student_id")
    )


def dropout_cases(user, period):
    """The cases of the dropout ledger, oldest first: every case open at some point in the
    period whose student was at a school of the user's when it opened. Annotated with
    `record_id`, the student's history row on that day. Without joins, so that the
    database counts and pages the cases alone."""
    when_opened = (
        Student.history.filter(id=OuterRef("student_id"), history_date__date__lte=OuterRef("opened_on"))
        .order_by("-history_date", "-history_id")
    )
    school_now = Student.objects.filter(pk=OuterRef("student_id")).values("school_id")
    schools = list(ledger_schools(user).values_list("pk", flat=True))
    return (
        DropoutCase.objects.filter(opened_on__lte=period.ends_on)
        .exclude(closed_on__lt=period.starts_on)
        .annotate(
            record_id=Subquery(when_opened.values("history_id")[:1]),
            # No history that old: the school it has now.
            school_when_opened=Coalesce(
                Subquery(when_opened.values("school_id")[:1]), Subquery(school_now), output_field=BigIntegerField()
            ),
        )
        .filter(school_when_opened__in=schools)
        .order_by("opened_on", "pk")
    )


def dropout_ledger(user, period):
    """辍学台账: every case open at some point in the period, with its persuasion record and,
    if it closed by the end of the period, how (动态销号). Each case's `record` is its student
    as on the day the case opened: the school and grade the student dropped out of, even if
    they have moved since; the case belongs to that school's ledger."""

    def load(cases):
        prefetch_related_objects(cases, "attempts", "responsibles")
        records = Student.history.in_bulk([case.record_id for case in cases if case.record_id], field_name="history_id")
        # No history that old: the student as they are now.
        students = Student.objects.in_bulk([case.student_id for case in cases if case.record_id not in records])
        for case in cases:
            case.record = records[case.record_id] if case.record_id in records else students[case.student_id]
            case.closed_in_period = case.closed_on is not None and case.closed_on <= period.ends_on
            case.attempts_in_period = [a for a in case.attempts.all() if a.attempted_on <= period.ends_on]
        attach_schools([case.record for case in cases])
        return cases

    return Entries(dropout_cases(user, period), load=load)
