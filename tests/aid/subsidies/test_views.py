"""Subsidy pages and spreadsheets: scope and roles, query counts, the walk from a new batch
to a returned payment, conflicts, the signature roster, the term summary and the precision
checks. The rules themselves are tested in test_disbursements.py."""
import datetime
import io
from decimal import Decimal

import openpyxl
import pytest
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext

from aid.reference.models import ProgramStandard
from aid.subsidies import services as d
from aid.subsidies.models import (
    DisbursementBatch,
    DisbursementLine,
    PrecisionResolution,
    SchoolConfirmation,
)
from common.masking import mask_id_number
from students.models import ExportLog, Student
from tests.exports import exported_rows
from tests.factories import (
    AidProgramFactory,
    BureauAdminFactory,
    HouseholdFactory,
    SchoolAdminFactory,
    SchoolFactory,
    StudentFactory,
    TeacherFactory,
    ViewerFactory,
    previous_term,
)

pytestmark = pytest.mark.django_db
State = DisbursementBatch.State
LineStatus = DisbursementLine.Status


@pytest.fixture
def program():
    """国家助学金-like: primary 500.00, junior 625.00 a term, every registered household."""
    program = AidProgramFactory(name="家庭经济困难学生生活补助", stages=["primary", "junior"])
    ProgramStandard.objects.create(program=program, stage="primary", amount=Decimal("500.00"))
    ProgramStandard.objects.create(program=program, stage="junior", amount=Decimal("625.00"))
    return program


@pytest.fixture
def people(county):
    """经办 and 审核 at the bureau, each school's administrator, a viewer and a teacher."""
    return {
        "preparer": BureauAdminFactory(region=county["county"], full_name="经办人张"),
        "approver": BureauAdminFactory(region=county["county"], full_name="审核人李"),
        "first_admin": SchoolAdminFactory(school=county["primary"]),
        "second_admin": SchoolAdminFactory(school=county["junior"]),
        "viewer": ViewerFactory(region=county["county"]),
        "teacher": TeacherFactory(school=county["primary"]),
        "other_bureau": BureauAdminFactory(region=county["other_county"]),
        "other_admin": SchoolAdminFactory(school=county["other"]),
    }


def make_student(school, stage="primary", grade="P4", **extra):
    household = HouseholdFactory(township=school.region)
    return StudentFactory(school=school, stage=stage, grade=grade, household=household, **extra)


@pytest.fixture
def students(county):
    return {
        "first": [make_student(county["primary"]) for _ in range(3)],
        "second": [make_student(county["junior"], stage="junior", grade="J2") for _ in range(2)],
    }


@pytest.fixture
def batch(county, program, people, students):
    return d.batch_create(actor=people["preparer"], program=program, term=county["term"], region=county["county"])


def login(client, user):
    client.force_login(user)
    return client


def fresh(batch):
    batch.refresh_from_db()
    return batch


def post_move(client, batch, to, **data):
    return client.post(
        reverse("aid:batch_move", args=[batch.pk]), {"to": to, "version": fresh(batch).version, **data}
    )


def confirm_all(batch, actor):
    for school_id in batch.lines.values_list("school_id", flat=True).distinct():
        d.school_confirm(
            actor=actor, batch=fresh(batch), school=SchoolFactory._meta.model.objects.get(pk=school_id),
            expected_version=fresh(batch).version,
        )


def submitted(batch, people):
    confirm_all(batch, people["preparer"])
    return d.batch_submit(actor=people["preparer"], batch=fresh(batch), expected_version=fresh(batch).version)


def workbook_of(response):
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    content = b"".join(response.streaming_content) if response.streaming else response.content
    return openpyxl.load_workbook(io.BytesIO(content))


def money(value):
    return Decimal(str(value)).quantize(Decimal("0.01"))


# ---------------------------------------------------------------------------------------
# Scope and roles
# ---------------------------------------------------------------------------------------


