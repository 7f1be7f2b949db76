"""Dropout-control pages: the case list and its export, a case's page, closing, attempts,
cases opened by hand, and the three ledgers with their printable exports.

Labels are checked in English (Accept-Language: en) so the tests do not depend on the
state of the Chinese catalog, except the one test of the Chinese title.
"""
import datetime
import io
import re

import openpyxl
import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from aid.dropout.ledgers import Period
from aid.dropout.models import CaseResponsible, DropoutCase, PersuasionAttempt
from common.masking import mask_id_number, mask_phone
from students import services
from students.models import ExportLog, Student
from tests.factories import (
    BureauAdminFactory,
    HomeVisitFactory,
    PairingFactory,
    SchoolAdminFactory,
    SchoolFactory,
    StudentFactory,
    TeacherFactory,
    TownshipFactory,
    ViewerFactory,
)
from tests.history import rewrite_history

pytestmark = pytest.mark.django_db
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


def today():
    return timezone.localdate()


def days_ago(days):
    return today() - datetime.timedelta(days=days)


def open_case(student, *, opened_on=None, kind="dropout", reason="", responsibles=0, attempts=0):
    case = DropoutCase.objects.create(
        student=student, kind=kind, trigger="manual", reason=reason, opened_on=opened_on or today()
    )
    recorder = BureauAdminFactory()
    for number in range(responsibles):
        CaseResponsible.objects.create(case=case, role="teacher", name=f"责任人{number}", phone="13900001111")
    for number in range(attempts):
        PersuasionAttempt.objects.create(
            case=case, attempted_on=case.opened_on + datetime.timedelta(days=number), persons="李老师",
            method="home_visit", outcome=f"第{number + 1}次劝返", recorded_by=recorder,
        )
    return case


def workbook_of(response):
    content = b"".join(response.streaming_content) if response.streaming else response.content
    return openpyxl.load_workbook(io.BytesIO(content))


def sheet_rows(sheet, first_row):
    return [list(row) for row in sheet.iter_rows(min_row=first_row, values_only=True)]


@pytest.fixture
def admin(school):
    return SchoolAdminFactory(school=school)


@pytest.fixture
def outsider(other_school):
    """A school administrator of another school: none of `school`'s cases are theirs."""
    return SchoolAdminFactory(school=other_school)


@pytest.fixture
def case(student):
    return open_case(student, opened_on=days_ago(10), responsibles=1, attempts=1)


# ---------------------------------------------------------------------------------------
# The case list
# ---------------------------------------------------------------------------------------


def test_list_shows_open_cases_oldest_first_with_days_open(client_for, school, bureau_admin):
    """Open cases only by default, the oldest first, each with its days open; the figure at
    the top counts the open cases of the scope."""
    for days in (40, 5, 100):
        open_case(StudentFactory(school=school), opened_on=days_ago(days))
    closed = open_case(StudentFactory(school=school), opened_on=days_ago(200))
    DropoutCase.objects.filter(pk=closed.pk).update(closed_on=days_ago(1), outcome="returned")

    response = client_for(bureau_admin).get(reverse("aid:case_list"))

    cases = list(response.context["cases"])
    assert [case.days_open() for case in cases] == [100, 40, 5]
    assert [case.opened_on for case in cases] == [days_ago(100), days_ago(40), days_ago(5)]
    assert response.context["figures"]["open"] == 3
    html = response.content.decode()
    assert re.findall(r'class="num days-open">(\d+)<', html) == ["100", "40", "5"]
    assert '<span class="value" id="open-count">3</span>' in html


def test_list_states_and_filters(client_for, school, bureau_admin):
    township = school.region
    elsewhere = SchoolFactory(region=TownshipFactory())
    risk = open_case(StudentFactory(school=school), kind="risk", reason="learning")
    dropout = open_case(StudentFactory(school=elsewhere), kind="dropout", reason="work")
    closed = open_case(StudentFactory(school=school))
    DropoutCase.objects.filter(pk=closed.pk).update(closed_on=today(), outcome="returned")
    client = client_for(bureau_admin)

    def listed(**query):
        return {case.pk for case in client.get(reverse("aid:case_list"), query).context["cases"]}

    assert listed() == listed(state="open") == {risk.pk, dropout.pk}
    assert listed(state="closed") == {closed.pk}
    assert listed(state="all") == {risk.pk, dropout.pk, closed.pk}
    assert listed(kind="risk") == {risk.pk}
    assert listed(reason="work") == {dropout.pk}
    assert listed(region=township.code) == {risk.pk}
    assert listed(school=elsewhere.pk) == {dropout.pk}


