"""Scope: each role sees exactly its part of the registry, and nothing else exists for it."""
import pytest
from django.urls import reverse

from students.choices import RegionLevel
from students.models import Household, Region, School, Student

from .factories import (
    BureauAdminFactory,
    HouseholdFactory,
    RegionFactory,
    SchoolFactory,
    StudentFactory,
    TownshipFactory,
    UserFactory,
    ViewerFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_counties():
    """Lanling (371324) with two schools, and Feixian (371325) with one."""
    lanling = RegionFactory()
    feixian = RegionFactory(code="371325", name="费县")
    town_a = TownshipFactory(parent=lanling)
    town_b = TownshipFactory(parent=lanling)
    town_f = TownshipFactory(code="371325100", name="费城街道", parent=feixian)
    schools = {
        "a": SchoolFactory(region=town_a),
        "b": SchoolFactory(region=town_b),
        "f": SchoolFactory(region=town_f),
    }
    students = {key: StudentFactory.create_batch(2, school=school) for key, school in schools.items()}
    return {"lanling": lanling, "feixian": feixian, "schools": schools, "students": students}


def pks(queryset):
    return set(queryset.values_list("pk", flat=True))


def test_bureau_admin_sees_their_county_only(two_counties):
    admin = BureauAdminFactory(region=two_counties["lanling"])
    expected = {s.pk for key in "ab" for s in two_counties["students"][key]}
    assert pks(Student.objects.visible_to(admin)) == expected
    assert pks(School.objects.visible_to(admin)) == {
        two_counties["schools"]["a"].pk,
        two_counties["schools"]["b"].pk,
    }


def test_city_viewer_sees_every_county_of_the_city(two_counties):
    city = RegionFactory(code="3713", name="临沂市", level=RegionLevel.CITY)
    viewer = ViewerFactory(region=city)
    assert Student.objects.visible_to(viewer).count() == 6


def test_school_admin_sees_their_school_only(two_counties):
    school = two_counties["schools"]["a"]
    from .factories import SchoolAdminFactory

    admin = SchoolAdminFactory(school=school)
    assert pks(Student.objects.visible_to(admin)) == {s.pk for s in two_counties["students"]["a"]}
    assert pks(Household.objects.visible_to(admin)) == {
        s.household_id for s in two_counties["students"]["a"]
    }


def test_teacher_without_pairings_and_user_without_role_see_nothing(two_counties):
    from .factories import TeacherFactory

    teacher = TeacherFactory(school=two_counties["schools"]["a"])
    nobody = UserFactory()
    for user in (teacher, nobody):
        assert not Student.objects.visible_to(user).exists()
    assert not School.objects.visible_to(nobody).exists()
    assert not Region.objects.visible_to(nobody).exists()


def test_inactive_user_sees_nothing(two_counties):
    admin = BureauAdminFactory(region=two_counties["lanling"], is_active=False)
    assert not Student.objects.visible_to(admin).exists()


def test_households_of_other_counties_are_invisible_to_bureau(two_counties):
    admin = BureauAdminFactory(region=two_counties["lanling"])
    stray = HouseholdFactory(township=Region.objects.get(code="371325100"))
    assert stray.pk not in pks(Household.objects.visible_to(admin))


# Every page that shows or changes one student answers 404 outside the scope.
STUDENT_PAGES = ["students:student_detail", "students:student_update", "students:student_leave"]


@pytest.mark.parametrize("url_name", STUDENT_PAGES)
def test_school_admin_gets_404_for_another_schools_student(
    client_for, school_admin, other_student, url_name
):
    client = client_for(school_admin)
    url = reverse(url_name, args=[other_student.pk])
    assert client.get(url).status_code == 404
    if url_name != "students:student_detail":
        assert client.post(url, {"name": "改名", "reason": "other", "note": "x"}).status_code == 404
    other_student.refresh_from_db()
    assert other_student.on_roster and other_student.name != "改名"


@pytest.mark.parametrize("url_name", ["students:student_detail"])
def test_teacher_gets_404_for_a_student_of_their_own_school(client_for, teacher, student, url_name):
    """Until pairings exist a teacher is paired with nobody, even at their own school."""
    assert client_for(teacher).get(reverse(url_name, args=[student.pk])).status_code == 404


def test_teacher_may_not_open_editing_pages(client_for, teacher, student):
    client = client_for(teacher)
    assert client.get(reverse("students:student_create")).status_code == 403
    assert client.get(reverse("students:student_update", args=[student.pk])).status_code in (403, 404)


def test_other_schools_and_households_answer_404(client_for, school_admin, other_student):
    client = client_for(school_admin)
    assert client.get(reverse("students:school_detail", args=[other_student.school_id])).status_code == 404
    assert (
        client.get(reverse("students:household_detail", args=[other_student.household_id])).status_code
        == 404
    )


def test_list_and_distribution_leave_out_another_schools_students(
    client_for, school_admin, student, other_student
):
    client = client_for(school_admin)
    page = client.get(reverse("students:student_list")).content.decode()
    assert student.name in page and other_student.name not in page
    table = client.get(reverse("students:distribution")).content.decode()
    assert other_student.school.name not in table


def test_export_of_distribution_leaves_out_another_school(client_for, school_admin, student, other_student):
    import io

    from openpyxl import load_workbook

    response = client_for(school_admin).get(reverse("students:distribution_export"))
    sheet = load_workbook(io.BytesIO(response.content)).active
    names = {cell.value for cell in sheet["B"] if cell.value}
    assert student.school.name in names
    assert other_student.school.name not in names


def test_filter_choices_only_offer_schools_in_scope(client_for, school_admin, student, other_student):
    page = client_for(school_admin).get(reverse("students:student_list")).content.decode()
    assert other_student.school.name not in page


def test_create_form_refuses_a_school_outside_scope(client_for, school_admin, other_school):
    from .factories import id_number_for

    response = client_for(school_admin).post(
        reverse("students:student_create"),
        {
            "name": "新同学",
            "id_number": id_number_for(9999),
            "school": other_school.pk,
            "stage": "primary",
            "grade": "P1",
            "status": "enrolled",
            "household-head_name": "某户主",
            "household-township": other_school.region_id,
            "household-category": "registered_poor",
        },
    )
    assert response.status_code == 400
    assert not Student.objects.filter(name="新同学").exists()
