"""seed_demo builds a valid demo county with a login per role, and never builds it twice."""
import datetime
import io

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.models import Count, Max, Min

from aid.casework.models import ExchangeActivity, HomeVisit, Pairing
from aid.dropout.models import DropoutCase, PersuasionAttempt
from aid.reference.models import Term
from aid.subsidies.models import DisbursementBatch, DisbursementLine
from aid.supervision.models import Inspection, Rectification, SchoolProject
from students import idnumber
from students.choices import Role, stage_of_grade
from students.models import Student, User
from tests.dates import term_dates

pytestmark = pytest.mark.django_db

STUDENTS = 300
DEMO_USERS = {
    "bureau": (Role.BUREAU_ADMIN, "兰陵县"),
    "approver": (Role.BUREAU_ADMIN, "兰陵县"),
    "city": (Role.VIEWER, "临沂市"),
    "school1": (Role.SCHOOL_ADMIN, "兰陵县向城镇中心小学"),
    "school2": (Role.SCHOOL_ADMIN, "兰陵县向城镇初级中学"),
    "teacher": (Role.TEACHER, "兰陵县向城镇中心小学"),
    "grid": (Role.GRID_LEADER, "第一网格组"),
    "zichuan": (Role.BUREAU_ADMIN, "淄川区"),
}


@pytest.fixture(autouse=True)
def no_demo_password(monkeypatch):
    monkeypatch.delenv("DEMO_PASSWORD", raising=False)


def seed(**options):
    """Run the command as the issue does and return what it printed."""
    out = io.StringIO()
    call_command("seed_demo", students=STUDENTS, seed=1, stdout=out, **options)
    return out.getvalue()


def login_lines(output):
    return [line for line in output.splitlines() if line.split(" ")[0] in DEMO_USERS]


def test_builds_the_requested_number_of_students_on_the_roster():
    """The seed story's count is of the roster; students who left it come on top."""
    output = seed()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FILTER (WHERE left_roster_on IS NULL), count(*) FILTER (WHERE left_roster_on IS NOT NULL)"
            " FROM students_student"
        )
        on_roster, left = cursor.fetchone()
    assert on_roster == STUDENTS
    assert left > 0
    assert f"{STUDENTS} students on the roster (and {left} who left it)" in output or (
        f"名单内学生 {STUDENTS} 名（另有 {left} 名已移出名单）" in output
    )


