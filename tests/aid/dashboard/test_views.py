"""The dashboards: every figure against a value computed here, by hand, on the demo county."""
import io
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from aid.casework.models import ExchangeActivity, HomeVisit, Pairing, SchoolPairing
from aid.dropout.models import DropoutCase
from aid.reference.models import Term
from aid.subsidies.models import DisbursementLine
from aid.supervision.models import Rectification
from jobs import services as jobs
from jobs.models import Job
from students.models import Student, User

pytestmark = pytest.mark.django_db


@pytest.fixture
def county():
    call_command("seed_demo", students=400, seed=3, stdout=io.StringIO())
    return {name: User.objects.get(username=name) for name in ("bureau", "school1", "city", "grid")}


def expected_for(user):
    """The dashboard's figures, computed from plain objects with Python loops."""
    today = timezone.localdate()
    term = Term.objects.current(today)
    students = [s for s in Student.objects.visible_to(user) if s.left_roster_on is None]
    ids = {s.pk for s in students}
    paired = {p.student_id for p in Pairing.objects.all() if p.ended_on is None}
    visited = {
        v.student_id for v in HomeVisit.objects.all() if term.starts_on <= v.visited_on <= term.ends_on
    }
    lines = [
        line for line in DisbursementLine.objects.all()
        if line.term_id == term.pk and line.status != "removed" and line.student_id in {s.pk for s in Student.objects.visible_to(user)}
    ]
    cases = [c for c in DropoutCase.objects.all() if c.closed_on is None and c.student_id in {s.pk for s in Student.objects.visible_to(user)}]
    visible_schools = {s.school_id for s in Student.objects.visible_to(user)} | set(
        user.school_id and [user.school_id] or []
    )
    from students.models import School

    visible_schools = set(School.objects.visible_to(user).values_list("pk", flat=True))
    overdue = [
        r for r in Rectification.objects.all()
        if r.status != "closed" and r.deadline < today and r.school_id in visible_schools
    ]
    idle = 0
    for pairing in SchoolPairing.objects.prefetch_related("supported_schools"):
        touches = {pairing.lead_school_id} | {s.pk for s in pairing.supported_schools.all()}
        if pairing.ended_on is None and touches & visible_schools:
            held = [
                a for a in ExchangeActivity.objects.filter(pairing=pairing)
                if term.starts_on <= a.held_on <= term.ends_on
            ]
            idle += not held
    return {
        "total": len(students),
        "in_school": sum(s.status in ("enrolled", "home_taught") for s in students),
        "paired": len(ids & paired),
        "visited": len(ids & visited),
        "planned": sum((line.amount for line in lines), Decimal("0")),
        "paid": sum((line.amount for line in lines if line.status == "paid"), Decimal("0")),
        "open_cases": len(cases),
        "overdue": len(overdue),
        "idle": idle,
    }


@pytest.mark.parametrize("username", ["bureau", "school1", "city", "grid"])
def test_every_figure_matches_an_independent_count(client_for, county, username):
    user = county[username]
    board = client_for(user).get(reverse("home")).context["board"]
    expected = expected_for(user)
    assert board.total == expected["total"]
    assert board.in_school == expected["in_school"]
    assert board.paired == expected["paired"]
    assert board.visited == expected["visited"]
    assert board.planned_total == expected["planned"]
    assert board.paid_total == expected["paid"]
    assert board.open_cases == expected["open_cases"]
    assert board.overdue_rectifications == expected["overdue"]
    assert board.idle_school_pairings == expected["idle"]
    assert sum(row.total for row in board.stages) == expected["total"]


def test_the_demo_has_something_to_show(county):
    """Guard against a seed that silently stops producing casework."""
    expected = expected_for(county["bureau"])
    assert expected["paired"] > 0 and expected["visited"] > 0 and expected["open_cases"] > 0
    assert expected["planned"] > 0 and expected["overdue"] > 0


def test_fixed_number_of_queries_whatever_the_size(client_for, django_assert_max_num_queries):
    """The same queries for 150 and 450 students, but for the four that the precision
    checks make only when some paid line's record has changed since its payment (those
    lines, the history of their students and households, and how many of them the tally
    of 错发 holds)."""
    counts = []
    for students in (150, 450):
        call_command("seed_demo", "--reset", students=students, seed=5, stdout=io.StringIO())
        client = client_for(User.objects.get(username="bureau"))
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as queries:
            client.get(reverse("home"))
        counts.append(len(queries.captured_queries))
    assert abs(counts[0] - counts[1]) in (0, 4)


def test_every_chart_number_links_to_its_list(client_for, county):
    response = client_for(county["bureau"]).get(reverse("home"))
    charts = {chart["id"]: chart for chart in response.context["charts"]}
    client = client_for(county["bureau"])
    for label, cells in charts["chart-students"]["rows"]:
        for value, url in cells:
            assert client.get(url).context["page_obj"].paginator.count == value, (label, url)


def test_county_summary_is_made_by_the_worker_with_one_sheet_per_topic(client_for, county, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    client = client_for(county["bureau"])
    response = client.get(reverse("aid:summary_export"))
    job = Job.objects.get()
    assert response.status_code == 302 and response["Location"] == job.get_absolute_url()
    jobs.run_in_worker(job.pk)
    download = client.get(reverse("jobs:job_file", args=[job.pk]))
    assert download["Content-Disposition"].startswith("attachment")
    workbook = load_workbook(io.BytesIO(b"".join(download.streaming_content)))
    assert workbook.sheetnames == ["学生分布", "结对帮扶", "家访", "资助发放", "控辍保学", "督导检查"]
    expected = expected_for(county["bureau"])
    students = workbook["学生分布"]
    assert students.cell(students.max_row, students.max_column).value == expected["total"]
    money = workbook["资助发放"]
    assert Decimal(str(money.cell(money.max_row, 3).value)) == expected["planned"]


def test_teachers_start_from_their_students(client_for, county):
    teacher = User.objects.get(username="teacher")
    response = client_for(teacher).get(reverse("home"))
    assert response.status_code == 302 and response["Location"] == reverse("aid:my_students")