class TestScope:
    def batch_urls(self, batch):
        line = batch.lines.first()
        return {
            "detail": ("get", reverse("aid:batch_detail", args=[batch.pk])),
            "roster": ("get", reverse("aid:batch_roster_export", args=[batch.pk]) + f"?school={line.school_id}"),
            "line_add": ("get", reverse("aid:line_add", args=[batch.pk])),
            "move": ("post", reverse("aid:batch_move", args=[batch.pk])),
            "confirm": ("post", reverse("aid:batch_confirm", args=[batch.pk])),
            "line_update": ("post", reverse("aid:line_update", args=[line.pk])),
        }

    @pytest.mark.parametrize("page", ["detail", "roster", "line_add", "move", "confirm", "line_update"])
    def test_a_batch_of_another_county_is_not_found(self, client, batch, people, page):
        method, url = self.batch_urls(batch)[page]
        response = getattr(login(client, people["other_bureau"]), method)(url, {"version": batch.version})
        assert response.status_code == 404

    @pytest.mark.parametrize("page", ["detail", "roster", "line_add", "confirm"])
    def test_a_school_without_lines_in_the_batch_does_not_see_it(self, client, batch, people, page):
        method, url = self.batch_urls(batch)[page]
        response = getattr(login(client, people["other_admin"]), method)(url, {"version": batch.version})
        assert response.status_code == 404

    def test_school_admins_never_move_a_batch_in_scope_or_not(self, client, batch, people):
        """The role may not move batches at all: 403 before any lookup, so it tells nothing
        about batches outside the school's scope."""
        _method, url = self.batch_urls(batch)["move"]
        for admin in (people["first_admin"], people["other_admin"]):
            assert login(client, admin).post(url, {"version": batch.version, "to": "submitted"}).status_code == 403

    def test_a_school_admin_cannot_touch_or_export_another_schools_lines(self, client, batch, people, county):
        client = login(client, people["first_admin"])
        other_line = batch.lines.filter(school=county["junior"]).first()
        response = client.post(
            reverse("aid:line_update", args=[other_line.pk]),
            {"action": "remove", "reason": "不是本校", "version": batch.version},
        )
        assert response.status_code == 404
        roster = client.get(reverse("aid:batch_roster_export", args=[batch.pk]) + f"?school={county['junior'].pk}")
        assert roster.status_code == 404
        assert fresh(batch).lines.filter(status=LineStatus.REMOVED).count() == 0

    def test_a_school_admin_sees_only_their_schools_lines(self, client, batch, people, students):
        response = login(client, people["first_admin"]).get(reverse("aid:batch_detail", args=[batch.pk]))
        assert response.status_code == 200
        shown = {line.student_id for line in response.context["lines"]}
        assert shown == {student.pk for student in students["first"]}
        assert [row["school__name"] for row in response.context["schools"]] == ["兰陵县向城镇中心小学"]
        assert response.context["totals"]["planned_amount"] == Decimal("1500.00")
        assert response.context["moves"] == []

    @pytest.mark.parametrize(
        "name", ["batch_list", "batch_create", "batch_summary_export", "precision", "precision_export"]
    )
    def test_teachers_are_refused_every_subsidy_page(self, client, people, name, batch):
        assert login(client, people["teacher"]).get(reverse(f"aid:{name}")).status_code == 403

    def test_teachers_are_refused_a_batch(self, client, people, batch):
        assert login(client, people["teacher"]).get(batch.get_absolute_url()).status_code == 403

    @pytest.mark.parametrize("role", ["first_admin", "viewer"])
    def test_only_bureau_admins_create_batches(self, client, people, role):
        assert login(client, people[role]).get(reverse("aid:batch_create")).status_code == 403

    @pytest.mark.parametrize("page", ["line_add", "move", "confirm", "line_update"])
    def test_viewers_read_but_never_write(self, client, batch, people, page):
        client = login(client, people["viewer"])
        assert client.get(batch.get_absolute_url()).status_code == 200
        method, url = self.batch_urls(batch)[page]
        assert getattr(client, method)(url, {"version": batch.version}).status_code == 403

    def test_list_shows_only_batches_in_scope(self, client, batch, people, county, program):
        other = d.batch_create(
            actor=people["other_bureau"], program=program, term=county["term"], region=county["other_county"]
        )
        response = login(client, people["preparer"]).get(reverse("aid:batch_list"))
        assert [b.pk for b in response.context["batches"]] == [batch.pk]
        response = login(client, people["other_bureau"]).get(reverse("aid:batch_list"))
        assert [b.pk for b in response.context["batches"]] == [other.pk]

    def test_export_has_the_filtered_batches_with_the_schools_amounts(self, client, county, program, people, batch):
        """The program filter leaves out the other program's batch, the scope the other
        county's; a school administrator's figures are their school's lines only."""
        submitted(batch, people)
        d.batch_approve(actor=people["approver"], batch=fresh(batch), expected_version=fresh(batch).version)
        today = timezone.localdate()
        d.batch_record_payment(
            actor=people["preparer"], batch=fresh(batch), paid_on=today, method="bank", expected_version=fresh(batch).version
        )
        d.line_mark_result(
            actor=people["preparer"], line=batch.lines.filter(school=county["primary"]).first(),
            status=LineStatus.RETURNED, reason="银行卡已注销", expected_version=fresh(batch).version,
        )
        earlier = previous_term()
        d.batch_create(actor=people["preparer"], program=program, term=earlier, region=county["county"])
        meals = AidProgramFactory(stages=["primary"])
        ProgramStandard.objects.create(program=meals, stage="primary", amount=Decimal("100.00"))
        d.batch_create(actor=people["preparer"], program=meals, term=county["term"], region=county["county"])
        make_student(county["other"])
        d.batch_create(actor=people["other_bureau"], program=program, term=county["term"], region=county["other_county"])

        response = login(client, people["first_admin"]).get(
            reverse("aid:batch_list"), {"program": program.pk, "export": "xlsx"}, HTTP_ACCEPT_LANGUAGE="en"
        )

        assert exported_rows(response) == [
            (
                "Aid program", "Term", "Region", "State", "Number of students", "Planned amount",
                "Paid students", "Paid amount", "Payment date", "Payment method",
            ),
            (
                "家庭经济困难学生生活补助", county["term"].name, "兰陵县", "Paid", 3, Decimal("1500.00"),
                2, Decimal("1000.00"), datetime.datetime.combine(today, datetime.time()), "Bank transfer",
            ),
            (
                "家庭经济困难学生生活补助", earlier.name, "兰陵县", "Draft: schools review", 3, Decimal("1500.00"),
                0, Decimal("0.00"), None, None,
            ),
        ]

    def test_the_list_links_its_export_with_the_filter(self, client, people, batch):
        response = login(client, people["preparer"]).get(reverse("aid:batch_list"), {"state": "draft", "page": "1"})

        assert 'href="?state=draft&amp;export=xlsx" id="export-batches"' in response.content.decode()


# ---------------------------------------------------------------------------------------
# Query counts
# ---------------------------------------------------------------------------------------


def many_batches(county, people, count):
    for index in range(count):
        program = AidProgramFactory(stages=["primary"])
        ProgramStandard.objects.create(program=program, stage="primary", amount=Decimal("100.00") + index)
        d.batch_create(actor=people["preparer"], program=program, term=county["term"], region=county["county"])