def test_list_scope(client_for, case, outsider, school):
    """Other schools see nothing, on the page or in the export; a teacher sees the cases of
    the students paired with them."""
    client = client_for(outsider)
    assert list(client.get(reverse("aid:case_list")).context["cases"]) == []
    assert sheet_rows(workbook_of(client.get(reverse("aid:case_export"), {"state": "all"})).active, 2) == []
    teacher = TeacherFactory(school=school)
    other = open_case(StudentFactory(school=school))
    PairingFactory(student=other.student, teacher=teacher)
    assert [c.pk for c in client_for(teacher).get(reverse("aid:case_list")).context["cases"]] == [other.pk]


def test_list_query_count_does_not_grow_with_the_cases(client_for, bureau_admin):
    """Responsible persons, attempts and schools come in a fixed number of queries."""
    client = client_for(bureau_admin)
    url = reverse("aid:case_list")

    def count_queries():
        with CaptureQueriesContext(connection) as context:
            response = client.get(url)
        assert response.status_code == 200
        return len(context.captured_queries), len(response.context["cases"])

    for _ in range(2):
        open_case(StudentFactory(), responsibles=2, attempts=2)
    small, shown = count_queries()
    assert shown == 2
    for number in range(40):
        open_case(StudentFactory(), opened_on=days_ago(number), responsibles=3, attempts=number % 4)
    large, shown = count_queries()
    assert shown == 42 and large == small


def test_list_export_has_exactly_the_filtered_rows(client_for, school, bureau_admin):
    """The export carries the page's rows (here: the risk cases), with full ID numbers for a
    bureau administrator, and is logged."""
    risk = open_case(StudentFactory(school=school), kind="risk", opened_on=days_ago(3), responsibles=1, attempts=2)
    open_case(StudentFactory(school=school), kind="dropout")
    response = client_for(bureau_admin).get(reverse("aid:case_export"), {"kind": "risk"}, **EN)

    sheet = workbook_of(response).active
    rows = sheet_rows(sheet, 2)
    assert len(rows) == 1
    row = dict(zip([cell.value for cell in sheet[1]], rows[0]))
    assert row["Name"] == risk.student.name
    assert row["ID number"] == risk.student.id_number
    assert row["Kind"] == "At risk"
    assert row["Days open"] == 3
    assert row["Number of attempts"] == 2
    assert row["Last attempt"].date() == risk.opened_on + datetime.timedelta(days=1)
    assert sheet.cell(2, 13).number_format == "yyyy-mm-dd"
    assert row["Responsible persons"] == "责任人0 13900001111"
    log = ExportLog.objects.get()
    assert (log.user, log.list_name, log.query, log.row_count) == (bureau_admin, "dropout_cases", "kind=risk", 1)


def test_list_export_is_masked_for_a_viewer_and_logged_as_masked(client_for, case):
    viewer = ViewerFactory()
    sheet = workbook_of(client_for(viewer).get(reverse("aid:case_export"), **EN)).active
    row = dict(zip([cell.value for cell in sheet[1]], sheet_rows(sheet, 2)[0]))
    assert row["ID number"] == mask_id_number(case.student.id_number)
    assert row["Responsible persons"] == f"责任人0 {mask_phone('13900001111')}"
    log = ExportLog.objects.get()
    assert (log.user, log.list_name, log.row_count, log.id_numbers_masked, log.phones_masked) == (
        viewer, "dropout_cases", 1, True, True
    )


# ---------------------------------------------------------------------------------------
# A case: scope, roles and the page
# ---------------------------------------------------------------------------------------


