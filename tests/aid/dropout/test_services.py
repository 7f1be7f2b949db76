"""Dropout control: cases open by themselves, once, and close only with a true outcome."""
import datetime
import io

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction

from aid.casework import services as aid_services
from aid.casework.models import HomeVisit
from aid.dropout import services as dropout
from aid.dropout.models import DropoutCase
from students import importer, services
from students.models import Student
from tests.factories import (
    BureauAdminFactory,
    PairingFactory,
    SchoolAdminFactory,
    SchoolFactory,
    StudentFactory,
    TeacherFactory,
)
from tests.roster_files import roster_row, xlsx_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(school):
    return SchoolAdminFactory(school=school)


def change_status(student, status, actor):
    student.status = status
    return services.student_save(actor=actor, student=student)


@pytest.mark.parametrize("status", ["dropped_out", "not_enrolled"])
def test_status_change_opens_one_case(student, admin, status):
    change_status(student, status, admin)
    change_status(student, status, admin)  # saved again: still one case
    case = DropoutCase.objects.get()
    assert (case.student, case.kind, case.trigger, case.opened_by) == (student, "dropout", "status", admin)


def test_other_statuses_open_nothing(student, admin):
    change_status(student, "suspended", admin)
    assert not DropoutCase.objects.exists()


def test_import_that_sets_dropped_out_opens_a_case(school, admin):
    student = StudentFactory(school=school, name="张小明")
    content = xlsx_bytes([roster_row("张小明", student.id_number, school.name, 在校情况="辍学")])
    roster_import, _plan = importer.roster_import_check(actor=admin, file=io.BytesIO(content), file_name="r.xlsx")
    importer.roster_import_apply(actor=admin, roster_import=roster_import)
    assert DropoutCase.objects.get().student == student


def test_high_risk_visit_opens_a_risk_case_once(school):
    pairing = PairingFactory(student=StudentFactory(school=school))
    for _ in range(2):
        visit = HomeVisit(visited_on=datetime.date.today(), dropout_risk="high", study_situation="厌学")
        aid_services.visit_record(actor=pairing.teacher, student=pairing.student, visit=visit)
    case = DropoutCase.objects.get()
    assert (case.kind, case.trigger, case.visit_id) == ("risk", "visit", HomeVisit.objects.order_by("pk").first().pk)


def test_database_allows_one_open_case_per_student(student):
    DropoutCase.objects.create(student=student, kind="dropout", trigger="manual")
    with pytest.raises(IntegrityError), transaction.atomic():
        DropoutCase.objects.create(student=student, kind="risk", trigger="manual")


def test_manual_open_refused_when_one_is_open(student, admin):
    dropout.case_open(actor=admin, student=student, kind="risk", reason="learning")
    with pytest.raises(ValidationError):
        dropout.case_open(actor=admin, student=student, kind="dropout")


def test_manual_open_outside_scope_refused(other_student, admin):
    with pytest.raises(PermissionDenied):
        dropout.case_open(actor=admin, student=other_student, kind="risk")


class TestClosing:
    @pytest.fixture
    def case(self, student, admin):
        change_status(student, "dropped_out", admin)
        return DropoutCase.objects.get()

    def test_returned_updates_the_status_and_school_in_the_same_step(self, case, admin, school):
        dropout.case_close(actor=admin, case=case, outcome="returned")
        student = Student.objects.get(pk=case.student_id)
        case.refresh_from_db()
        assert student.status == "enrolled" and case.closed_on == datetime.date.today()
        assert student.history.first().history_user == admin

    def test_returned_to_another_school_in_scope(self, case, school):
        bureau = BureauAdminFactory()
        other = SchoolFactory(region=school.region)
        dropout.case_close(actor=bureau, case=case, outcome="returned", return_school=other)
        assert Student.objects.get(pk=case.student_id).school == other

    def test_transferred_needs_the_receiving_school(self, case, admin):
        with pytest.raises(ValidationError):
            dropout.case_close(actor=admin, case=case, outcome="transferred")
        dropout.case_close(actor=admin, case=case, outcome="transferred", receiving_school="临沂市第三中学")
        assert Student.objects.get(pk=case.student_id).status == "outside_county"

    def test_other_needs_an_explanation_and_keeps_the_status(self, case, admin):
        with pytest.raises(ValidationError):
            dropout.case_close(actor=admin, case=case, outcome="other")
        dropout.case_close(actor=admin, case=case, outcome="other", note="随父母迁往外省，已联系当地教育局")
        assert Student.objects.get(pk=case.student_id).status == "dropped_out"

    def test_home_taught(self, case, admin):
        dropout.case_close(actor=admin, case=case, outcome="home_taught")
        assert Student.objects.get(pk=case.student_id).status == "home_taught"

    def test_closed_case_cannot_be_closed_again_and_a_new_one_can_open(self, case, admin):
        dropout.case_close(actor=admin, case=case, outcome="returned")
        with pytest.raises(ValidationError):
            dropout.case_close(actor=admin, case=case, outcome="returned")
        student = Student.objects.get(pk=case.student_id)
        change_status(student, "dropped_out", admin)
        assert DropoutCase.objects.open().count() == 1 and DropoutCase.objects.count() == 2

    def test_teacher_records_an_attempt_but_cannot_close(self, case, school):
        teacher = TeacherFactory(school=school)
        PairingFactory(student=case.student, teacher=teacher)
        dropout.case_record_attempt(
            actor=teacher, case=case, attempted_on=datetime.date.today(), persons="李老师、村支书",
            method="home_visit", outcome="家长同意下周送孩子返校",
        )
        assert case.attempts.count() == 1
        with pytest.raises(PermissionDenied):
            dropout.case_close(actor=teacher, case=case, outcome="returned")