@pytest.mark.parametrize("count", [1, 60])
def test_batch_list_takes_a_fixed_number_of_queries(client, county, people, students, count, django_assert_max_num_queries):
    many_batches(county, people, count)
    client = login(client, people["preparer"])
    with django_assert_max_num_queries(10):
        response = client.get(reverse("aid:batch_list"))
    batches = list(response.context["batches"])
    assert len(batches) == min(count, 50)
    # Every batch has the 3 primary students: 3 lines at its standard amount.
    for batch in batches:
        standard = batch.program.standards.get().amount
        assert (batch.planned_count, batch.planned_amount, batch.paid_amount) == (3, standard * 3, Decimal("0.00"))


@pytest.mark.parametrize("count", [1, 60])
def test_batch_export_takes_a_fixed_number_of_queries(client, county, people, students, count, django_assert_max_num_queries):
    many_batches(county, people, count)
    client = login(client, people["preparer"])
    with django_assert_max_num_queries(5):
        response = client.get(reverse("aid:batch_list"), {"export": "xlsx"})
    assert len(exported_rows(response)) == 1 + count


@pytest.mark.parametrize("extra", [0, 150])
def test_batch_page_takes_a_fixed_number_of_queries(client, county, program, people, students, extra, django_assert_max_num_queries):
    for index in range(extra):
        make_student(county["primary"] if index % 2 else county["junior"], **(
            {} if index % 2 else {"stage": "junior", "grade": "J1"}
        ))
    batch = d.batch_create(actor=people["preparer"], program=program, term=county["term"], region=county["county"])
    # 14: the lines' versions (for the message on a conflicting line change) are one query, the
    # scanned pages of the signed rosters another, the list of who changed lines a third.
    client = login(client, people["preparer"])
    with django_assert_max_num_queries(14):
        response = client.get(batch.get_absolute_url())
    assert response.status_code == 200
    assert len(response.context["lines"]) == min(5 + extra, 100)
    with django_assert_max_num_queries(14):
        client.get(batch.get_absolute_url() + "?page=2")


# ---------------------------------------------------------------------------------------
# A batch through its life, page by page
# ---------------------------------------------------------------------------------------


def test_walk_from_creation_to_a_returned_payment(client, county, program, people, students):
    """Create → a school removes a line with a reason and confirms → the other school
    confirms → the bureau submits → another account approves → payment → one returned."""
    client = login(client, people["preparer"])
    form = client.get(reverse("aid:batch_create"))
    assert form.context["form"].initial["region"] == county["county"]
    response = client.post(
        reverse("aid:batch_create"),
        {"program": program.pk, "term": county["term"].pk, "region": county["county"].pk},
    )
    batch = DisbursementBatch.objects.get()
    assert response.status_code == 302 and response["Location"] == batch.get_absolute_url()
    assert batch.lines.count() == 5 and batch.prepared_by == people["preparer"]

    client = login(client, people["first_admin"])
    leaving = batch.lines.get(student=students["first"][0])
    response = client.post(
        reverse("aid:line_update", args=[leaving.pk]), {"action": "remove", "reason": "", "version": fresh(batch).version}
    )
    assert response.status_code == 400
    assert DisbursementLine.objects.get(pk=leaving.pk).status == LineStatus.PLANNED
    response = client.post(
        reverse("aid:line_update", args=[leaving.pk]),
        {"action": "remove", "reason": "9月转学到费县", "version": fresh(batch).version},
    )
    assert response.status_code == 302
    leaving.refresh_from_db()
    assert (leaving.status, leaving.removed_reason) == (LineStatus.REMOVED, "9月转学到费县")
    response = client.post(
        reverse("aid:batch_confirm", args=[batch.pk]), {"school": county["primary"].pk, "version": fresh(batch).version}
    )
    assert response.status_code == 302
    assert SchoolConfirmation.objects.get(batch=batch, school=county["primary"]).confirmed_by == people["first_admin"]

    client = login(client, people["preparer"])
    assert post_move(client, batch, "submitted").status_code == 400  # the second school has not confirmed
    assert fresh(batch).state == State.DRAFT
    login(client, people["second_admin"]).post(
        reverse("aid:batch_confirm", args=[batch.pk]), {"school": county["junior"].pk, "version": fresh(batch).version}
    )
    client = login(client, people["preparer"])
    assert post_move(client, batch, "submitted").status_code == 302
    assert (fresh(batch).state, batch.submitted_by) == (State.SUBMITTED, people["preparer"])

    assert post_move(login(client, people["approver"]), batch, "approved").status_code == 302
    assert (fresh(batch).state, batch.approved_by) == (State.APPROVED, people["approver"])

    client = login(client, people["preparer"])
    today = timezone.localdate()
    assert post_move(client, batch, "paid", paid_on=today.isoformat(), method="one_card").status_code == 302
    assert (fresh(batch).state, batch.paid_on, batch.payment_method) == (State.PAID, today, "one_card")
    assert set(batch.lines.values_list("status", flat=True)) == {LineStatus.PAID, LineStatus.REMOVED}

    returned = batch.lines.get(student=students["second"][0])
    response = client.post(
        reverse("aid:line_update", args=[returned.pk]),
        {"action": "returned", "reason": "银行卡已注销", "version": fresh(batch).version},
    )
    assert response.status_code == 302
    returned.refresh_from_db()
    assert (returned.status, returned.result_reason) == (LineStatus.RETURNED, "银行卡已注销")

    page = client.get(batch.get_absolute_url())
    totals = page.context["totals"]
    assert (totals["planned_count"], totals["planned_amount"]) == (4, Decimal("500.00") * 2 + Decimal("625.00") * 2)
    assert (totals["paid_count"], totals["paid_amount"]) == (3, Decimal("1625.00"))
    assert (totals["failed_count"], totals["failed_amount"]) == (1, Decimal("625.00"))
    assert totals["removed_count"] == 1
    moves = [(t.from_state, t.to_state, t.by_id) for t in page.context["transitions"]]
    assert moves == [
        ("", "draft", people["preparer"].pk),
        ("draft", "submitted", people["preparer"].pk),
        ("submitted", "approved", people["approver"].pk),
        ("approved", "paid", people["preparer"].pk),
    ]
    assert "9月转学到费县" in page.content.decode() and "银行卡已注销" in page.content.decode()