def test_every_case_view_is_404_outside_the_scope(client_for, case, outsider, student):
    client = client_for(outsider)
    pk = case.pk
    assert client.get(reverse("aid:case_detail", args=[pk])).status_code == 404
    assert client.post(reverse("aid:case_detail", args=[pk]), {"reason": "work"}).status_code == 404
    assert client.get(reverse("aid:case_close", args=[pk])).status_code == 404
    assert client.post(reverse("aid:case_close", args=[pk]), {"outcome": "returned"}).status_code == 404
    assert client.post(reverse("aid:case_attempt", args=[pk]), {}).status_code == 404
    assert client.post(reverse("aid:case_responsible", args=[pk]), {}).status_code == 404
    assert client.get(reverse("aid:case_create", args=[student.pk])).status_code == 404
    assert DropoutCase.objects.get(pk=pk).closed_on is None and case.attempts.count() == 1


def test_roles(client_for, case, school, student):
    """Viewers read; teachers of the paired student add attempts but neither close, add
    responsible persons, correct the reason nor open cases."""
    viewer = client_for(ViewerFactory())
    page = viewer.get(reverse("aid:case_detail", args=[case.pk]))
    assert page.status_code == 200
    assert "attempt_form" not in page.context and "update_form" not in page.context
    assert viewer.post(reverse("aid:case_attempt", args=[case.pk]), {}).status_code == 403
    assert viewer.get(reverse("aid:case_close", args=[case.pk])).status_code == 403

    teacher = TeacherFactory(school=school)
    PairingFactory(student=student, teacher=teacher)
    client = client_for(teacher)
    page = client.get(reverse("aid:case_detail", args=[case.pk]))
    assert "attempt_form" in page.context and not page.context["may_close"]
    assert client.get(reverse("aid:case_close", args=[case.pk])).status_code == 403
    assert client.post(reverse("aid:case_close", args=[case.pk]), {"outcome": "returned"}).status_code == 403
    assert client.post(reverse("aid:case_responsible", args=[case.pk]), {"role": "village", "name": "王"}).status_code == 403
    assert client.post(reverse("aid:case_detail", args=[case.pk]), {"reason": "work"}).status_code == 403
    assert client.get(reverse("aid:case_create", args=[student.pk])).status_code == 403


def test_detail_masks_the_guardian_phone_by_role(client_for, case, admin):
    phone = case.student.household.guardian_phone
    assert f'href="tel:{phone}"' in client_for(admin).get(reverse("aid:case_detail", args=[case.pk])).content.decode()
    html = client_for(ViewerFactory()).get(reverse("aid:case_detail", args=[case.pk])).content.decode()
    assert phone not in html and mask_phone(phone) in html


def test_detail_links_the_visit_that_opened_the_case(client_for, student, admin):
    visit = HomeVisitFactory(student=student, dropout_risk="high")
    case = DropoutCase.objects.create(student=student, kind="risk", trigger="visit", visit=visit)
    html = client_for(admin).get(reverse("aid:case_detail", args=[case.pk])).content.decode()
    assert visit.get_absolute_url() in html


def test_admin_corrects_the_reason_and_adds_a_responsible_person(client_for, case, admin):
    client = client_for(admin)
    response = client.post(reverse("aid:case_detail", args=[case.pk]), {"reason": "financial", "reason_note": "父亲病重"})
    assert response.status_code == 302
    case.refresh_from_db()
    assert (case.reason, case.reason_note) == ("financial", "父亲病重")
    response = client.post(
        reverse("aid:case_responsible", args=[case.pk]), {"role": "village", "name": "王支书", "phone": "13700002222"}
    )
    assert response.status_code == 302
    assert case.responsibles.filter(role="village", name="王支书", phone="13700002222").exists()


def test_responsible_without_a_name_keeps_the_input(client_for, case, admin):
    response = client_for(admin).post(
        reverse("aid:case_responsible", args=[case.pk]), {"role": "township", "name": "", "phone": "13700002222"}
    )
    assert response.status_code == 400
    form = response.context["responsible_form"]
    assert "name" in form.errors and form["phone"].value() == "13700002222"
    assert case.responsibles.count() == 1


# ---------------------------------------------------------------------------------------
# Attempts and closing
# ---------------------------------------------------------------------------------------


