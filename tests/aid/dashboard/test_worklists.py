"""Work lists on each role's home page: what waits for the user, counted, oldest first, each
item a link to its page, within the user's scope, in a fixed number of queries."""
import datetime
import io

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from aid.dropout.models import DropoutCase, PersuasionAttempt
from aid.subsidies import services as subsidies
from aid.subsidies.models import DisbursementBatch, SchoolConfirmation
from aid.supervision.models import Rectification
from demo import data as demo_data
from tests.aid.supervision.test_supervision import GridGroupFactory, GridLeaderFactory, InspectionFactory, RectificationFactory
from tests.factories import (
    AidProgramFactory,
    BureauAdminFactory,
    HomeVisitFactory,
    PairingFactory,
    SchoolAdminFactory,
    StudentFactory,
    TeacherFactory,
    ViewerFactory,
)

DAY = datetime.timedelta(days=1)
TODAY = "2026-11-20"  # the middle of the autumn term


def today():
    return timezone.localdate()


def worklists(client, url="home"):
    response = client.get(reverse(url))
    assert response.status_code == 200
    return {worklist.key: worklist for worklist in response.context["worklists"]}


def case_for(student, opened_days_ago, attempts_days_ago=()):
    case = DropoutCase.objects.create(
        student=student, kind=DropoutCase.Kind.DROPOUT, trigger=DropoutCase.Trigger.MANUAL,
        opened_on=today() - opened_days_ago * DAY,
    )
    for days_ago in attempts_days_ago:
        PersuasionAttempt.objects.create(
            case=case, attempted_on=today() - days_ago * DAY, persons="班主任", method="phone", outcome="未返校",
            recorded_by=BureauAdminFactory(),
        )
    return case


@pytest.fixture
def batch_program(county):
    program = AidProgramFactory(name="国家助学金")
    program.standards.create(stage="primary", amount="500.00")
    return program


def submitted_batch(county, program, preparer):
    batch = subsidies.batch_create(actor=preparer, program=program, term=county["term"], region=county["county"])
    for school_id in set(batch.lines.values_list("school_id", flat=True)):
        SchoolConfirmation.objects.create(batch=batch, school_id=school_id, confirmed_by=preparer)
    batch.refresh_from_db()
    return subsidies.batch_submit(actor=preparer, batch=batch, expected_version=batch.version)


@pytest.mark.today(TODAY)
class TestBureau:
    def test_the_approver_sees_what_waits_for_approval_and_the_preparer_does_not(self, client_for, county, batch_program):
        StudentFactory(school=county["primary"])
        preparer, approver = BureauAdminFactory(region=county["county"]), BureauAdminFactory(region=county["county"])
        batch = submitted_batch(county, batch_program, preparer)
        lists = worklists(client_for(approver))
        assert lists["approvals"].count == 1
        assert lists["approvals"].items[0].url == reverse("aid:batch_detail", args=[batch.pk])
        assert "approvals" not in worklists(client_for(preparer))

    def test_cases_without_persuasion_for_30_days_oldest_first(self, client_for, county):
        school = county["primary"]
        never = case_for(StudentFactory(school=school), opened_days_ago=40)
        long_ago = case_for(StudentFactory(school=school), opened_days_ago=90, attempts_days_ago=[60])
        case_for(StudentFactory(school=school), opened_days_ago=90, attempts_days_ago=[60, 5])  # tried lately
        case_for(StudentFactory(school=school), opened_days_ago=10)  # too new to be late
        case_for(StudentFactory(school=county["other"]), opened_days_ago=90)  # another county
        lists = worklists(client_for(BureauAdminFactory(region=county["county"])))
        assert lists["cases"].count == 2
        # the one left waiting longest (last tried 60 days ago) before the one opened 40 days ago
        assert [item.url for item in lists["cases"].items] == [long_ago.get_absolute_url(), never.get_absolute_url()]

    def test_schools_that_have_not_confirmed_a_draft_batch(self, client_for, county, batch_program):
        StudentFactory(school=county["primary"])
        StudentFactory(school=county["junior"], stage="primary", grade="P3")
        bureau = BureauAdminFactory(region=county["county"])
        batch = subsidies.batch_create(actor=bureau, program=batch_program, term=county["term"], region=county["county"])
        SchoolConfirmation.objects.create(batch=batch, school=county["junior"], confirmed_by=bureau)
        lists = worklists(client_for(bureau))
        assert lists["confirmations"].count == 1
        assert county["primary"].name in lists["confirmations"].items[0].text
        assert lists["confirmations"].items[0].url == reverse("aid:batch_detail", args=[batch.pk])

    def test_findings_open_longer_than_14_days(self, client_for, county, batch_program):
        bureau = BureauAdminFactory(region=county["county"])
        StudentFactory(school=county["primary"])
        batch = subsidies.batch_create(actor=bureau, program=batch_program, term=county["term"], region=county["county"])
        StudentFactory(school=county["primary"])  # enrolled after the batch: missed (漏发)
        assert "findings" not in worklists(client_for(bureau))  # the batch is new
        DisbursementBatch.objects.filter(pk=batch.pk).update(prepared_at=timezone.now() - 15 * DAY)
        lists = worklists(client_for(bureau))
        assert lists["findings"].count == 1
        assert f"program={batch_program.pk}" in lists["findings"].items[0].url

    def test_a_viewer_follows_what_is_late_in_its_region(self, client_for, county):
        case = case_for(StudentFactory(school=county["primary"]), opened_days_ago=40)
        lists = worklists(client_for(ViewerFactory(region=county["county"])))
        assert [item.url for item in lists["cases"].items] == [case.get_absolute_url()]
        assert "approvals" not in lists