def test_a_school_changes_an_amount_and_adds_a_student_with_reasons(client, county, program, people, batch):
    returning = make_student(county["primary"], status="suspended", name="复学生王")  # left out at generation
    client = login(client, people["first_admin"])
    line = batch.lines.filter(school=county["primary"]).first()
    url = reverse("aid:line_update", args=[line.pk])
    response = client.post(url, {"action": "amount", "amount": "450.00", "reason": "", "version": fresh(batch).version})
    assert response.status_code == 400
    assert DisbursementLine.objects.get(pk=line.pk).amount == Decimal("500.00")
    response = client.post(url, {"action": "amount", "amount": "450.00", "reason": "10月入学", "version": fresh(batch).version})
    assert response.status_code == 302
    line.refresh_from_db()
    assert (line.amount, line.amount_reason) == (Decimal("450.00"), "10月入学")

    search = client.get(reverse("aid:line_add", args=[batch.pk]) + "?q=复学生")
    assert list(search.context["form"].fields["student"].queryset) == [returning]
    response = client.post(
        reverse("aid:line_add", args=[batch.pk]) + "?q=复学生",
        {"student": returning.pk, "reason": "11月复学", "version": fresh(batch).version},
    )
    assert response.status_code == 302
    added = batch.lines.get(student=returning)
    assert (added.added_reason, added.amount, added.status) == ("11月复学", Decimal("500.00"), LineStatus.PLANNED)
    # A student who already has a line is not offered again.
    again = client.get(reverse("aid:line_add", args=[batch.pk]) + "?q=复学生")
    assert again.context["match_count"] == 0


def test_line_add_offers_only_the_users_students_of_the_programs_stages(client, county, people, batch):
    make_student(county["primary"], stage="senior", grade="S1", name="高中生")
    outsider = make_student(county["junior"], stage="junior", grade="J1", status="suspended", name="外校生")
    mine = make_student(county["primary"], status="suspended", name="本校生")
    response = login(client, people["first_admin"]).get(reverse("aid:line_add", args=[batch.pk]))
    assert list(response.context["form"].fields["student"].queryset) == [mine]
    response = login(client, people["first_admin"]).post(
        reverse("aid:line_add", args=[batch.pk]), {"student": outsider.pk, "reason": "x", "version": batch.version}
    )
    assert response.status_code == 400
    assert not batch.lines.filter(student=outsider).exists()


# ---------------------------------------------------------------------------------------
# Conflicts and the four-eyes rule on the page
# ---------------------------------------------------------------------------------------


def test_two_approvers_at_once_the_second_gets_the_conflict(client, county, people, batch):
    submitted(batch, people)
    second = BureauAdminFactory(region=county["county"], full_name="审核人赵")
    first_page = login(client, people["approver"]).get(batch.get_absolute_url())
    second_page = login(client, second).get(batch.get_absolute_url())
    seen = first_page.context["batch"].version
    assert second_page.context["batch"].version == seen
    assert 'value="approved"' in second_page.content.decode()

    approved = login(client, people["approver"]).post(
        reverse("aid:batch_move", args=[batch.pk]), {"to": "approved", "version": seen}
    )
    assert approved.status_code == 302
    response = login(client, second).post(reverse("aid:batch_move", args=[batch.pk]), {"to": "approved", "version": seen})
    assert response.status_code == 409
    with translation.override("zh-hans"):
        conflict = str(d.BatchConflict().message)
    assert conflict in [str(m) for m in response.context["messages"]]
    assert fresh(batch).approved_by == people["approver"]
    assert response.context["batch"].approved_by == people["approver"]
    assert "审核人李" in response.content.decode()


def test_a_conflicting_line_change_keeps_what_the_user_typed(client, county, people, batch):
    stale = batch.version
    d.line_remove(actor=people["preparer"], line=batch.lines.filter(school=county["junior"]).first(), reason="重复", expected_version=stale)
    line = batch.lines.filter(school=county["primary"]).first()
    response = login(client, people["first_admin"]).post(
        reverse("aid:line_update", args=[line.pk]),
        {"action": "amount", "amount": "321.50", "reason": "只住宿半学期", "version": stale},
    )
    assert response.status_code == 409
    content = response.content.decode()
    assert "只住宿半学期" in content and 'value="321.50"' in content
    assert f'name="version" value="{fresh(batch).version}"' in content  # ready to save again
    assert DisbursementLine.objects.get(pk=line.pk).amount == Decimal("500.00")


def test_the_preparer_never_sees_approve_and_a_school_admin_sees_no_move(client, people, batch):
    submitted(batch, people)
    page = login(client, people["preparer"]).get(batch.get_absolute_url())
    assert [move["to"] for move in page.context["moves"]] == []
    assert 'value="approved"' not in page.content.decode()
    page = login(client, people["approver"]).get(batch.get_absolute_url())
    assert [move["to"] for move in page.context["moves"]] == ["approved", "draft"]
    page = login(client, people["first_admin"]).get(batch.get_absolute_url())
    assert page.context["moves"] == [] and 'id="batch-moves"' not in page.content.decode()


def test_the_preparer_forcing_an_approval_is_refused(client, people, batch):
    submitted(batch, people)
    response = post_move(login(client, people["preparer"]), batch, "approved")
    assert response.status_code == 400
    assert fresh(batch).state == State.SUBMITTED and batch.approved_by is None