def test_paired_teacher_records_an_attempt(client_for, case, school, student):
    teacher = TeacherFactory(school=school)
    PairingFactory(student=student, teacher=teacher)
    response = client_for(teacher).post(
        reverse("aid:case_attempt", args=[case.pk]),
        {"attempted_on": today().isoformat(), "persons": "李老师、村支书", "method": "home_visit", "outcome": "家长同意返校"},
    )
    assert response.status_code == 302 and response.url == case.get_absolute_url()
    attempt = case.attempts.get(recorded_by=teacher)
    assert (attempt.attempted_on, attempt.persons, attempt.outcome) == (today(), "李老师、村支书", "家长同意返校")


def test_unpaired_teacher_cannot_reach_the_case(client_for, case, school):
    response = client_for(TeacherFactory(school=school)).post(reverse("aid:case_attempt", args=[case.pk]), {})
    assert response.status_code == 404


def test_attempt_before_the_case_opened_is_refused_beside_the_date(client_for, case, admin):
    too_early = (case.opened_on - datetime.timedelta(days=1)).isoformat()
    response = client_for(admin).post(
        reverse("aid:case_attempt", args=[case.pk]),
        {"attempted_on": too_early, "persons": "张老师", "method": "phone", "outcome": "未接通"},
    )
    assert response.status_code == 400
    form = response.context["attempt_form"]
    assert form.errors["attempted_on"] and form["persons"].value() == "张老师"
    assert case.attempts.count() == 1


def test_closing_as_returned_enrols_the_student_again(client_for, student, admin):
    student.status = "dropped_out"
    services.student_save(actor=admin, student=student)
    case = DropoutCase.objects.get(student=student)
    response = client_for(admin).post(
        reverse("aid:case_close", args=[case.pk]), {"outcome": "returned", "closed_on": today().isoformat()}
    )
    assert response.status_code == 302
    case.refresh_from_db()
    assert (case.closed_on, case.outcome, case.closed_by) == (today(), "returned", admin)
    assert Student.objects.get(pk=student.pk).status == "enrolled"


def test_returned_to_another_school_of_the_scope(client_for, case, school):
    bureau = BureauAdminFactory()
    other = SchoolFactory(region=school.region)
    response = client_for(bureau).post(
        reverse("aid:case_close", args=[case.pk]),
        {"outcome": "returned", "closed_on": today().isoformat(), "return_school": other.pk},
    )
    assert response.status_code == 302
    assert Student.objects.get(pk=case.student_id).school == other


def test_school_outside_the_scope_is_not_offered(client_for, case, admin, other_school):
    response = client_for(admin).post(
        reverse("aid:case_close", args=[case.pk]),
        {"outcome": "returned", "closed_on": today().isoformat(), "return_school": other_school.pk},
    )
    assert response.status_code == 400 and "return_school" in response.context["form"].errors
    assert DropoutCase.objects.get(pk=case.pk).closed_on is None


def test_transferred_without_receiving_school_shows_the_error_and_keeps_the_input(client_for, case, admin):
    response = client_for(admin).post(
        reverse("aid:case_close", args=[case.pk]),
        {"outcome": "transferred", "closed_on": today().isoformat(), "note": "随父母去临沂", "receiving_school": ""},
        **EN,
    )
    assert response.status_code == 400
    form = response.context["form"]
    assert form.errors["receiving_school"] == ["Name the school that received the student."]
    html = response.content.decode()
    assert "随父母去临沂" in html
    assert re.search(r'value="transferred"[^>]*checked', html)
    assert DropoutCase.objects.get(pk=case.pk).closed_on is None
    assert Student.objects.get(pk=case.student_id).status == case.student.status


def test_other_needs_an_explanation(client_for, case, admin):
    response = client_for(admin).post(
        reverse("aid:case_close", args=[case.pk]), {"outcome": "other", "closed_on": today().isoformat()}
    )
    assert response.status_code == 400 and "note" in response.context["form"].errors


# ---------------------------------------------------------------------------------------
# A case opened by hand
# ---------------------------------------------------------------------------------------


def test_open_a_case_by_hand(client_for, student, admin):
    client = client_for(admin)
    response = client.post(
        reverse("aid:case_create", args=[student.pk]), {"kind": "risk", "reason": "aversion", "reason_note": "多次旷课"}
    )
    case = DropoutCase.objects.get(student=student)
    assert response.status_code == 302 and response.url == case.get_absolute_url()
    assert (case.kind, case.trigger, case.reason, case.reason_note, case.opened_by) == (
        "risk", "manual", "aversion", "多次旷课", admin,
    )
    # A second one is refused while the first is open.
    response = client.post(reverse("aid:case_create", args=[student.pk]), {"kind": "dropout"})
    assert response.status_code == 400 and response.context["open_case"] == case
    assert DropoutCase.objects.count() == 1


