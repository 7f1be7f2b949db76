"""漏发 across scopes: a student is missed only where a batch of the program and term covers
him (the schools of the batch's region), and lines the user cannot see still count."""
from decimal import Decimal

import pytest

from aid.reference.models import ProgramStandard
from aid.subsidies import services as d
from aid.subsidies.precision import precision_report
from students import services
from students.choices import RegionLevel
from tests.factories import (
    AidProgramFactory,
    BureauAdminFactory,
    RegionFactory,
    SchoolAdminFactory,
    SchoolFactory,
    StudentFactory,
    TownshipFactory,
    ViewerFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def program():
    program = AidProgramFactory(name="交通补助", stages=["primary"])
    ProgramStandard.objects.create(program=program, stage="primary", amount=Decimal("200.00"))
    return program


@pytest.fixture
def story(county, program):
    """Lanling: 向城镇 (primary A and B) and 二镇 (primary C); Feixian (its school). Lanling's
    bureau made a batch for 向城镇 only; Feixian made none."""
    lanling, feixian = county["county"], county["other_county"]
    a = county["primary"]
    b = SchoolFactory(region=county["town"], name="兰陵县向城镇第二小学")
    c = SchoolFactory(region=TownshipFactory(parent=lanling, name="二镇"))
    bureau = BureauAdminFactory(region=lanling)
    students = {
        "a": StudentFactory(school=a), "b": StudentFactory(school=b),
        "c": StudentFactory(school=c), "feixian": StudentFactory(school=county["other"]),
    }
    d.batch_create(actor=bureau, program=program, term=county["term"], region=county["town"])
    students["late"] = StudentFactory(school=a)  # registered after the batch: missed
    return {
        "schools": {"a": a, "b": b, "c": c},
        "students": students,
        "bureau": bureau,
        "feixian": BureauAdminFactory(region=feixian),
        "city": ViewerFactory(region=RegionFactory(code="3713", name="临沂市", level=RegionLevel.CITY)),
        "term": county["term"],
    }


def missed(user, program, story):
    return {finding.student.pk for finding in precision_report(user, program, story["term"]).findings["missed"]}


def test_a_student_paid_at_his_old_school_is_not_missed_at_the_new_one(story, program):
    mover = story["students"]["a"]
    mover.school = story["schools"]["b"]
    services.student_save(actor=story["bureau"], student=mover)  # his line stays at school A
    school_b = SchoolAdminFactory(school=story["schools"]["b"])
    school_a = SchoolAdminFactory(school=story["schools"]["a"])
    assert missed(school_b, program, story) == set()
    assert missed(school_a, program, story) == {story["students"]["late"].pk}


def test_a_township_batch_covers_only_its_township(story, program):
    # By hand: of 向城镇's eligible students only `late` has no line; 二镇 has no batch.
    assert missed(story["bureau"], program, story) == {story["students"]["late"].pk}


def test_a_county_without_a_batch_misses_nobody(story, program):
    assert missed(story["feixian"], program, story) == set()


def test_a_city_counts_the_sum_of_its_counties(story, program):
    term = story["term"]
    counties = [precision_report(user, program, term).open_count() for user in (story["bureau"], story["feixian"])]
    assert precision_report(story["city"], program, term).open_count() == sum(counties) == 1