def test_the_approval_page_says_who_did_what_and_refuses_a_line_editor(client, county, people, batch):
    line = batch.lines.filter(school=county["primary"]).first()
    d.line_set_amount(actor=people["approver"], line=line, amount="400.00", reason="只住宿半学期", expected_version=batch.version)
    d.line_remove(
        actor=people["first_admin"], line=batch.lines.exclude(pk=line.pk).filter(school=county["primary"]).first(),
        reason="重复", expected_version=fresh(batch).version,
    )
    submitted(batch, people)
    page = login(client, people["approver"]).get(batch.get_absolute_url())
    html = page.content.decode()
    assert [move["to"] for move in page.context["moves"]] == []
    assert 'value="approved"' not in html and 'id="approval-barred"' in html
    editors = {str(editor): editor.line_changes for editor in page.context["line_editors"]}
    assert editors == {"审核人李": 1, str(people["first_admin"]): 1}
    facts = html[html.index('id="batch-facts"'):html.index('id="batch-totals"')]
    assert "经办人张" in facts and "审核人李" in facts and str(people["first_admin"]) in facts
    assert post_move(login(client, people["approver"]), batch, "approved").status_code == 400
    assert fresh(batch).state == State.SUBMITTED

    third = BureauAdminFactory(region=county["county"], full_name="审核人赵")
    assert post_move(login(client, third), batch, "approved").status_code == 302
    page = login(client, third).get(batch.get_absolute_url())
    approved_by = page.content.decode().split('id="approved-by">')[1].split("<")[0]
    assert approved_by == "审核人赵" and 'id="approval-barred"' not in page.content.decode()


def test_a_viewer_searches_batch_lines_only_by_the_last_four_it_is_shown(client, people, batch, students):
    student = students["first"][0]
    Student.objects.filter(pk=student.pk).update(student_number="G" + student.id_number)
    viewer = login(client, people["viewer"])

    def found(client, text):
        return [line.student_id for line in client.get(batch.get_absolute_url(), {"q": text}).context["lines"]]

    assert found(viewer, student.id_number[-4:]) == [student.pk]
    assert found(viewer, "G" + student.id_number) == [] and found(viewer, student.id_number[-8:]) == []
    assert found(login(client, people["preparer"]), "G" + student.id_number) == [student.pk]


def test_sending_back_needs_a_note(client, people, batch):
    submitted(batch, people)
    client = login(client, people["approver"])
    assert post_move(client, batch, "draft", note="").status_code == 400
    assert fresh(batch).state == State.SUBMITTED
    assert post_move(client, batch, "draft", note="金额有误，请复核").status_code == 302
    assert fresh(batch).state == State.DRAFT
    assert batch.transitions.last().note == "金额有误，请复核"


# ---------------------------------------------------------------------------------------
# Signature roster
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("role, sees_full", [("preparer", True), ("first_admin", True), ("viewer", False)])
def test_roster_is_printable_and_adds_up(client, county, program, people, students, batch, role, sees_full):
    first = students["first"]
    d.line_remove(actor=people["first_admin"], line=batch.lines.get(student=first[0]), reason="转学", expected_version=fresh(batch).version)
    d.line_set_amount(actor=people["first_admin"], line=batch.lines.get(student=first[1]), amount="333.33", reason="半学期", expected_version=fresh(batch).version)
    submitted(batch, people)
    d.batch_approve(actor=people["approver"], batch=fresh(batch), expected_version=fresh(batch).version)

    response = login(client, people[role]).get(
        reverse("aid:batch_roster_export", args=[batch.pk]) + f"?school={county['primary'].pk}"
    )
    assert response.status_code == 200
    sheet = workbook_of(response).active
    with translation.override("zh-hans"):
        title = gettext("%(term)s %(program)s signature roster") % {"term": county["term"].name, "program": program.name}
        headers = [gettext(h) for h in ("No.", "Name", "Gender", "ID number", "Stage", "Grade", "Class", "Amount", "Recipient's signature", "Note")]
        total_label = gettext("Total: %(count)s students") % {"count": 2}
    assert sheet["A1"].value == title
    assert "A1:J1" in {str(r) for r in sheet.merged_cells.ranges}
    assert county["primary"].name in sheet["G2"].value and program.name in sheet["A2"].value
    assert [cell.value for cell in sheet[3]] == headers

    rows = {row[1]: row for row in sheet.iter_rows(min_row=4, max_row=5, values_only=True)}
    assert sorted(row[0] for row in rows.values()) == [1, 2]
    for student in first[1:]:
        row = rows[student.name]
        line = batch.lines.get(student=student)
        id_number = student.id_number if sees_full else mask_id_number(student.id_number)
        with translation.override("zh-hans"):
            shown = (student.get_gender_display(), id_number, line.get_stage_display(), student.get_grade_display())
        assert row[2:6] == shown and row[6] == student.class_name
        assert money(row[7]) == line.amount
        assert row[8] is None  # left empty for the signature
        assert (row[9] or "") == line.amount_reason
    assert rows[first[1].name][9] == "半学期"
    assert all(("*" in row[3]) != sees_full for row in rows.values())

    total_row = sheet[6]
    assert total_row[0].value == total_label
    assert money(total_row[7].value) == Decimal("333.33") + Decimal("500.00")
    assert not str(total_row[7].value).startswith("=")
    assert total_row[7].font.b and total_row[0].font.b
    assert sheet["H4"].number_format == "#,##0.00"
    assert sheet.column_dimensions["I"].width >= 20 and sheet.row_dimensions[4].height >= 30
    assert "审核人李" in sheet.cell(8, 4).value and "经办人张" in sheet.cell(8, 1).value
    assert str(sheet.page_setup.paperSize) == sheet.PAPERSIZE_A4
    assert sheet.page_setup.orientation == "portrait"
    assert sheet.page_setup.fitToWidth == 1 and sheet.sheet_properties.pageSetUpPr.fitToPage
    assert sheet.print_title_rows == "$1:$3"  # the title and header on every page
    assert sheet["A3"].border.left.style == "thin" and sheet["J6"].border.bottom.style == "thin"
    log = ExportLog.objects.get(list_name="batch_roster")
    assert log.id_numbers_masked is not sees_full