# ---------------------------------------------------------------------------------------
# Ledgers
# ---------------------------------------------------------------------------------------


def this_month():
    return Period.current_month(today())


def test_ledgers_are_not_for_teachers(client_for, teacher):
    client = client_for(teacher)
    assert client.get(reverse("aid:ledger")).status_code == 403
    assert client.get(reverse("aid:ledger_export"), {"kind": "dropout"}).status_code == 403


def test_ledger_page_defaults_to_the_school_age_ledger_of_this_month(client_for, student, bureau_admin):
    response = client_for(bureau_admin).get(reverse("aid:ledger"))
    assert response.status_code == 200
    ledger = response.context["ledger"]
    assert (ledger.kind, ledger.period) == ("school_age", this_month())
    assert [row[4] for row in ledger.rows] == [student.name]


def test_wrong_period_is_refused_beside_the_field(client_for, bureau_admin):
    with pytest.raises(ValidationError) as refused:
        Period.parse("2026-13")
    client = client_for(bureau_admin)
    response = client.get(reverse("aid:ledger"), {"kind": "dropout", "period": "2026-13"})
    assert response.status_code == 400
    assert response.context["form"].errors["period"] == refused.value.messages
    assert 'value="2026-13"' in response.content.decode()
    export = client.get(reverse("aid:ledger_export"), {"kind": "dropout", "period": "2026-13"})
    assert export.status_code == 302 and export.url.startswith(reverse("aid:ledger"))


def test_school_age_ledger_export_layout_and_values(client_for, school, bureau_admin):
    """Title, reporting row, bold bordered header, one row per child, frozen header and the
    A4 landscape print setup with the header repeated, fitted to the width."""
    pairing = PairingFactory(student=StudentFactory(school=school), started_on=days_ago(400))
    student, household = pairing.student, pairing.student.household
    period = this_month()
    response = client_for(bureau_admin).get(
        reverse("aid:ledger_export"), {"kind": "school_age", "period": period.label}, **EN
    )
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = workbook_of(response).active
    year, month = period.starts_on.year, period.starts_on.month
    assert sheet["A1"].value == f"兰陵县 dropout-control ledger of school-age children ({month}/{year})"
    assert "A1:N1" in {str(merged) for merged in sheet.merged_cells.ranges}
    assert sheet["A2"].value == "Reporting unit: 兰陵县"
    header = [cell.value for cell in sheet[3]]
    assert header == [
        "No.", "Township", "Village", "Head of household", "Name", "Gender", "ID number", "Birth date",
        "Age", "School", "Stage", "Grade", "Enrolment status", "Pairing teacher",
    ]
    assert all(cell.font.bold and cell.border.left.style == "thin" for cell in sheet[3])
    cutoff_year = year if month >= 9 else year - 1
    age = cutoff_year - student.birth_date.year - ((8, 31) < (student.birth_date.month, student.birth_date.day))
    [row] = sheet_rows(sheet, 4)
    assert row == [
        1, school.region.name, household.village, household.head_name, student.name, "Male",
        student.id_number, datetime.datetime.combine(student.birth_date, datetime.time()), age,
        school.name, "Primary", "Grade 3", "Enrolled", pairing.teacher.full_name,
    ]
    assert sheet.freeze_panes == "A4"
    assert sheet.print_title_rows == "$3:$3"
    setup = sheet.page_setup
    assert (setup.orientation, setup.paperSize, setup.fitToWidth, setup.fitToHeight) == ("landscape", 9, 1, 0)
    assert sheet.sheet_properties.pageSetUpPr.fitToPage
    assert ExportLog.objects.get().list_name == "ledger_school_age"


def test_ledger_title_in_chinese(client_for, student, bureau_admin):
    """The title as the bureau prints it, e.g. 兰陵县控辍保学适龄儿童台账（2026年11月）."""
    response = client_for(bureau_admin).get(
        reverse("aid:ledger_export"), {"kind": "school_age", "period": "2026-11"}, HTTP_ACCEPT_LANGUAGE="zh-hans"
    )
    assert workbook_of(response).active["A1"].value == "兰陵县控辍保学适龄儿童台账（2026年11月）"