def test_every_status_in_the_registry_is_in_its_history():
    """The ledgers read the history: every student's latest history record says what the
    registry says (the casework's planted changes included)."""
    seed()
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT s.id FROM students_student s
            JOIN LATERAL (
                SELECT h.status, h.is_boarder, h.school_id, h.left_roster_on FROM students_historicalstudent h
                WHERE h.id = s.id ORDER BY h.history_date DESC, h.history_id DESC LIMIT 1
            ) latest ON true
            WHERE (latest.status, latest.is_boarder, latest.school_id) IS DISTINCT FROM (s.status, s.is_boarder, s.school_id)
               OR latest.left_roster_on IS DISTINCT FROM s.left_roster_on
            """
        )
        contradicting = cursor.fetchall()
        cursor.execute("SELECT count(*) FROM students_student WHERE status = 'dropped_out' AND left_roster_on IS NULL")
        (dropped_out,) = cursor.fetchone()
    assert contradicting == []
    assert dropped_out > 0


def test_every_id_number_is_valid_and_matches_birth_date_and_gender():
    seed()
    for student in Student.objects.all():
        facts = idnumber.validate(student.id_number)
        assert (facts.birth_date, facts.gender) == (student.birth_date, student.gender)
        assert student.student_number == "G" + student.id_number


def test_every_grade_belongs_to_the_student_stage():
    seed()
    for grade, stage in Student.objects.values_list("grade", "stage"):
        assert stage_of_grade(grade) == stage


def test_demo_users_have_their_roles_and_scopes():
    seed()
    users = User.objects.select_related("region", "school").in_bulk(
        list(DEMO_USERS), field_name="username"
    )
    assert {name: (user.role, user.scope_label) for name, user in users.items()} == DEMO_USERS
    assert users["bureau"].region.code == "371324"
    assert users["city"].region.code == "3713"
    assert users["teacher"].school == users["school1"].school
    assert all(user.full_name for user in users.values())


def test_logins_are_printed_as_username_password_role_scope():
    lines = login_lines(seed())
    expected = [
        f"{username} demo12345 {role} {scope}" for username, (role, scope) in DEMO_USERS.items()
    ]
    assert lines == expected


def test_demo_password_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("DEMO_PASSWORD", "lanling-2020")
    lines = login_lines(seed())
    assert [line.split(" ")[1] for line in lines] == ["lanling-2020"] * len(DEMO_USERS)
    for user in User.objects.filter(username__in=DEMO_USERS):
        assert user.check_password("lanling-2020")
        assert not user.check_password("demo12345")


def test_a_second_run_is_refused_unless_reset():
    seed()
    with pytest.raises(CommandError, match="--reset"):
        seed()
    seed(reset=True)
    assert Student.objects.on_roster().count() == STUDENTS
    assert User.objects.filter(username__in=DEMO_USERS).count() == len(DEMO_USERS)


def test_if_empty_leaves_an_existing_county_alone():
    seed()
    before = set(Student.objects.values_list("id_number", flat=True))
    output = seed(if_empty=True)
    assert set(Student.objects.values_list("id_number", flat=True)) == before
    assert len(login_lines(output)) == len(DEMO_USERS)


def test_the_same_seed_builds_the_same_students():
    seed()
    first = list(Student.objects.order_by("id_number").values_list("id_number", "name", "grade"))
    seed(reset=True)
    again = list(Student.objects.order_by("id_number").values_list("id_number", "name", "grade"))
    assert again == first


def test_every_student_has_a_creation_record_in_the_history():
    seed()
    history = Student.history.filter(history_type="+")
    assert history.count() == Student.objects.count()
    assert set(history.values_list("history_change_reason", flat=True)) == {"演示数据"}


# The calendar's hard days: the last day of the autumn term, the day after it, the winter
# holiday, the first day of spring and of autumn, the summer holiday and 29 February.
HARD_DAYS = ["2027-01-20", "2027-01-21", "2027-02-10", "2027-02-20", "2027-07-20", "2027-09-01", "2028-02-29"]

# Every dated record of the demo, by its model and the field that must not lie ahead.
DATED_FIELDS = [
    (Pairing, "started_on"),
    (HomeVisit, "visited_on"),
    (ExchangeActivity, "held_on"),
    (DisbursementBatch, "paid_on"),
    (DisbursementLine, "paid_on"),
    (DropoutCase, "opened_on"),
    (DropoutCase, "closed_on"),
    (PersuasionAttempt, "attempted_on"),
    (Inspection, "inspected_on"),
    (Rectification, "closed_on"),
    (SchoolProject, "started_on"),
    (SchoolProject, "completed_on"),
    (Student, "left_roster_on"),
]


@pytest.mark.parametrize("day", [pytest.param(day, marks=pytest.mark.today(day)) for day in HARD_DAYS])
def test_the_demo_is_coherent_whatever_the_day(day):
    today = datetime.date.fromisoformat(day)
    seed()
    expected = term_dates(today)
    current = Term.objects.current()
    assert (current.name, current.starts_on, current.ends_on) == (expected.name, expected.starts_on, expected.ends_on)
    assert Term.objects.filter(starts_on__gt=today).exists(), "the next term is set up"
    assert Term.objects.filter(ends_on__lt=current.starts_on).exists(), "so is the one before"

    for model, field in DATED_FIELDS:
        latest = model.objects.aggregate(latest=Max(field))["latest"]
        assert latest is None or latest <= today, f"{model.__name__}.{field} lies ahead: {latest}"

    visits = HomeVisit.objects.aggregate(first=Min("visited_on"), last=Max("visited_on"), count=Count("pk"))
    assert visits["count"] > 0
    assert current.starts_on <= visits["first"] and visits["last"] <= min(today, current.ends_on)
    assert Pairing.objects.filter(started_on__gt=current.starts_on).count() == 0

    previous_grant = DisbursementBatch.objects.get(term__ends_on__lt=current.starts_on)
    assert previous_grant.state == DisbursementBatch.State.CLOSED
    assert DisbursementBatch.objects.filter(term=current).count() == 3  # one waits for approval

    open_items = Rectification.objects.exclude(status=Rectification.Status.CLOSED)
    assert open_items.filter(deadline__lt=today).exists(), "some rectifications are overdue"
    assert open_items.filter(deadline__gte=today).exists(), "some are still within their deadline"
    assert DropoutCase.objects.filter(closed_on__isnull=True).exists()
