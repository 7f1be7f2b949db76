"""The dropout-control ledgers, as the records stood at the end of a month or quarter."""
import datetime

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from aid.dropout import exports as ledger_exports
from aid.dropout import services as dropout
from aid.dropout.ledgers import (
    Period,
    dropout_ledger,
    school_age_ledger,
    suspected_dropout_ledger,
)
from aid.dropout.models import DropoutCase
from students import services
from students.models import Student
from tests.factories import (
    BureauAdminFactory,
    HomeVisitFactory,
    StudentFactory,
    id_number_for,
)
from tests.history import rewrite_history

pytestmark = pytest.mark.django_db
UTC = datetime.timezone.utc


def test_periods():
    assert Period.parse("2026-11") == Period("2026-11", datetime.date(2026, 11, 1), datetime.date(2026, 11, 30))
    assert Period.parse("2026-q1") == Period("2026-Q1", datetime.date(2026, 1, 1), datetime.date(2026, 3, 31))
    with pytest.raises(ValidationError):
        Period.parse("2026-13")


def backdate(student, when):
    rewrite_history(Student.history.filter(id=student.pk), history_date=when)


def born_on(school, birth_date):
    return StudentFactory(school=school, id_number=id_number_for(0, birth_date=birth_date))


def test_school_age_ledger_by_age_on_31_august(school):
    admin = BureauAdminFactory()
    today = timezone.localdate()
    school_year = today.year if today.month >= 9 else today.year - 1  # its 31 August is the cut-off
    six = born_on(school, datetime.date(school_year - 6, 8, 31))
    born_on(school, datetime.date(school_year - 6, 9, 1))  # 5 on the cut-off day
    fifteen = born_on(school, datetime.date(school_year - 16, 9, 1))
    born_on(school, datetime.date(school_year - 16, 8, 31))  # 16 on the cut-off day
    records = school_age_ledger(admin, Period.current_month())
    assert {r.pk: r.age for r in records} == {six.pk: 6, fifteen.pk: 15}


@pytest.mark.today("2026-11-28")
def test_ledgers_describe_the_past_as_it_was(school):
    admin = BureauAdminFactory()
    student = StudentFactory(school=school)
    backdate(student, datetime.datetime(2026, 9, 1, tzinfo=UTC))
    student.status = "dropped_out"
    services.student_save(actor=admin, student=student)  # today: a case opens
    case = DropoutCase.objects.get()
    DropoutCase.objects.filter(pk=case.pk).update(opened_on=datetime.date(2026, 11, 2))
    rewrite_history(Student.history.filter(id=student.pk, history_type="~"), history_date=datetime.datetime(2026, 11, 2, tzinfo=UTC))

    october = Period.parse("2026-10")
    november = Period.parse("2026-11")
    assert list(dropout_ledger(admin, october)) == []
    assert [c.pk for c in dropout_ledger(admin, november)] == [case.pk]
    # In October the student was still enrolled: not suspected then.
    assert list(suspected_dropout_ledger(admin, october)) == []


def test_suspected_dropouts(school):
    admin = BureauAdminFactory()
    risky = StudentFactory(school=school)
    long_ago = timezone.localdate() - datetime.timedelta(days=70)
    HomeVisitFactory(student=risky, visited_on=long_ago, dropout_risk="high")
    unexplained = StudentFactory(school=school, status="suspended")
    StudentFactory(school=school)  # fine
    suspects = {s.student.pk: s.reasons for s in suspected_dropout_ledger(admin, Period.current_month())}
    assert set(suspects) == {risky.pk, unexplained.pk}


def test_closed_case_is_struck_off_in_its_period(school):
    admin = BureauAdminFactory()
    student = StudentFactory(school=school)
    student.status = "dropped_out"
    services.student_save(actor=admin, student=student)
    case = DropoutCase.objects.get()
    dropout.case_close(actor=admin, case=case, outcome="returned")
    [entry] = dropout_ledger(admin, Period.current_month())
    assert entry.closed_in_period and entry.outcome == "returned"


@pytest.mark.today("2026-11-28")
def test_dropout_ledger_shows_the_school_and_grade_the_student_dropped_out_of(school, other_school):
    admin = BureauAdminFactory()
    student = StudentFactory(school=school, stage="junior", grade="J1")
    student.status = "dropped_out"
    services.student_save(actor=admin, student=student)  # a case opens
    case = DropoutCase.objects.get()
    DropoutCase.objects.filter(pk=case.pk).update(opened_on=datetime.date(2026, 10, 10))
    backdate(student, datetime.datetime(2026, 10, 10, 1, tzinfo=UTC))
    student.refresh_from_db()
    student.school, student.grade, student.status = other_school, "J2", "enrolled"  # moved since
    services.student_save(actor=admin, student=student)

    [entry] = dropout_ledger(admin, Period.parse("2026-10"))
    columns, [row] = ledger_exports.dropout_rows(admin, Period.parse("2026-10"), datetime.date(2026, 11, 28))

    assert (entry.record.school, entry.record.grade) == (school, "J1")
    assert (row[2], row[3], row[6]) == (school.name, student.name, "七年级（初一）")
