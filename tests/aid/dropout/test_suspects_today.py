"""Suspected dropouts of the month under way count "not visited for 60 days" back from today."""
import datetime

import pytest

from aid.dropout.ledgers import Period, suspected_dropout_ledger
from students.models import Student
from tests.factories import BureauAdminFactory, HomeVisitFactory, StudentFactory
from tests.history import rewrite_history

pytestmark = [pytest.mark.django_db, pytest.mark.today("2026-11-10")]
TODAY = datetime.date(2026, 11, 10)


def test_only_students_unvisited_for_60_days_until_today(school):
    admin = BureauAdminFactory()
    days_since_last_visit = {StudentFactory(school=school).pk: days for days in (20, 31, 45, 59, 60, 61, 90)}
    for student_id, days in days_since_last_visit.items():
        HomeVisitFactory(student_id=student_id, visited_on=TODAY - datetime.timedelta(days=days), dropout_risk="high")
    # By hand: more than 60 days ago means 61 and 90 (counting from the month's end would add 45 to 60).
    expected = {student_id for student_id, days in days_since_last_visit.items() if days > 60}
    suspects = suspected_dropout_ledger(admin, Period.current_month())
    assert {suspect.student.pk for suspect in suspects} == expected


def test_a_past_month_counts_from_its_last_day(school):
    admin = BureauAdminFactory()
    student = StudentFactory(school=school)
    rewrite_history(Student.history, history_date=datetime.datetime(2026, 8, 1, tzinfo=datetime.timezone.utc))
    HomeVisitFactory(student=student, visited_on=datetime.date(2026, 8, 20), dropout_risk="high")  # 72 days to 31 Oct
    assert [s.student.pk for s in suspected_dropout_ledger(admin, Period.parse("2026-10"))] == [student.pk]
    assert list(suspected_dropout_ledger(admin, Period.parse("2026-09"))) == []  # 41 days to 30 September