@pytest.mark.parametrize("extra", [0, 60])
def test_roster_takes_a_fixed_number_of_queries_and_holds_only_the_schools_lines(
    client, county, program, people, students, extra, django_assert_max_num_queries
):
    """However many lines the school has, the roster is the same few queries, and it holds
    the school's lines only: every row bordered and 30 points high, its signature box empty,
    in the order of grade, class and name, and the total row right under the last line."""
    for index in range(extra):
        make_student(county["primary"], grade="P1" if index % 2 else "P6", class_name=f"{index % 3 + 1}班")
        make_student(county["junior"], stage="junior", grade="J1")
    batch = d.batch_create(actor=people["preparer"], program=program, term=county["term"], region=county["county"])
    primary = list(
        batch.lines.filter(school=county["primary"]).select_related("student")
        .order_by("student__grade", "student__class_name", "student__name", "pk")
    )
    client = login(client, people["preparer"])
    with django_assert_max_num_queries(9):
        response = client.get(reverse("aid:batch_roster_export", args=[batch.pk]) + f"?school={county['primary'].pk}")
    sheet = workbook_of(response).active
    body = list(sheet.iter_rows(min_row=4, max_row=3 + len(primary)))
    assert [row[1].value for row in body] == [line.student.name for line in primary]
    assert [row[0].value for row in body] == list(range(1, len(primary) + 1))
    assert sum(money(row[7].value) for row in body) == Decimal("500.00") * len(primary)
    for row in body:
        assert all(cell.border.left.style == "thin" and cell.border.bottom.style == "thin" for cell in row)
        assert row[8].value is None
        assert row[7].number_format == "#,##0.00" and row[7].alignment.horizontal == "right"
        assert row[1].alignment.horizontal == "left" and row[1].alignment.wrap_text
    assert all(sheet.row_dimensions[row].height == 30 for row in range(4, 5 + len(primary)))
    total_row = 4 + len(primary)
    with translation.override("zh-hans"):
        assert sheet.cell(total_row, 1).value == gettext("Total: %(count)s students") % {"count": len(primary)}
    assert f"A{total_row}:G{total_row}" in {str(r) for r in sheet.merged_cells.ranges}
    assert sheet.cell(total_row + 1, 1).value is None and sheet.cell(total_row + 2, 1).value.endswith("经办人张")


def test_a_school_admin_gets_their_own_roster_without_asking(client, county, people, batch, students):
    response = login(client, people["first_admin"]).get(reverse("aid:batch_roster_export", args=[batch.pk]))
    sheet = workbook_of(response).active
    assert {sheet.cell(row, 2).value for row in (4, 5, 6)} == {s.name for s in students["first"]}


# ---------------------------------------------------------------------------------------
# Term summary
# ---------------------------------------------------------------------------------------


def test_summary_by_school_and_program_matches_the_lines(client, county, program, people, students, batch):
    meals = AidProgramFactory(name="营养改善计划", stages=["primary"])
    ProgramStandard.objects.create(program=meals, stage="primary", amount=Decimal("400.10"))
    second_batch = d.batch_create(actor=people["preparer"], program=meals, term=county["term"], region=county["county"])
    d.line_remove(actor=people["preparer"], line=batch.lines.filter(school=county["junior"]).first(), reason="重复", expected_version=fresh(batch).version)
    for each in (batch, second_batch):
        submitted(each, people)
        d.batch_approve(actor=people["approver"], batch=fresh(each), expected_version=fresh(each).version)
    d.line_mark_result(actor=people["preparer"], line=second_batch.lines.first(), status="failed", reason="卡号错误", expected_version=fresh(second_batch).version)
    d.batch_record_payment(actor=people["preparer"], batch=fresh(batch), paid_on=timezone.localdate(), method="bank", expected_version=fresh(batch).version)
    d.line_mark_result(actor=people["preparer"], line=batch.lines.filter(school=county["primary"]).first(), status="returned", reason="退回", expected_version=fresh(batch).version)

    def expected(lines):
        lines = [line for line in lines if line.status != LineStatus.REMOVED]
        pick = lambda statuses: [line.amount for line in lines if line.status in statuses]  # noqa: E731
        paid, failed = pick({"paid"}), pick({"returned", "failed"})
        return (
            len(lines), sum((line.amount for line in lines), Decimal("0")),
            len(paid), sum(paid, Decimal("0")), len(failed), sum(failed, Decimal("0")),
        )

    all_lines = list(DisbursementLine.objects.all())
    response = login(client, people["preparer"]).get(reverse("aid:batch_summary_export") + f"?term={county['term'].pk}")
    book = workbook_of(response)
    by_school, by_program = book.worksheets
    with translation.override("zh-hans"):
        assert (by_school.title, by_program.title) == (gettext("By school"), gettext("By program"))
    school_rows = {row[1]: row[2:] for row in by_school.iter_rows(min_row=3, values_only=True)}
    for school in (county["primary"], county["junior"]):
        figures = school_rows[school.name]
        want = expected([line for line in all_lines if line.school_id == school.pk])
        assert tuple(figures[i] if i % 2 == 0 else money(figures[i]) for i in range(6)) == want
    program_rows = {row[0]: row[1:] for row in by_program.iter_rows(min_row=3, values_only=True)}
    for each in (program, meals):
        figures = program_rows[each.name]
        want = expected([line for line in all_lines if line.program_id == each.pk])
        assert tuple(figures[i] if i % 2 == 0 else money(figures[i]) for i in range(6)) == want
    total = expected(all_lines)
    for sheet, offset in ((by_school, 2), (by_program, 1)):
        last = list(sheet.iter_rows(min_row=sheet.max_row, values_only=True))[0]
        assert tuple(last[offset + i] if i % 2 == 0 else money(last[offset + i]) for i in range(6)) == total
        assert sheet.cell(sheet.max_row, offset + 2).number_format == "#,##0.00"

    only_meals = login(client, people["preparer"]).get(
        reverse("aid:batch_summary_export") + f"?term={county['term'].pk}&program={meals.pk}"
    )
    rows = list(workbook_of(only_meals).worksheets[1].iter_rows(min_row=3, values_only=True))
    assert [row[0] for row in rows[:-1]] == [meals.name]


