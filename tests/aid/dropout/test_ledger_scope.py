"""A period's ledger lists what the role's schools had in that period, for every role:
records are scoped by the school they had then, not by the student's school today."""
import datetime

import pytest

from aid.dropout import services as dropout
from aid.dropout.ledgers import Period, dropout_ledger, school_age_ledger, suspected_dropout_ledger
from aid.dropout.models import DropoutCase
from aid.supervision.models import GridGroup
from students import services
from students.choices import Role
from students.models import Student
from tests.factories import (
    BureauAdminFactory,
    SchoolAdminFactory,
    SchoolFactory,
    StudentFactory,
    TownshipFactory,
    UserFactory,
)
from tests.history import rewrite_history

pytestmark = [pytest.mark.django_db, pytest.mark.today("2026-12-10")]
UTC = datetime.timezone.utc
NOVEMBER = Period.parse("2026-11")
OCTOBER = Period.parse("2026-10")


@pytest.fixture
def story():
    """School A (in the grid's township) and school B (another township). `mover` was at A
    all autumn and moved to B this week; `dropout` dropped out of A on 10 October, returned
    on 5 November at B. `stayer` is at B all along."""
    town_a, town_b = TownshipFactory(), TownshipFactory()
    a, b = SchoolFactory(region=town_a), SchoolFactory(region=town_b)
    bureau = BureauAdminFactory()
    grid_leader = UserFactory(role=Role.GRID_LEADER, region=town_a.parent)
    GridGroup.objects.create(name="第一网格组", region=town_a.parent, leader=grid_leader).townships.set([town_a])
    mover, dropout_student, stayer = (StudentFactory(school=a), StudentFactory(school=a), StudentFactory(school=b))
    rewrite_history(Student.history, history_date=datetime.datetime(2026, 9, 1, tzinfo=UTC))

    dropout_student.status = "dropped_out"
    services.student_save(actor=bureau, student=dropout_student)  # a case opens
    case = DropoutCase.objects.get()
    DropoutCase.objects.filter(pk=case.pk).update(opened_on=datetime.date(2026, 10, 10))
    rewrite_history(Student.history.filter(id=dropout_student.pk, history_type="~"),
        history_date=datetime.datetime(2026, 10, 10, 2, tzinfo=UTC)
    )
    case.refresh_from_db()
    dropout.case_close(actor=bureau, case=case, outcome="returned", closed_on=datetime.date(2026, 11, 5), return_school=b)
    rewrite_history(Student.history.filter(id=dropout_student.pk, school_id=b.pk),
        history_date=datetime.datetime(2026, 11, 5, 2, tzinfo=UTC)
    )

    mover.refresh_from_db()
    mover.school = b
    services.student_save(actor=bureau, student=mover)  # this week (10 December)
    return {
        "a": a, "b": b, "bureau": bureau, "grid": grid_leader, "case": case,
        "admin_a": SchoolAdminFactory(school=a), "admin_b": SchoolAdminFactory(school=b),
        "mover": mover, "dropout": dropout_student, "stayer": stayer,
    }


def listed(records):
    return {record.pk: record.school.name for record in records}


def test_a_past_month_school_age_ledger_has_each_school_as_it_was(story):
    a, b = story["a"].name, story["b"].name
    mover, dropout_student, stayer = story["mover"].pk, story["dropout"].pk, story["stayer"].pk
    # By hand: in November the mover was at A; the returned dropout was at B from 5 November.
    assert listed(school_age_ledger(story["admin_a"], NOVEMBER)) == {mover: a}
    assert listed(school_age_ledger(story["admin_b"], NOVEMBER)) == {dropout_student: b, stayer: b}
    assert listed(school_age_ledger(story["grid"], NOVEMBER)) == {mover: a}
    assert listed(school_age_ledger(story["bureau"], NOVEMBER)) == {mover: a, dropout_student: b, stayer: b}
    # This month the mover is at B.
    assert listed(school_age_ledger(story["admin_b"], Period.parse("2026-12"))) == {
        mover: b, dropout_student: b, stayer: b
    }


def test_the_suspected_dropout_ledger_of_a_past_month_follows_the_same_schools(story):
    # In October the dropout was out of school at A, with an open case: not a suspect.
    assert list(suspected_dropout_ledger(story["admin_a"], OCTOBER)) == []
    assert list(suspected_dropout_ledger(story["admin_b"], OCTOBER)) == []


def test_a_case_stays_in_the_ledger_of_the_school_the_student_dropped_out_of(story):
    case = story["case"].pk
    assert [c.pk for c in dropout_ledger(story["grid"], OCTOBER)] == [case]
    assert [c.pk for c in dropout_ledger(story["admin_a"], NOVEMBER)] == [case]
    assert list(dropout_ledger(story["admin_b"], NOVEMBER)) == []
    assert [c.pk for c in dropout_ledger(story["bureau"], NOVEMBER)] == [case]
    [entry] = dropout_ledger(story["grid"], NOVEMBER)
    assert entry.record.school == story["a"] and entry.closed_in_period