@pytest.mark.today(TODAY)
class TestSchool:
    def test_lists_of_a_school_administrator(self, client_for, county, batch_program):
        school = county["primary"]
        admin = SchoolAdminFactory(school=school)
        bureau = BureauAdminFactory(region=county["county"])
        StudentFactory(school=school)
        batch = subsidies.batch_create(actor=bureau, program=batch_program, term=county["term"], region=county["county"])
        unpaired = StudentFactory(school=school, name="未结对")
        late = PairingFactory(student=StudentFactory(school=school))
        HomeVisitFactory(student=late.student, author=late.teacher, visited_on=today() - 20 * DAY,
                         next_visit_on=today() - 3 * DAY)
        on_time = PairingFactory(student=StudentFactory(school=school))
        HomeVisitFactory(student=on_time.student, author=on_time.teacher, visited_on=today() - 20 * DAY,
                         next_visit_on=today() + 3 * DAY)
        grid = GridGroupFactory(region=county["county"], townships=[county["town"]])
        inspection = InspectionFactory(grid=grid, school=school, inspected_on=today() - 40 * DAY)
        overdue = RectificationFactory(inspection=inspection, deadline=today() - DAY)
        soon = RectificationFactory(inspection=inspection, deadline=today() + 7 * DAY)
        RectificationFactory(inspection=inspection, deadline=today() + 8 * DAY)  # not yet
        RectificationFactory(inspection=inspection, deadline=today() - DAY, status=Rectification.Status.REPORTED)

        lists = worklists(client_for(admin))
        assert lists["confirmations"].items[0].url == reverse("aid:batch_detail", args=[batch.pk])
        assert [item.url for item in lists["rectifications"].items] == [
            reverse("aid:rectification_update", args=[overdue.pk]), reverse("aid:rectification_update", args=[soon.pk]),
        ]
        # the batch's students are paired or not: the one made unpaired is listed with the others
        assert reverse("aid:pairing_assign", args=[unpaired.pk]) in [item.url for item in lists["unpaired"].items]
        assert lists["teachers"].count == 1
        assert late.teacher.username in lists["teachers"].items[0].url

    def test_nothing_of_another_school(self, client_for, county):
        other = PairingFactory(student=StudentFactory(school=county["junior"]))
        HomeVisitFactory(student=other.student, author=other.teacher, visited_on=today() - 20 * DAY,
                         next_visit_on=today() - 3 * DAY)
        StudentFactory(school=county["junior"])
        case_for(StudentFactory(school=county["junior"]), opened_days_ago=40)
        assert worklists(client_for(SchoolAdminFactory(school=county["primary"]))) == {}


@pytest.mark.today(TODAY)
class TestTeacher:
    def test_students_due_and_next_visit_dates_passed(self, client_for, county):
        teacher = TeacherFactory(school=county["primary"])
        never = PairingFactory(teacher=teacher, student=StudentFactory(school=county["primary"], name="从未家访"))
        passed = PairingFactory(teacher=teacher, student=StudentFactory(school=county["primary"], name="逾期"))
        visit = HomeVisitFactory(student=passed.student, author=teacher, visited_on=today() - 30 * DAY,
                                 next_visit_on=today() - 2 * DAY)
        someone_elses = PairingFactory(student=StudentFactory(school=county["primary"]))
        HomeVisitFactory(student=someone_elses.student, author=someone_elses.teacher,
                         visited_on=today() - 30 * DAY, next_visit_on=today() - 2 * DAY)
        lists = worklists(client_for(teacher), "aid:my_students")
        assert [item.url for item in lists["due"].items] == [reverse("aid:visit_create", args=[never.student.pk])]
        assert [item.url for item in lists["next_visits"].items] == [
            reverse("aid:visit_create", args=[visit.student_id])
        ]

    def test_a_later_visit_settles_the_passed_date(self, client_for, county):
        teacher = TeacherFactory(school=county["primary"])
        pairing = PairingFactory(teacher=teacher, student=StudentFactory(school=county["primary"]))
        HomeVisitFactory(student=pairing.student, author=teacher, visited_on=today() - 30 * DAY,
                         next_visit_on=today() - 20 * DAY)
        HomeVisitFactory(student=pairing.student, author=teacher, visited_on=today() - 10 * DAY)
        assert worklists(client_for(teacher), "aid:my_students") == {}