def test_summary_for_a_school_admin_covers_their_school_only(client, county, people, batch):
    response = login(client, people["first_admin"]).get(reverse("aid:batch_summary_export") + f"?term={county['term'].pk}")
    rows = list(workbook_of(response).worksheets[0].iter_rows(min_row=3, values_only=True))
    assert [row[1] for row in rows[:-1]] == [county["primary"].name]


def test_money_adds_up_to_the_fen_on_the_page_in_the_summary_and_in_the_test(client, county, people):
    """Many small amounts (where binary floats drift) agree exactly everywhere."""
    program = AidProgramFactory(name="交通补助", stages=["primary"])
    ProgramStandard.objects.create(program=program, stage="primary", amount=Decimal("0.10"))
    for _ in range(97):
        make_student(county["primary"])
    batch = d.batch_create(actor=people["preparer"], program=program, term=county["term"], region=county["county"])
    odd = [Decimal("0.01") * k for k in range(1, 30)]
    for line, amount in zip(batch.lines.order_by("pk"), odd):
        DisbursementLine.objects.filter(pk=line.pk).update(amount=amount, amount_reason="按乘车天数")
    expected = sum(odd, Decimal("0")) + Decimal("0.10") * (97 - len(odd))
    assert expected == Decimal("11.15")

    client = login(client, people["preparer"])
    page = client.get(batch.get_absolute_url())
    assert page.context["totals"]["planned_amount"] == expected
    assert '<span class="value" id="planned-amount">11.15</span>' in page.content.decode()
    listed = client.get(reverse("aid:batch_list"))
    assert listed.context["batches"][0].planned_amount == expected
    book = workbook_of(client.get(reverse("aid:batch_summary_export") + f"?term={county['term'].pk}"))
    assert money(book.worksheets[0].cell(3, 4).value) == expected
    assert money(book.worksheets[1].cell(book.worksheets[1].max_row, 3).value) == expected
    roster = workbook_of(client.get(reverse("aid:batch_roster_export", args=[batch.pk]) + f"?school={county['primary'].pk}"))
    assert money(roster.active.cell(4 + 97, 8).value) == expected


# ---------------------------------------------------------------------------------------
# Precision checks
# ---------------------------------------------------------------------------------------


@pytest.fixture
def planted(county, program, people, students, batch):
    """One finding of three kinds: a student left out, a changed status, an odd amount."""
    missed = make_student(county["primary"], name="漏发生")
    dropped = students["first"][0]
    Student.objects.filter(pk=dropped.pk).update(status="dropped_out")
    odd = students["second"][0]
    DisbursementLine.objects.filter(batch=batch, student=odd).update(
        amount=Decimal("600.00"), standard_amount=Decimal("600.00")
    )
    return {"missed": missed, "ineligible": dropped, "amount": odd}


def precision_url(program, term, name="aid:precision"):
    return reverse(name) + f"?program={program.pk}&term={term.pk}"


def test_precision_page_shows_each_planted_finding(client, county, program, people, planted):
    response = login(client, people["preparer"]).get(precision_url(program, county["term"]))
    assert response.status_code == 200
    sections = {section["kind"]: section for section in response.context["sections"]}
    assert {kind: [f.student.pk for f in s["findings"]] for kind, s in sections.items()} == {
        "missed": [planted["missed"].pk],
        "duplicate": [],
        "ineligible": [planted["ineligible"].pk],
        "amount": [planted["amount"].pk],
        "off_roster": [],
    }
    content = response.content.decode()
    assert '<span class="value" id="count-missed">1</span>' in content
    assert f'id="finding-amount-{planted["amount"].pk}"' in content and "600.00" in content
    assert content.count('name="note"') == 3 + 3  # one per finding, one per kind's bulk form


def test_resolving_a_finding_moves_it_to_the_resolved_list(client, county, program, people, planted):
    client = login(client, people["first_admin"])
    data = {"program": program.pk, "term": county["term"].pk, "kind": "missed", "student": planted["missed"].pk}
    url = precision_url(program, county["term"], "aid:finding_resolve")
    response = client.post(url, {**data, "note": ""})
    assert response.status_code == 400
    assert not PrecisionResolution.objects.exists()
    response = client.post(url, {**data, "note": "已核实：10月转入，下学期纳入"})
    assert response.status_code == 302 and response["Location"] == precision_url(program, county["term"])
    resolution = PrecisionResolution.objects.get()
    assert (resolution.kind, resolution.student, resolution.resolved_by) == ("missed", planted["missed"], people["first_admin"])

    page = client.get(response["Location"])
    sections = {section["kind"]: section for section in page.context["sections"]}
    assert sections["missed"]["count"] == 0
    assert [f.student for f in page.context["resolved"]] == [planted["missed"]]
    assert "已核实：10月转入，下学期纳入" in page.content.decode()


