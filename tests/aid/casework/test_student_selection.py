"""Students ticked on the student list: exported, printed or paired with a teacher, and
only students of the user's own scope can be ticked (another one answers 404)."""
import pytest
from django.urls import reverse
from django.utils import timezone

from aid.casework.models import Pairing
from tests.exports import exported_rows
from tests.factories import PairingFactory, SchoolAdminFactory, StudentFactory, TeacherFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def ticked(school):
    return [StudentFactory(school=school, name=f"勾选{n}") for n in range(3)]


def ids(students):
    return [student.pk for student in students]


def test_the_list_has_a_checkbox_per_student_and_the_actions(client_for, school_admin, ticked):
    page = client_for(school_admin).get(reverse("students:student_list")).content.decode()
    for student in ticked:
        assert f'name="id" value="{student.pk}" form="student-selection"' in page
    assert reverse("aid:pair_selected") in page and 'id="print-selected"' in page and 'id="export-selected"' in page


def test_the_teacher_is_not_offered_pairing(client_for, teacher, school):
    PairingFactory(teacher=teacher, student=StudentFactory(school=school))
    page = client_for(teacher).get(reverse("students:student_list")).content.decode()
    assert reverse("aid:pair_selected") not in page


def test_export_and_print_have_exactly_the_ticked_students(client_for, school_admin, school, ticked):
    StudentFactory(school=school, name="未勾选")
    client = client_for(school_admin)
    rows = exported_rows(client.get(reverse("students:student_export"), {"id": ids(ticked[:2]), "roster": "all"}))
    names = {value for row in rows[1:] for value in row if value in {"勾选0", "勾选1", "勾选2", "未勾选"}}
    assert len(rows) == 1 + 2 and names == {"勾选0", "勾选1"}
    page = client.get(reverse("students:student_print"), {"id": ids(ticked), "roster": "all"})
    content = page.content.decode()
    assert page.status_code == 200 and "print-landscape.css" in content
    assert all(student.name in content for student in ticked) and "未勾选" not in content


def test_ticking_a_student_of_another_school_answers_404(client_for, school_admin, ticked, other_student):
    client = client_for(school_admin)
    query = {"id": [*ids(ticked), other_student.pk], "roster": "all"}
    for name in ("students:student_list", "students:student_export", "students:student_print", "aid:pair_selected"):
        assert client.get(reverse(name), query).status_code == 404, name
    response = client.post(
        reverse("aid:pair_selected") + "?x", {"students": [other_student.pk], "teacher": TeacherFactory(school=other_student.school).pk}
    )
    assert response.status_code == 404
    assert not Pairing.objects.filter(student=other_student).exists()


def test_ticked_students_are_paired_with_a_teacher_of_their_school(client_for, school_admin, school, ticked):
    teacher = TeacherFactory(school=school, full_name="李老师")
    already = PairingFactory(student=ticked[0], teacher=TeacherFactory(school=school))
    client = client_for(school_admin)
    page = client.get(reverse("aid:pair_selected"), {"id": ids(ticked)})
    assert page.status_code == 200 and all(student.name in page.content.decode() for student in ticked)
    data = {"students": ids(ticked), "teacher": teacher.pk, "started_on": timezone.localdate().isoformat()}
    # One of them changes teacher: a reason is asked for, and nothing changes without it.
    assert client.post(reverse("aid:pair_selected"), data).status_code == 400
    assert not Pairing.objects.filter(teacher=teacher).exists()
    response = client.post(reverse("aid:pair_selected"), {**data, "reason": "原教师调离"})
    assert response.status_code == 302 and response["Location"] == reverse("students:student_list")
    assert set(Pairing.objects.active().filter(teacher=teacher).values_list("student_id", flat=True)) == set(ids(ticked))
    already.refresh_from_db()
    assert already.ended_on is not None and already.end_reason == "原教师调离"


def test_a_teacher_of_another_school_is_refused(client_for, school, ticked, other_school):
    client = client_for(SchoolAdminFactory(school=school))
    stranger = TeacherFactory(school=other_school)
    response = client.post(
        reverse("aid:pair_selected"),
        {"students": ids(ticked), "teacher": stranger.pk, "started_on": timezone.localdate().isoformat()},
    )
    assert response.status_code == 400 and not Pairing.objects.exists()
