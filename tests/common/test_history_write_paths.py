"""The write paths that write many rows at once (bulk creation, bulk updates) leave one
history row per row, by the person who acted."""
import io

import pytest
from django.core.management import call_command

from aid.casework import services as casework
from aid.casework.models import HomeVisit, Pairing, PolicyCheck
from aid.dropout import services as dropout
from aid.dropout.models import DropoutCase
from aid.subsidies.models import DisbursementLine
from students import services as registry
from students.models import Student
from tests.factories import SchoolAdminFactory, StudentFactory, TeacherFactory

pytestmark = pytest.mark.django_db


def test_pairing_several_students_at_once_writes_the_history_of_each(school):
    admin, teacher = SchoolAdminFactory(school=school), TeacherFactory(school=school)
    students = [StudentFactory(school=school) for _ in range(3)]
    casework.pairing_assign(actor=admin, students=students, teacher=teacher)
    pairings = Pairing.objects.filter(student__in=students)
    history = Pairing.history.filter(history_type="+", id__in=pairings.values("pk"))
    assert sorted(history.values_list("student_id", "history_user_id")) == sorted(
        (student.pk, admin.pk) for student in students
    )


def test_cases_opened_for_statuses_in_bulk_keep_their_history(school):
    admin = SchoolAdminFactory(school=school)
    students = [StudentFactory(school=school) for _ in range(2)]
    for student in students:
        student.status = "dropped_out"
        registry.student_save(actor=admin, student=student, notify=False)
    opened = dropout.open_cases_for_status(Student.objects.filter(pk__in=[s.pk for s in students]), admin)
    assert len(opened) == 2
    history = DropoutCase.history.filter(id__in=[case.pk for case in opened])
    assert sorted(history.values_list("student_id", "history_type", "history_user_id")) == sorted(
        (student.pk, "+", admin.pk) for student in students
    )


def test_the_demo_builder_writes_the_history_of_what_it_creates_in_bulk():
    call_command("seed_demo", students=60, seed=3, stdout=io.StringIO())
    for model in (Pairing, HomeVisit, PolicyCheck, DisbursementLine, DropoutCase):
        created = set(model.history.filter(history_type="+").values_list("id", flat=True))
        assert created >= set(model.objects.values_list("pk", flat=True)), model.__name__
    assert Pairing.objects.exists() and HomeVisit.objects.exists() and DisbursementLine.objects.exists()