def test_precision_scope_and_roles(client, county, program, people, planted):
    url = precision_url(program, county["term"])
    school_page = login(client, people["second_admin"]).get(url)
    found = [f.student for s in school_page.context["sections"] for f in s["findings"]]
    assert found == [planted["amount"]]  # the second school's only finding
    viewer_page = login(client, people["viewer"]).get(url)
    assert viewer_page.status_code == 200 and 'name="note"' not in viewer_page.content.decode()
    resolve = login(client, people["viewer"]).post(
        reverse("aid:finding_resolve"),
        {"program": program.pk, "term": county["term"].pk, "kind": "missed", "student": planted["missed"].pk, "note": "x"},
    )
    assert resolve.status_code == 403
    outside = login(client, people["other_admin"]).post(
        reverse("aid:finding_resolve"),
        {"program": program.pk, "term": county["term"].pk, "kind": "missed", "student": planted["missed"].pk, "note": "x"},
    )
    assert outside.status_code == 400 and not PrecisionResolution.objects.exists()


def test_precision_defaults_to_the_first_active_program_and_current_term(client, county, program, people):
    AidProgramFactory(name="停用项目", is_active=False)
    response = login(client, people["preparer"]).get(reverse("aid:precision"))
    assert (response.context["program"], response.context["term"]) == (program, county["term"])


@pytest.mark.parametrize("role, sees_full", [("preparer", True), ("viewer", False)])
def test_precision_export_has_a_sheet_per_kind_and_the_resolved(client, county, program, people, planted, role, sees_full):
    PrecisionResolution.objects.create(
        program=program, term=county["term"], kind="amount", student=planted["amount"],
        note="经核实按600元发放", resolved_by=people["preparer"],
    )
    response = login(client, people[role]).get(precision_url(program, county["term"], "aid:precision_export"))
    book = workbook_of(response)
    assert len(book.worksheets) == 6
    missed, duplicate, ineligible, amount, off_roster, resolved = book.worksheets
    student = planted["missed"]
    row = [cell.value for cell in missed[2]]
    assert row[0] == student.name
    assert row[1] == (student.id_number if sees_full else mask_id_number(student.id_number))
    assert [c.value for c in ineligible[2]][0] == planted["ineligible"].name
    assert amount.max_row == 1 and duplicate.max_row == 1 and off_roster.max_row == 1
    resolved_row = [cell.value for cell in resolved[2]]
    assert resolved_row[1] == planted["amount"].name and "经核实按600元发放" in resolved_row
    assert money(resolved_row[7]) == Decimal("600.00")
    log = ExportLog.objects.get(list_name="precision")
    assert log.id_numbers_masked is not sees_full


def test_a_batch_created_on_the_page_shows_the_services_error_beside_the_form(client, county, people):
    no_standard = AidProgramFactory(name="无标准项目", stages=["primary"])
    response = login(client, people["preparer"]).post(
        reverse("aid:batch_create"), {"program": no_standard.pk, "term": county["term"].pk, "region": county["county"].pk}
    )
    assert response.status_code == 400
    assert response.context["form"].non_field_errors()
    assert not DisbursementBatch.objects.exists()


def test_a_bureau_cannot_create_a_batch_for_another_county(client, county, program, people):
    response = login(client, people["preparer"]).post(
        reverse("aid:batch_create"), {"program": program.pk, "term": county["term"].pk, "region": county["other_county"].pk}
    )
    assert response.status_code == 400 and not DisbursementBatch.objects.exists()


def test_payment_needs_a_date_and_a_method(client, people, batch):
    submitted(batch, people)
    d.batch_approve(actor=people["approver"], batch=fresh(batch), expected_version=fresh(batch).version)
    client = login(client, people["preparer"])
    assert post_move(client, batch, "paid", paid_on="", method="cash").status_code == 400
    assert post_move(client, batch, "paid", paid_on=timezone.localdate().isoformat(), method="").status_code == 400
    assert fresh(batch).state == State.APPROVED


def test_two_people_changing_one_line_the_later_is_told_what_the_earlier_changed(client, county, people, batch):
    """The bureau sets a line's amount while the school, on a page opened before, sets
    another: the school's save is refused with the bureau's amount beside its own."""
    line = batch.lines.filter(school=county["primary"]).first()
    page = login(client, people["first_admin"]).get(batch.get_absolute_url())
    shown = {entry.pk: entry.version for entry in page.context["lines"]}
    stale = batch.version
    d.line_set_amount(actor=people["preparer"], line=line, amount=Decimal("250.00"), reason="只住宿半学期",
                      expected_version=stale, seen_version=shown[line.pk])

    response = login(client, people["first_admin"]).post(
        reverse("aid:line_update", args=[line.pk]),
        {"action": "amount", "amount": "321.50", "reason": "转学", "version": stale, "seen": shown[line.pk]},
    )

    assert response.status_code == 409
    [message] = [str(m) for m in response.context["messages"]]
    assert "经办人张" in message and "250.00" in message and "321.50" in message and "只住宿半学期" in message
    content = response.content.decode()
    assert "转学" in content and 'value="321.50"' in content
    assert DisbursementLine.objects.get(pk=line.pk).amount == Decimal("250.00")


def test_marking_a_batch_paid_writes_a_history_row_per_line_by_the_payer(people, batch):
    submitted(batch, people)
    d.batch_approve(actor=people["approver"], batch=fresh(batch), expected_version=fresh(batch).version)
    lines = list(batch.lines.values_list("pk", flat=True))
    d.batch_record_payment(actor=people["preparer"], batch=fresh(batch), paid_on=timezone.localdate(),
                           method="one_card", expected_version=fresh(batch).version)
    paid = DisbursementLine.history.filter(id__in=lines, status="paid")
    assert sorted(paid.values_list("id", flat=True)) == sorted(lines)
    assert set(paid.values_list("history_user_id", "paid_on")) == {(people["preparer"].pk, timezone.localdate())}
