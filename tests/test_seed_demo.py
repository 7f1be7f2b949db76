"""seed_demo builds a valid demo county with a login per role, and never builds it twice."""
import io

import pytest
from django.core.management import CommandError, call_command

from students import idnumber
from students.choices import Role, stage_of_grade
from students.models import Student, User

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


def test_builds_the_requested_number_of_students():
    seed()
    assert Student.objects.count() == STUDENTS


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
    assert Student.objects.count() == STUDENTS
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
    assert history.count() == STUDENTS
    assert set(history.values_list("history_change_reason", flat=True)) == {"演示数据"}
