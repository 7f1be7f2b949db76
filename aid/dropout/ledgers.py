"""The three dropout-control ledgers (控辍保学台账), as they stood at the end of a period.

Schools report monthly and the county quarterly. A ledger for a past period is built from
the records as they were then: students from their history, cases from their dates. Its
scope is the user's schools, applied to the school each record had then: a pupil who moved
from school A to school B this week stays in A's November ledger and is not in B's, and a
case stays with the school the student dropped out of.
"""
import calendar
import datetime
import re
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db.models import BigIntegerField, Exists, F, Max, OuterRef, Subquery
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
    def as_of_day(self):
        """The day the ledger describes: the last of the period, or today if it is not over."""
        return min(self.ends_on, timezone.localdate())


def ledger_schools(user):
    """The schools whose records a ledger lists: the user's schools, matched against the
    school each record had at the time (not the student's school today)."""
    return School.objects.visible_to(user).values("pk")


def students_as_of(user, period):
    """The students of the user's schools as their records stood at the end of the period,
    on the roster then."""
    records = Student.history.as_of(period.as_of).filter(
        school_id__in=ledger_schools(user), left_roster_on__isnull=True
    )
    records = list(records.order_by("school_id", "grade", "name"))
    households = Household.objects.select_related("township").in_bulk({r.household_id for r in records if r.household_id})
    schools = {s.pk: s for s in _schools(records)}
    for record in records:
        record.household = households.get(record.household_id)
        record.school = schools[record.school_id]
    return records


def _schools(records):
    return School.objects.filter(pk__in={r.school_id for r in records}).select_related("region")


def school_age_ledger(user, period):
    """适龄儿童台账: registered students of compulsory-education age, with status and teacher."""
    year = period.ends_on.year if period.ends_on.month >= 9 else period.ends_on.year - 1
    cutoff = datetime.date(year, 8, 31)
    youngest = cutoff.replace(year=cutoff.year - SCHOOL_AGE[0])
    oldest = cutoff.replace(year=cutoff.year - SCHOOL_AGE[1] - 1)
    records = [r for r in students_as_of(user, period) if oldest < r.birth_date <= youngest]
    teachers = dict(
        Pairing.objects.filter(student_id__in=[r.pk for r in records], started_on__lte=period.ends_on)
        .exclude(ended_on__lt=period.ends_on)
        .values_list("student_id", "teacher__full_name")
    )
    for record in records:
        birthday_later = (cutoff.month, cutoff.day) < (record.birth_date.month, record.birth_date.day)
        record.age = cutoff.year - record.birth_date.year - birthday_later
        record.teacher_name = teachers.get(record.pk, "")
    return records


@dataclass
class Suspect:
    student: object
    reasons: list


def suspected_dropout_ledger(user, period):
    """疑似辍学台账: students missing from the latest full roster comparison (not yet
    checked), high-risk students not visited for UNVISITED_DAYS, and students out of school
    with no open case to explain it."""
    records = {r.pk: r for r in students_as_of(user, period)}
    ids = list(records)
    reasons = {}

    def flag(student_id, reason):
        if student_id in records:
            reasons.setdefault(student_id, []).append(reason)

    for student_id in missing_from_latest_snapshot(ids, period):
        flag(student_id, _("missing from the latest full roster"))
    for student_id in unvisited_high_risk(ids, period):
        flag(student_id, _("high dropout risk, not visited for %(days)s days") % {"days": UNVISITED_DAYS})
    open_cases = set(
        DropoutCase.objects.open_on(period.ends_on).filter(student_id__in=ids).values_list("student_id", flat=True)
    )
    for record in records.values():
        if record.status in OUT_OF_SCHOOL and record.pk not in open_cases:
            flag(record.pk, _("out of school (%(status)s) with no open case") % {"status": record.get_status_display()})
    return [Suspect(records[student_id], found) for student_id, found in reasons.items()]


def missing_from_latest_snapshot(student_ids, period):
    """Students reported missing by a full snapshot applied before the period ended and
    not checked by then."""
    absences = SnapshotAbsence.objects.filter(
        student_id__in=student_ids,
        roster_import__applied_at__lte=period.as_of,
        roster_import__state="applied",
    ).exclude(checked_at__lte=period.as_of)
    return set(absences.values_list("student_id", flat=True))


def unvisited_high_risk(student_ids, period):
    visits = HomeVisit.objects.filter(student_id__in=student_ids, visited_on__lte=period.ends_on)
    latest = visits.values("student_id").annotate(last=Max("visited_on"))
    last_visit = {row["student_id"]: row["last"] for row in latest}
    high = visits.filter(dropout_risk=HomeVisit.Risk.HIGH).filter(
        ~Exists(visits.filter(student_id=OuterRef("student_id"), visited_on__gt=OuterRef("visited_on")))
    )
    threshold = period.as_of_day - datetime.timedelta(days=UNVISITED_DAYS)
    return {
        student_id
        for student_id in high.values_list("student_id", flat=True)
        if last_visit[student_id] < threshold
    }


def dropout_ledger(user, period):
    """辍学台账: every case open at some point in the period, with its persuasion record and,
    if it closed by the end of the period, how (动态销号). Each case's `record` is its student
    as on the day the case opened: the school and grade the student dropped out of, even if
    they have moved since; the case belongs to that school's ledger."""
    when_opened = (
        Student.history.filter(id=OuterRef("student_id"), history_date__date__lte=OuterRef("opened_on"))
        .order_by("-history_date", "-history_id")
    )
    cases = list(
        DropoutCase.objects.filter(opened_on__lte=period.ends_on)
        .exclude(closed_on__lt=period.starts_on)
        .annotate(
            record_id=Subquery(when_opened.values("history_id")[:1]),
            # No history that old: the school it has now.
            school_when_opened=Coalesce(
                Subquery(when_opened.values("school_id")[:1]), F("student__school_id"), output_field=BigIntegerField()
            ),
        )
        .filter(school_when_opened__in=ledger_schools(user))
        .select_related("student__school__region", "student__household", "closed_by")
        .prefetch_related("attempts", "responsibles")
        .order_by("opened_on", "pk")
    )
    records = Student.history.select_related("school__region").in_bulk(
        [case.record_id for case in cases if case.record_id], field_name="history_id"
    )
    for case in cases:
        case.record = records.get(case.record_id, case.student)  # no history that old: as it is now
        case.closed_in_period = case.closed_on is not None and case.closed_on <= period.ends_on
        case.attempts_in_period = [a for a in case.attempts.all() if a.attempted_on <= period.ends_on]
    return cases