@pytest.mark.today(TODAY)
def test_grid_leader_sees_schools_to_inspect_and_reports_to_check(client_for, county):
    leader = GridLeaderFactory(region=county["county"])
    grid = GridGroupFactory(region=county["county"], leader=leader, townships=[county["town"]])
    inspection = InspectionFactory(grid=grid, school=county["primary"], inspected_on=today() - 10 * DAY)
    reported = RectificationFactory(inspection=inspection, status=Rectification.Status.REPORTED,
                                    reported_at=timezone.now())
    RectificationFactory(inspection=inspection)  # still with the school
    lists = worklists(client_for(leader))
    # the junior school of its township was not inspected this term; the primary was
    assert [item.url for item in lists["inspections"].items] == [
        f"{reverse('aid:inspection_create')}?school={county['junior'].pk}"
    ]
    assert [item.url for item in lists["checks"].items] == [reverse("aid:rectification_update", args=[reported.pk])]


@pytest.mark.today(TODAY)
def test_the_home_page_takes_a_fixed_number_of_queries(client_for, county, batch_program):
    """As many queries with one late record of each kind as with fifteen."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    school = county["primary"]
    bureau, school_admin = BureauAdminFactory(region=county["county"]), SchoolAdminFactory(school=school)

    def add_late_records(count):
        for _n in range(count):
            pairing = PairingFactory(student=StudentFactory(school=school))
            HomeVisitFactory(student=pairing.student, author=pairing.teacher, visited_on=today() - 20 * DAY,
                             next_visit_on=today() - DAY)
            StudentFactory(school=school)
            case_for(StudentFactory(school=school), opened_days_ago=40)

    def queries_of_home_pages():
        counts = []
        for user in (bureau, school_admin):
            client = client_for(user)
            client.get(reverse("home"))  # the session is warm
            with CaptureQueriesContext(connection) as queries:
                response = client.get(reverse("home"))
            assert response.context["worklists"]
            counts.append(len(queries))
        return counts

    add_late_records(1)
    submitted_batch(county, batch_program, BureauAdminFactory(region=county["county"]))
    draft_program = AidProgramFactory()
    draft_program.standards.create(stage="primary", amount="200.00")
    subsidies.batch_create(actor=bureau, program=draft_program, term=county["term"], region=county["county"])
    few = queries_of_home_pages()
    add_late_records(14)
    assert queries_of_home_pages() == few
    assert max(few) <= 45  # the whole dashboard with its work lists


@pytest.mark.django_db
def test_every_demo_login_has_something_to_do(monkeypatch):
    """The README's demo logins, each on its home page (a teacher's is their students)."""
    monkeypatch.setenv("DEMO_PASSWORD", "demo-pass-2020")
    call_command("seed_demo", students=300, seed=3, stdout=io.StringIO())
    logins = [username for username, *_rest in demo_data.DEMO_USERS] + list(demo_data.CASEWORK_LOGINS)
    for username in logins:
        client = Client()
        signed_in = client.post(reverse("login"), {"username": username, "password": "demo-pass-2020"})
        assert signed_in.status_code == 302, username  # through the login page, as a person signs in
        response = client.get(reverse("home"), follow=True)
        items = [item for worklist in response.context["worklists"] for item in worklist.items]
        assert items, f"{username} has nothing on its work list"
        assert client.get(items[0].url).status_code == 200, (username, items[0].url)


@pytest.mark.today(TODAY)
def test_a_list_counts_all_its_rows_and_shows_the_oldest_five(client_for, county):
    """The count is of the whole selection, with only SHOWN rows made: for a list of
    students and for a list of teachers grouped from their pairings."""
    from aid.dashboard.worklists import SHOWN

    school = county["primary"]
    unpaired = [StudentFactory(school=school) for _n in range(SHOWN + 2)]
    late = [
        PairingFactory(student=StudentFactory(school=school), teacher=TeacherFactory(school=school))
        for _n in range(SHOWN + 1)
    ]
    for days, pairing in enumerate(late, start=1):
        HomeVisitFactory(student=pairing.student, author=pairing.teacher, visited_on=today() - 30 * DAY,
                         next_visit_on=today() - days * DAY)

    lists = worklists(client_for(SchoolAdminFactory(school=school)))

    assert lists["unpaired"].count == SHOWN + 2 and len(lists["unpaired"].items) == SHOWN
    assert {item.url for item in lists["unpaired"].items} <= {
        reverse("aid:pairing_assign", args=[student.pk]) for student in unpaired
    }
    assert lists["teachers"].count == SHOWN + 1 and len(lists["teachers"].items) == SHOWN
    oldest_first = [pairing.teacher.username for pairing in reversed(late)][:SHOWN]
    assert [item.url.rsplit("=", 1)[1] for item in lists["teachers"].items] == oldest_first


def test_a_list_refuses_a_selection_with_distinct(county):
    """DISTINCT comes after the window that counts the rows: such a count would be wrong."""
    from aid.dashboard.worklists import listed
    from students.models import Student

    with pytest.raises(ValueError):
        listed("students", "学生", Student.objects.distinct(), lambda student: student)