def test_viewer_reads_the_ledger_masked_and_the_export_is_logged(client_for, student):
    viewer = ViewerFactory()
    client = client_for(viewer)
    page = client.get(reverse("aid:ledger"), {"kind": "school_age"})
    assert page.status_code == 200
    html = page.content.decode()
    assert student.id_number not in html and mask_id_number(student.id_number) in html
    sheet = workbook_of(client.get(reverse("aid:ledger_export"), {"kind": "school_age"})).active
    assert sheet.cell(4, 7).value == mask_id_number(student.id_number)
    assert sheet.cell(4, 8).value == student.birth_date.year  # the year, not the date
    log = ExportLog.objects.get()
    assert (log.user, log.list_name, log.id_numbers_masked) == (viewer, "ledger_school_age", True)


def test_ledger_scope(client_for, student, outsider):
    client = client_for(outsider)
    assert list(client.get(reverse("aid:ledger"), {"kind": "school_age"}).context["ledger"].rows) == []
    sheet = workbook_of(client.get(reverse("aid:ledger_export"), {"kind": "school_age"})).active
    assert sheet_rows(sheet, 4) == []


def test_page_shows_100_rows_and_the_export_all(client_for, school, bureau_admin):
    StudentFactory.create_batch(101, school=school)
    client = client_for(bureau_admin)
    first = client.get(reverse("aid:ledger"), {"kind": "school_age"})
    second = client.get(reverse("aid:ledger"), {"kind": "school_age", "page": 2})
    assert len(first.context["rows"]) == 100 and len(second.context["rows"]) == 1
    assert second.context["rows"][0][0][1] == 101  # the 序号 goes on across pages
    sheet = workbook_of(client.get(reverse("aid:ledger_export"), {"kind": "school_age"})).active
    assert len(sheet_rows(sheet, 4)) == 101


def test_suspected_ledger_lists_why_and_leaves_the_check_empty(client_for, school, bureau_admin):
    suspended = StudentFactory(school=school, status="suspended")
    StudentFactory(school=school)
    sheet = workbook_of(
        client_for(bureau_admin).get(reverse("aid:ledger_export"), {"kind": "suspected"}, **EN)
    ).active
    assert [cell.value for cell in sheet[3]] == [
        "No.", "Township", "School", "Name", "Gender", "ID number", "Grade", "Enrolment status",
        "Why suspected", "Verification",
    ]
    [row] = sheet_rows(sheet, 4)
    assert row[3] == suspended.name and row[7] == "Suspended"
    assert row[8] == "out of school (Suspended) with no open case" and row[9] is None  # for the checker


def test_dropout_ledger_rows(client_for, student, bureau_admin):
    """Responsible persons and attempts one per line in wrapped cells; days open; struck off
    in the period with the outcome and the receiving school."""
    case = open_case(student, opened_on=today().replace(day=1), reason="work", responsibles=2, attempts=2)
    client = client_for(bureau_admin)
    client.post(
        reverse("aid:case_close", args=[case.pk]),
        {"outcome": "transferred", "closed_on": today().isoformat(), "receiving_school": "临沂第三中学"},
    )
    sheet = workbook_of(client.get(reverse("aid:ledger_export"), {"kind": "dropout"}, **EN)).active
    header = [cell.value for cell in sheet[3]]
    assert header == [
        "No.", "Township", "School", "Name", "Gender", "ID number", "Grade", "Dropped out / at risk",
        "Opened on", "Reason for dropping out", "Responsible persons", "Persuasion attempts",
        "Struck off on", "Striking-off result", "Days open",
    ]
    [row] = sheet_rows(sheet, 4)
    values = dict(zip(header, row))
    first, second = case.opened_on, case.opened_on + datetime.timedelta(days=1)
    assert values["Name"] == student.name and values["Dropped out / at risk"] == "Dropped out"
    assert values["Reason for dropping out"] == "Left to work"
    assert values["Responsible persons"] == "责任人0 13900001111\n责任人1 13900001111"
    assert values["Persuasion attempts"] == (
        f"{first:%Y-%m-%d} 李老师 Home visit 第1次劝返\n{second:%Y-%m-%d} 李老师 Home visit 第2次劝返"
    )
    assert sheet.cell(4, header.index("Persuasion attempts") + 1).alignment.wrap_text
    assert values["Struck off on"].date() == today()
    assert values["Striking-off result"] == "Transferred: 临沂第三中学"
    assert values["Days open"] == (today() - case.opened_on).days


