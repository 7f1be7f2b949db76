"""Small things a clerk notices: the link to the next due student after a visit, the roster
import's post/redirect/get and its confirmation before reverting, reopening a dropout case,
checked phone numbers and length limits, the labels, and a school's distribution title."""
import datetime

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone, translation

from aid.dropout import services as dropout
from aid.dropout.forms import AttemptForm, ResponsibleForm
from aid.dropout.models import CaseReopening, DropoutCase
from students.distribution import distribution_table
from students.models import RosterImport, Student
from tests.factories import (
    BureauAdminFactory,
    HomeVisitFactory,
    PairingFactory,
    SchoolAdminFactory,
    StudentFactory,
    TeacherFactory,
    id_number_for,
)
from tests.students.test_import_export_views import roster_row, xlsx_bytes

DAY = datetime.timedelta(days=1)
pytestmark = pytest.mark.django_db


@pytest.mark.today("2026-11-20")
def test_after_a_visit_the_teacher_is_offered_the_next_due_student(client_for, county):
    school = county["primary"]
    teacher = TeacherFactory(school=school)
    visited = PairingFactory(teacher=teacher, student=StudentFactory(school=school, name="甲"))
    waiting = PairingFactory(teacher=teacher, student=StudentFactory(school=school, name="乙"))
    PairingFactory(teacher=teacher, student=StudentFactory(school=school, name="丙"))
    HomeVisitFactory(student=waiting.student, author=teacher, visited_on=datetime.date(2026, 9, 2))
    HomeVisitFactory(student=visited.student, author=teacher, visited_on=datetime.date(2026, 9, 3))
    client = client_for(teacher)
    # 乙 was visited this term; after 甲's visit only 丙, never visited, is still due.
    response = client.post(
        reverse("aid:visit_create", args=[visited.student.pk]),
        {"visited_on": "2026-11-20", "mode": "in_person", "study_situation": "学习认真", "living_situation": "",
         "remote_learning_feedback": "", "family_concerns": "", "measures": "", "dropout_risk": "none",
         "next_visit_on": ""},
        follow=True,
    )
    html = response.content.decode()
    third = Student.objects.get(name="丙")
    assert f'href="{reverse("aid:visit_create", args=[third.pk])}" id="next-due"' in html


class TestRosterImport:
    def upload(self, client, school):
        content = xlsx_bytes([roster_row("张小明", id_number_for(1), school.name)])
        return client.post(reverse("students:roster_import"), {"file": SimpleUploadedFile("花名册.xlsx", content)})

    def test_a_check_redirects_so_a_reload_does_not_upload_again(self, client_for, county):
        client = client_for(BureauAdminFactory(region=county["county"]))
        response = self.upload(client, county["primary"])
        roster_import = RosterImport.objects.get()
        assert response.status_code == 302 and response.url == roster_import.get_absolute_url()
        page = client.get(response.url)
        assert page.context["counts"]["new"] == 1
        client.get(response.url)  # the reload
        assert RosterImport.objects.count() == 1

    def test_reverting_asks_first(self, client_for, county):
        client = client_for(BureauAdminFactory(region=county["county"]))
        self.upload(client, county["primary"])
        roster_import = RosterImport.objects.get()
        client.post(reverse("students:roster_import_apply", args=[roster_import.pk]))
        url = reverse("students:roster_import_revert", args=[roster_import.pk])
        detail = client.get(roster_import.get_absolute_url()).content.decode()
        assert f'href="{url}"' in detail  # a link to the question, not a button that reverts
        question = client.get(url)
        assert question.status_code == 200 and 'id="revert-confirm"' in question.content.decode()
        assert Student.objects.count() == 1  # asking changed nothing
        assert client.post(url).status_code == 302
        assert Student.objects.count() == 0

    def test_the_question_is_404_outside_the_scope(self, client_for, county):
        client = client_for(BureauAdminFactory(region=county["county"]))
        self.upload(client, county["primary"])
        roster_import = RosterImport.objects.get()
        outsider = client_for(SchoolAdminFactory(school=county["other"]))
        assert outsider.get(reverse("students:roster_import_revert", args=[roster_import.pk])).status_code == 404


