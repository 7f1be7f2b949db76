"""Two people edit one student: the later save is refused with what the other person
changed, and the form comes back with everything the later one typed."""
import pytest
from django.test import Client
from django.urls import reverse

from common.locking import version_of
from students.models import Student
from tests.factories import (
    BureauAdminFactory,
    HouseholdFactory,
    SchoolAdminFactory,
    StudentFactory,
)
from tests.students.test_views import student_post_data

pytestmark = pytest.mark.django_db


def logged_in(user):
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def people(county):
    school = county["primary"]
    student = StudentFactory(
        school=school, name="张小明", class_name="1班",
        household=HouseholdFactory(township=school.region, head_name="张大山", village="张庄村"),
    )
    return {
        "student": student,
        "wang": SchoolAdminFactory(school=school, full_name="王老师"),
        "li": BureauAdminFactory(region=county["county"], full_name="李科长"),
    }


def opened_form(client, student):
    """What the edit page hands the browser: the student's values and the version."""
    response = client.get(reverse("students:student_update", args=[student.pk]))
    form, household_form = response.context["form"], response.context["household_form"]
    data = student_post_data(
        student.school,
        name=student.name, id_number=student.id_number, class_name=student.class_name,
        grade=student.grade, stage=student.stage, status=student.status,
        seen=form["seen"].value(),
        **{
            "household-head_name": student.household.head_name,
            "household-village": student.household.village,
            "household-township": student.household.township_id,
            "household-category": student.household.category,
            "household-poverty_cause": student.household.poverty_cause,
            "household-guardian_name": student.household.guardian_name,
            "household-guardian_phone": student.household.guardian_phone,
            "household-seen": household_form["seen"].value(),
        },
    )
    return data


def test_the_later_save_is_refused_and_says_what_the_other_person_changed(people):
    student = people["student"]
    wang, li = logged_in(people["wang"]), logged_in(people["li"])
    url = reverse("students:student_update", args=[student.pk])
    wang_form, li_form = opened_form(wang, student), opened_form(li, student)

    assert wang.post(url, {**wang_form, "class_name": "3班"}).status_code == 302
    response = li.post(url, {**li_form, "class_name": "5班", "note": "转入后分班"})

    assert response.status_code == 409
    [message] = response.context["form"].non_field_errors()
    assert "王老师" in message
    assert "班级" in message and "3班" in message and "5班" in message
    assert message in response.content.decode()
    # Nothing Li typed is lost, and nothing of it was saved.
    assert response.context["form"]["note"].value() == "转入后分班"
    assert response.context["form"]["class_name"].value() == "5班"
    assert Student.objects.get(pk=student.pk).class_name == "3班"
    # The form now carries the version saved by Wang: sending it again saves Li's values.
    assert response.context["form"]["seen"].value() == version_of(student)
    again = {**li_form, "class_name": "5班", "note": "转入后分班", "seen": response.context["form"]["seen"].value()}
    assert li.post(url, again).status_code == 302
    assert Student.objects.get(pk=student.pk).class_name == "5班"


def test_a_change_to_the_household_by_someone_else_refuses_the_later_household_edit(people):
    student = people["student"]
    wang, li = logged_in(people["wang"]), logged_in(people["li"])
    url = reverse("students:student_update", args=[student.pk])
    wang_form, li_form = opened_form(wang, student), opened_form(li, student)

    assert wang.post(url, {**wang_form, "household-village": "李庄村"}).status_code == 302
    response = li.post(url, {**li_form, "household-guardian_phone": "13800000000"})

    assert response.status_code == 409
    [message] = response.context["household_form"].non_field_errors()
    assert "李庄村" in message and "张庄村" in message and "王老师" in message
    assert response.context["household_form"]["guardian_phone"].value() == "13800000000"
    student.household.refresh_from_db()
    assert (student.household.village, student.household.guardian_phone) != ("张庄村", "13800000000")
    assert student.household.village == "李庄村"


def test_saves_one_after_the_other_are_not_conflicts(people):
    student = people["student"]
    wang = logged_in(people["wang"])
    url = reverse("students:student_update", args=[student.pk])
    assert wang.post(url, {**opened_form(wang, student), "class_name": "3班"}).status_code == 302
    student.refresh_from_db()
    assert wang.post(url, {**opened_form(wang, student), "class_name": "4班"}).status_code == 302
    assert Student.objects.get(pk=student.pk).class_name == "4班"