def first_of_month(day, months_back):
    month = day.month - months_back
    year = day.year + (month - 1) // 12
    return datetime.date(year, (month - 1) % 12 + 1, 1)


def at_noon(day):
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(12)))


def test_past_period_gives_the_data_as_it_stood(client_for, school, bureau_admin):
    """Enrolled two months ago, dropped out last month, back in school today: each month's
    ledgers show the student and the case as they were then."""
    two_ago, one_ago = first_of_month(today(), 2), first_of_month(today(), 1)
    dropped_on = one_ago + datetime.timedelta(days=4)
    student = StudentFactory(school=school)
    PairingFactory(student=student, started_on=two_ago)
    rewrite_history(Student.history.filter(id=student.pk), history_date=at_noon(two_ago))
    student.status = "dropped_out"
    services.student_save(actor=bureau_admin, student=student)
    rewrite_history(Student.history.filter(id=student.pk, history_type="~"), history_date=at_noon(dropped_on))
    case = DropoutCase.objects.get(student=student)
    DropoutCase.objects.filter(pk=case.pk).update(opened_on=dropped_on)
    client = client_for(bureau_admin)
    client.post(reverse("aid:case_close", args=[case.pk]), {"outcome": "returned", "closed_on": today().isoformat()})
    assert Student.objects.get(pk=student.pk).status == "enrolled"

    def ledger(kind, month):
        response = client.get(reverse("aid:ledger_export"), {"kind": kind, "period": f"{month:%Y-%m}"}, **EN)
        return sheet_rows(workbook_of(response).active, 4)

    [then] = ledger("school_age", two_ago)
    assert then[12] == "Enrolled"
    [later] = ledger("school_age", one_ago)
    assert later[12] == "Dropped out"
    assert ledger("dropout", two_ago) == []
    [open_then] = ledger("dropout", one_ago)
    end_of_month = first_of_month(today(), 0) - datetime.timedelta(days=1)
    assert open_then[8].date() == dropped_on
    assert open_then[12:] == [None, None, (end_of_month - dropped_on).days]  # not yet struck off
    [struck_off] = ledger("dropout", today())
    assert struck_off[12].date() == today() and struck_off[13] == "Returned to school"


def test_quarter_ledger(client_for, student, bureau_admin):
    quarter = f"{today().year}-Q{(today().month - 1) // 3 + 1}"
    case = open_case(student, opened_on=first_of_month(today(), (today().month - 1) % 3))
    response = client_for(bureau_admin).get(reverse("aid:ledger"), {"kind": "dropout", "period": quarter.lower()})
    ledger = response.context["ledger"]
    assert ledger.period == Period.parse(quarter)
    assert [row[3] for row in ledger.rows] == [case.student.name]


def test_two_people_correcting_the_reason_the_later_is_refused_with_the_earlier_change(school, case):
    """Optimistic locking: the second correction would silently overwrite the first."""
    first, second = Client(), Client()
    first.force_login(SchoolAdminFactory(school=school, full_name="王主任"))
    second.force_login(BureauAdminFactory(region=school.region.parent, full_name="李科长"))
    url = reverse("aid:case_detail", args=[case.pk])
    seen = [client.get(url).context["update_form"]["seen"].value() for client in (first, second)]

    assert first.post(url, {"reason": "work", "reason_note": "外出打工", "seen": seen[0]}).status_code == 302
    response = second.post(url, {"reason": "aversion", "reason_note": "厌学情绪", "seen": seen[1]})

    assert response.status_code == 400
    form = response.context["update_form"]
    [message] = form.non_field_errors()
    assert "王主任" in message and "外出打工" in message and "厌学情绪" in message
    assert (form["reason"].value(), form["reason_note"].value()) == ("aversion", "厌学情绪")
    case.refresh_from_db()
    assert (case.reason, case.reason_note) == ("work", "外出打工")