class TestReopening:
    @pytest.fixture
    def closed_case(self, county):
        student = StudentFactory(school=county["primary"])
        admin = BureauAdminFactory(region=county["county"])
        case = DropoutCase.objects.create(student=student, kind="dropout", trigger="manual",
                                          opened_on=timezone.localdate() - 30 * DAY)
        return dropout.case_close(actor=admin, case=case, outcome=DropoutCase.Outcome.RETURNED), admin

    def test_a_closed_case_is_reopened_with_a_reason(self, client_for, closed_case):
        case, admin = closed_case
        closed_on = case.closed_on
        response = client_for(admin).post(reverse("aid:case_reopen", args=[case.pk]), {"reason": "学生再次辍学"})
        assert response.status_code == 302
        case.refresh_from_db()
        assert case.closed_on is None and case.outcome == ""
        reopening = CaseReopening.objects.get(case=case)
        assert (reopening.reason, reopening.previous_outcome, reopening.previous_closed_on) == (
            "学生再次辍学", "returned", closed_on
        )

    def test_without_a_reason_nothing_changes(self, client_for, closed_case):
        case, admin = closed_case
        response = client_for(admin).post(reverse("aid:case_reopen", args=[case.pk]), {"reason": " "})
        assert response.status_code == 400 and "reason" in response.context["reopen_form"].errors
        assert DropoutCase.objects.get(pk=case.pk).closed_on is not None

    def test_an_open_case_cannot_be_reopened(self, closed_case):
        case, admin = closed_case
        dropout.case_reopen(actor=admin, case=case, reason="再次辍学")
        with pytest.raises(ValidationError):
            dropout.case_reopen(actor=admin, case=case, reason="again")

    def test_not_while_the_student_has_another_open_case(self, closed_case):
        case, admin = closed_case
        DropoutCase.objects.create(student=case.student, kind="risk", trigger="manual")
        with pytest.raises(ValidationError):
            dropout.case_reopen(actor=admin, case=case, reason="再次辍学")

    def test_outside_the_scope_it_is_404(self, client_for, closed_case, county):
        case, _admin = closed_case
        outsider = client_for(SchoolAdminFactory(school=county["other"]))
        assert outsider.post(reverse("aid:case_reopen", args=[case.pk]), {"reason": "x"}).status_code == 404


@pytest.mark.parametrize("phone, valid", [
    ("13800001111", True), ("0539-5211234", True), ("138 0000 1111", True), ("1380000", True),
    ("电话13800001111", False), ("123", False), ("1380000111122223", False),
])
def test_the_phone_of_a_responsible_person_is_checked(phone, valid):
    form = ResponsibleForm({"role": "village", "name": "王支书", "phone": phone})
    assert form.is_valid() == valid, form.errors


def test_free_text_has_a_length_limit():
    form = AttemptForm({"attempted_on": timezone.localdate(), "persons": "李老师", "method": "phone",
                        "outcome": "好" * 301})
    assert not form.is_valid() and "outcome" in form.errors
    assert 'maxlength="300"' in str(form["outcome"])


def test_a_persuasion_attempt_asks_for_its_result():
    with translation.override("en"):
        assert str(AttemptForm().fields["outcome"].label) == "Result"


def test_a_schools_own_distribution_table_is_not_called_a_school_twice(county):
    admin = SchoolAdminFactory(school=county["primary"])
    with translation.override("en"):
        title = distribution_table(admin).title
        county_title = distribution_table(BureauAdminFactory(region=county["county"])).title
    assert title == "兰陵县向城镇中心小学: its students from registered poor households"
    assert county_title == "兰陵县 distribution of students from registered poor households by school"
