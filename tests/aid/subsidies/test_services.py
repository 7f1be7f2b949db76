"""Subsidy batches: eligibility, the state machine, integrity and the precision checks."""
import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from aid.reference.models import ProgramStandard
from aid.subsidies import services as d
from aid.subsidies.models import (
    DisbursementBatch,
    DisbursementLine,
    PrecisionResolution,
)
from aid.subsidies import precision
from aid.subsidies.precision import finding_resolve, open_findings_count, precision_report
from students.models import Household, Student
from tests.factories import (
    AidProgramFactory,
    BureauAdminFactory,
    HouseholdFactory,
    RegionFactory,
    SchoolAdminFactory,
    SchoolFactory,
    StudentFactory,
    TownshipFactory,
    ViewerFactory,
    previous_term,
)
from tests.history import rewrite_history

pytestmark = pytest.mark.django_db
State = DisbursementBatch.State


@pytest.fixture
def program():
    """寄宿生生活补助 for primary and junior boarders of the poorest categories."""
    program = AidProgramFactory(
        name="家庭经济困难寄宿生生活补助",
        stages=["primary", "junior"],
        household_categories=["registered_poor", "dibao"],
        boarders_only=True,
    )
    ProgramStandard.objects.create(program=program, stage="primary", amount=Decimal("500.00"))
    ProgramStandard.objects.create(program=program, stage="junior", amount=Decimal("625.00"))
    return program


@pytest.fixture
def clerks(county):
    """经办 and 审核: two bureau accounts, and a school administrator."""
    return {
        "preparer": BureauAdminFactory(region=county["county"]),
        "approver": BureauAdminFactory(region=county["county"]),
        "school": SchoolAdminFactory(school=county["primary"]),
    }


def make_student(school, stage="primary", grade="P4", category="registered_poor", boarder=True, **extra):
    household = HouseholdFactory(category=category, township=school.region)
    return StudentFactory(school=school, stage=stage, grade=grade, household=household, is_boarder=boarder, **extra)


def test_lines_generated_for_exactly_the_eligible_students(county, program, clerks):
    eligible = [
        make_student(county["primary"]),
        make_student(county["junior"], stage="junior", grade="J2", category="dibao"),
    ]
    make_student(county["primary"], boarder=False)  # not a boarder
    make_student(county["primary"], category="registered_lifted")  # category not eligible
    make_student(county["junior"], stage="senior", grade="S1")  # stage not eligible
    make_student(county["primary"], status="dropped_out")  # not in school
    make_student(county["primary"], left_roster_on=datetime.date(2026, 1, 1), left_roster_reason="other")
    make_student(SchoolFactory(region=TownshipFactory(code="371325100", parent=RegionFactory(code="371325", name="费县"))))
    batch = d.batch_create(actor=clerks["preparer"], program=program, term=county["term"], region=county["county"])
    lines = {line.student_id: line.amount for line in batch.lines.all()}
    assert lines == {eligible[0].pk: Decimal("500.00"), eligible[1].pk: Decimal("625.00")}


def test_a_second_batch_does_not_pay_the_same_students_again(county, program, clerks):
    make_student(county["primary"])
    d.batch_create(actor=clerks["preparer"], program=program, term=county["term"], region=county["county"])
    again = d.batch_create(actor=clerks["preparer"], program=program, term=county["term"], region=county["county"])
    assert again.lines.count() == 0


def test_database_refuses_a_second_line_for_the_same_program_term_and_student(county, program, clerks):
    student = make_student(county["primary"])
    batch = d.batch_create(actor=clerks["preparer"], program=program, term=county["term"], region=county["county"])
    other = DisbursementBatch.objects.create(
        program=program, term=county["term"], region=county["county"], prepared_by=clerks["preparer"]
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        DisbursementLine.objects.create(
            batch=other, program=program, term=county["term"], student=student, school=student.school,
            stage="primary", standard_amount=Decimal("500"), amount=Decimal("500"),
        )
    assert batch.lines.count() == 1


def walk_to(state, batch, clerks):
    """Move a batch along the happy path up to `state`."""
    steps = [State.SUBMITTED, State.APPROVED, State.PAID, State.CLOSED]
    for step in steps[: steps.index(state) + 1]:
        batch.refresh_from_db()
        if step == State.SUBMITTED:
            for school_id in batch.lines.values_list("school_id", flat=True).distinct():
                batch.refresh_from_db()
                d.school_confirm(actor=clerks["preparer"], batch=batch, school=SchoolFactory._meta.model.objects.get(pk=school_id), expected_version=batch.version)
            batch.refresh_from_db()
            d.batch_submit(actor=clerks["preparer"], batch=batch, expected_version=batch.version)
        elif step == State.APPROVED:
            d.batch_approve(actor=clerks["approver"], batch=batch, expected_version=batch.version)
        elif step == State.PAID:
            d.batch_record_payment(actor=clerks["preparer"], batch=batch, paid_on=timezone.localdate(), method="one_card", expected_version=batch.version)
        else:
            d.batch_close(actor=clerks["preparer"], batch=batch, expected_version=batch.version)
    batch.refresh_from_db()
    return batch


class TestStateMachine:
    @pytest.fixture
    def batch(self, county, program, clerks):
        make_student(county["primary"])
        return d.batch_create(actor=clerks["preparer"], program=program, term=county["term"], region=county["county"])

    def test_happy_path_records_each_transition(self, batch, clerks):
        batch = walk_to(State.CLOSED, batch, clerks)
        moves = list(batch.transitions.values_list("from_state", "to_state", "by"))
        assert moves == [
            ("", "draft", clerks["preparer"].pk),
            ("draft", "submitted", clerks["preparer"].pk),
            ("submitted", "approved", clerks["approver"].pk),
            ("approved", "paid", clerks["preparer"].pk),
            ("paid", "closed", clerks["preparer"].pk),
        ]
        assert batch.lines.get().status == "paid"

    def test_submitting_needs_every_school_to_confirm(self, batch, clerks):
        with pytest.raises(ValidationError):
            d.batch_submit(actor=clerks["preparer"], batch=batch, expected_version=batch.version)

    def test_preparer_or_submitter_can_never_approve(self, batch, clerks):
        batch = walk_to(State.SUBMITTED, batch, clerks)
        with pytest.raises(ValidationError):
            d.batch_approve(actor=clerks["preparer"], batch=batch, expected_version=batch.version)
        batch.refresh_from_db()
        assert batch.state == State.SUBMITTED

    def test_whoever_changed_a_line_cannot_approve_or_send_back(self, batch, clerks, county):
        """Four eyes: the bureau administrator who corrected an amount is not the approver."""
        d.line_set_amount(
            actor=clerks["approver"], line=batch.lines.get(), amount="450.00", reason="只住宿半学期",
            expected_version=batch.version,
        )
        batch = walk_to(State.SUBMITTED, batch, clerks)
        with pytest.raises(ValidationError):
            d.batch_approve(actor=clerks["approver"], batch=batch, expected_version=batch.version)
        with pytest.raises(PermissionDenied):
            d.batch_return(actor=clerks["approver"], batch=batch, note="请复核", expected_version=batch.version)
        batch.refresh_from_db()
        assert batch.state == State.SUBMITTED
        third = BureauAdminFactory(region=county["county"])
        d.batch_approve(actor=third, batch=batch, expected_version=batch.version)
        batch.refresh_from_db()
        assert batch.approved_by == third

    def test_a_school_adding_a_line_makes_its_administrator_a_line_editor(self, batch, clerks, county):
        late = make_student(county["primary"], boarder=False, name="晚到生")
        d.line_add(actor=clerks["school"], batch=batch, student=late, reason="新入学", expected_version=batch.version)
        batch.refresh_from_db()
        d.line_remove(actor=clerks["school"], line=batch.lines.get(student=late), reason="重复", expected_version=batch.version)
        editors = list(d.line_editors(batch))
        assert editors == [clerks["school"]] and editors[0].line_changes == 2
        assert d.changed_lines_of(clerks["school"], batch) and not d.changed_lines_of(clerks["approver"], batch)

    def test_database_refuses_approver_equal_to_preparer(self, batch, clerks):
        with pytest.raises(IntegrityError), transaction.atomic():
            DisbursementBatch.objects.filter(pk=batch.pk).update(approved_by=clerks["preparer"])

    @pytest.mark.parametrize("role", ["school", "viewer"])
    def test_school_admins_and_viewers_cannot_move_batches(self, batch, clerks, role, county):
        actor = clerks["school"] if role == "school" else ViewerFactory(region=county["county"])
        with pytest.raises(PermissionDenied):
            d.batch_submit(actor=actor, batch=batch, expected_version=batch.version)

    def test_moves_out_of_order_are_refused(self, batch, clerks):
        with pytest.raises(PermissionDenied):
            d.batch_record_payment(actor=clerks["preparer"], batch=batch, paid_on=timezone.localdate(), method="cash", expected_version=batch.version)
        with pytest.raises(PermissionDenied):
            d.batch_close(actor=clerks["preparer"], batch=batch, expected_version=batch.version)

    def test_approved_batch_is_frozen_except_payment_results(self, batch, clerks):
        batch = walk_to(State.APPROVED, batch, clerks)
        line = batch.lines.get()
        with pytest.raises(ValidationError):
            d.line_remove(actor=clerks["preparer"], line=line, reason="重复", expected_version=batch.version)
        d.line_mark_result(actor=clerks["preparer"], line=line, status="failed", reason="卡号错误", expected_version=batch.version)
        assert DisbursementLine.objects.get(pk=line.pk).status == "failed"

    def test_returned_back_to_draft_with_a_reason(self, batch, clerks):
        batch = walk_to(State.SUBMITTED, batch, clerks)
        d.batch_return(actor=clerks["approver"], batch=batch, note="金额有误", expected_version=batch.version)
        batch.refresh_from_db()
        assert batch.state == State.DRAFT and not batch.confirmations.exists()

    def test_concurrent_approval_second_one_gets_a_conflict(self, batch, clerks, county):
        batch = walk_to(State.SUBMITTED, batch, clerks)
        second_approver = BureauAdminFactory(region=county["county"])
        seen_version = batch.version  # both opened the page at this version
        d.batch_approve(actor=clerks["approver"], batch=batch, expected_version=seen_version)
        with pytest.raises(d.BatchConflict):
            d.batch_approve(actor=second_approver, batch=batch, expected_version=seen_version)
        batch.refresh_from_db()
        assert batch.approved_by == clerks["approver"]


class TestLineReview:
    def test_school_removes_adds_and_changes_amount_with_reasons(self, county, program, clerks):
        first = make_student(county["primary"])
        late = make_student(county["primary"], boarder=False)
        batch = d.batch_create(actor=clerks["preparer"], program=program, term=county["term"], region=county["county"])
        line = batch.lines.get()
        school = clerks["school"]
        with pytest.raises(ValidationError):
            d.line_set_amount(actor=school, line=line, amount="450.00", reason="", expected_version=batch.version)
        batch.refresh_from_db()
        d.line_set_amount(actor=school, line=line, amount="450.00", reason="学期中途入住", expected_version=batch.version)
        batch.refresh_from_db()
        added = d.line_add(actor=school, batch=batch, student=late, reason="9月起寄宿", expected_version=batch.version)
        batch.refresh_from_db()
        d.line_remove(actor=school, line=added, reason="核实后不符合", expected_version=batch.version)
        assert DisbursementLine.objects.get(pk=line.pk).amount == Decimal("450.00")
        assert DisbursementLine.objects.get(pk=added.pk).status == "removed"
        assert first.pk == line.student_id

    def test_stale_page_gets_a_conflict(self, county, program, clerks):
        make_student(county["primary"])
        batch = d.batch_create(actor=clerks["preparer"], program=program, term=county["term"], region=county["county"])
        line = batch.lines.get()
        d.line_set_amount(actor=clerks["school"], line=line, amount="400", reason="半学期", expected_version=0)
        with pytest.raises(d.BatchConflict):
            d.line_set_amount(actor=clerks["preparer"], line=line, amount="300", reason="另一人", expected_version=0)

    def test_school_admin_cannot_touch_another_schools_line(self, county, program, clerks):
        make_student(county["junior"], stage="junior", grade="J1")
        batch = d.batch_create(actor=clerks["preparer"], program=program, term=county["term"], region=county["county"])
        with pytest.raises(PermissionDenied):
            d.line_remove(actor=clerks["school"], line=batch.lines.get(), reason="x", expected_version=batch.version)


def test_many_small_amounts_add_up_to_the_fen(county, clerks):
    program = AidProgramFactory(name="营养改善计划", stages=["primary"], household_categories=[])
    ProgramStandard.objects.create(program=program, stage="primary", amount=Decimal("0.10"))
    for _ in range(30):
        make_student(county["primary"], boarder=False)
    batch = d.batch_create(actor=clerks["preparer"], program=program, term=county["term"], region=county["county"])
    from django.db.models import Sum

    total = batch.lines.aggregate(total=Sum("amount"))["total"]
    assert total == Decimal("3.00")  # 30 × 0.10, where floats would give 3.0000000000000013
    assert isinstance(total, Decimal)


class TestPrecisionChecks:
    def test_no_missed_students_before_any_batch_exists(self, county, program, clerks):
        make_student(county["primary"])
        report = precision_report(clerks["preparer"], program, county["term"])
        assert report.findings["missed"] == []

    def test_each_check_finds_what_was_planted_and_nothing_else(self, county, program, clerks):
        term = county["term"]
        fine = make_student(county["primary"])
        missed = make_student(county["primary"])
        ineligible = make_student(county["primary"], category="registered_lifted")
        wrong_amount = make_student(county["primary"])
        left_later = make_student(county["primary"])
        batch = DisbursementBatch.objects.create(program=program, term=term, region=county["county"], prepared_by=clerks["preparer"])

        def line(student, amount="500.00", reason="", **extra):
            return DisbursementLine.objects.create(
                batch=batch, program=program, term=term, student=student, school=student.school,
                stage=student.stage, standard_amount=Decimal(amount), amount=Decimal(amount),
                amount_reason=reason, **extra,
            )

        line(fine)
        line(ineligible)
        line(wrong_amount, amount="480.00")  # standard snapshot says 480, the program says 500
        line(left_later, status="paid", paid_on=datetime.date(2026, 10, 1))
        # The same person under a second record (a duplicate registration) paid again.
        twin = StudentFactory(
            school=county["primary"], id_number=fine.id_number, household=fine.household, is_boarder=True,
            left_roster_on=datetime.date(2026, 9, 30), left_roster_reason="duplicate",
        )
        line(twin)
        # Registered on 1 September; left the roster on 1 November, after being paid.
        rewrite_history(Student.history, history_date=datetime.datetime(2026, 9, 1, tzinfo=datetime.timezone.utc))
        from students import services

        services.student_leave_roster(
            actor=clerks["preparer"], student=left_later, on=datetime.date(2026, 11, 1), reason="moved_away"
        )

        report = precision_report(clerks["preparer"], program, term)
        names = {kind: sorted(f.student.name for f in items) for kind, items in report.findings.items()}
        assert names["missed"] == [missed.name]
        assert names["duplicate"] == [fine.name]
        assert sorted(names["ineligible"]) == sorted([ineligible.name, twin.name])
        assert names["amount"] == [wrong_amount.name]
        assert names["off_roster"] == [left_later.name]
        # Paid on 1 October while still on the roster: eligible on the payment date.
        assert left_later.name not in names["ineligible"]

    def test_paid_lines_are_checked_against_the_household_category_of_the_payment_day(
        self, county, program, clerks
    ):
        poor_then = make_student(county["primary"], category="registered_poor")
        lifted_then = make_student(county["primary"], category="registered_lifted")
        batch = DisbursementBatch.objects.create(
            program=program, term=county["term"], region=county["county"], prepared_by=clerks["preparer"]
        )
        for student in (poor_then, lifted_then):
            DisbursementLine.objects.create(
                batch=batch, program=program, term=county["term"], student=student, school=student.school,
                stage=student.stage, standard_amount=Decimal("500.00"), amount=Decimal("500.00"),
                status="paid", paid_on=datetime.date(2026, 10, 1),
            )
        september = datetime.datetime(2026, 9, 1, tzinfo=datetime.timezone.utc)
        rewrite_history(Student.history, history_date=september)
        rewrite_history(Household.history, history_date=september)
        # In November the first family is lifted out of poverty and the second falls back.
        for student, category in ((poor_then, "registered_lifted"), (lifted_then, "registered_poor")):
            student.household.category = category
            student.household.save()

        report = precision_report(clerks["preparer"], program, county["term"])

        assert [f.student for f in report.findings["ineligible"]] == [lifted_then]
        assert report.findings["ineligible"][0].detail == "家庭类别"

    def test_resolved_findings_are_kept_apart(self, county, program, clerks):
        d.batch_create(actor=clerks["preparer"], program=program, term=county["term"], region=county["county"])
        missed = make_student(county["primary"])  # a boarder who arrived after the batch
        finding_resolve(actor=clerks["preparer"], program=program, term=county["term"], kind="missed", student=missed, note="已转学，下学期由新学校发放")
        report = precision_report(clerks["preparer"], program, county["term"])
        assert report.findings["missed"] == []
        assert [f.resolution.note for f in report.resolved] == ["已转学，下学期由新学校发放"]
        assert PrecisionResolution.objects.get().resolved_by == clerks["preparer"]


class TestPrecisionChecksInTheDatabase:
    """The checks select and count in the database; the page makes objects of the first few."""

    def paid_line(self, batch, student, paid_on=datetime.date(2026, 10, 1)):
        return DisbursementLine.objects.create(
            batch=batch, program=batch.program, term=batch.term, student=student, school=student.school,
            stage=student.stage, standard_amount=Decimal("500.00"), amount=Decimal("500.00"),
            status="paid", paid_on=paid_on,
        )

    @pytest.mark.parametrize("keys_first", [precision.KEYS_FIRST, 1])
    def test_a_paid_line_is_judged_on_the_payment_day_whether_or_not_the_record_changed_since(
        self, county, program, clerks, keys_first, monkeypatch
    ):
        """With two lines whose records changed since: picked by their keys, and (more than
        KEYS_FIRST of them) by the history itself."""
        monkeypatch.setattr(precision, "KEYS_FIRST", keys_first)
        batch = DisbursementBatch.objects.create(
            program=program, term=county["term"], region=county["county"], prepared_by=clerks["preparer"]
        )
        never_eligible = make_student(county["primary"], boarder=False)  # unchanged since: the database judges it
        eligible_then = make_student(county["primary"])  # stops boarding after the payment
        eligible_since = make_student(county["primary"], boarder=False)  # starts boarding after the payment
        for student in (never_eligible, eligible_then, eligible_since):
            self.paid_line(batch, student)
        september = datetime.datetime(2026, 9, 1, tzinfo=datetime.timezone.utc)
        rewrite_history(Student.history, history_date=september)
        rewrite_history(Household.history, history_date=september)
        for student, boarder in ((eligible_then, False), (eligible_since, True)):
            student.is_boarder = boarder
            student.save()

        report = precision_report(clerks["preparer"], program, county["term"])

        found = sorted((f.student.name, f.detail) for f in report.findings["ineligible"])
        assert found == sorted([(never_eligible.name, "非寄宿生"), (eligible_since.name, "非寄宿生")])
        assert report.counts["ineligible"] == 2
        assert open_findings_count(clerks["preparer"], program, county["term"]) == report.open_count() == 2

    def test_a_limit_makes_objects_of_the_first_findings_and_counts_them_all(self, county, program, clerks):
        d.batch_create(actor=clerks["preparer"], program=program, term=county["term"], region=county["county"])
        arrived = [make_student(county["primary"]) for _n in range(5)]  # after the batch: missed
        finding_resolve(
            actor=clerks["preparer"], program=program, term=county["term"], kind="missed", student=arrived[0],
            note="下学期发放",
        )

        report = precision_report(clerks["preparer"], program, county["term"], limit=2)

        assert report.counts["missed"] == 4 and len(report.findings["missed"]) == 2
        assert {f.student for f in report.findings["missed"]} <= set(arrived[1:])
        assert report.resolved_count == 1 and [f.student for f in report.resolved] == [arrived[0]]

    def test_line_findings_are_listed_alike_few_or_many(self, county, program, clerks, monkeypatch):
        """A check's lines are fetched by their keys when it finds few of them
        (precision.KEYS_FIRST) and listed as they stand when it finds more: the same list."""
        for _n in range(5):
            make_student(county["primary"])
        d.batch_create(actor=clerks["preparer"], program=program, term=county["term"], region=county["county"])
        # The standard changes after the batch: five amounts off it, with no reason given.
        ProgramStandard.objects.filter(program=program).update(amount=F("amount") + 1)

        def listed():
            report = precision_report(clerks["preparer"], program, county["term"], limit=3)
            return report.counts["amount"], [(f.student.pk, f.detail) for f in report.findings["amount"]]

        by_keys = listed()
        monkeypatch.setattr(precision, "KEYS_FIRST", 2)
        assert listed() == by_keys
        assert by_keys[0] == 5 and len(by_keys[1]) == 3

    def test_a_duplicate_is_resolved_under_any_of_its_records(self, county, program, clerks):
        batch = DisbursementBatch.objects.create(
            program=program, term=county["term"], region=county["county"], prepared_by=clerks["preparer"]
        )
        first = make_student(county["primary"])
        second = StudentFactory(
            school=county["primary"], id_number=first.id_number, household=first.household,
            left_roster_on=datetime.date(2026, 9, 30), left_roster_reason="duplicate",
        )
        for student in (first, second):
            self.paid_line(batch, student)
        assert precision_report(clerks["preparer"], program, county["term"]).counts["duplicate"] == 1

        for student in (first, second):
            PrecisionResolution.objects.filter(kind="duplicate").delete()
            finding_resolve(
                actor=clerks["preparer"], program=program, term=county["term"], kind="duplicate", student=student,
                note="重复注册，已注销一条",
            )
            report = precision_report(clerks["preparer"], program, county["term"])
            assert report.counts["duplicate"] == 0 and report.resolved_count == 1
            assert report.resolved[0].resolution.note == "重复注册，已注销一条"

    def test_the_page_takes_the_same_queries_for_few_and_many_findings(
        self, county, program, clerks, client_for, django_assert_max_num_queries
    ):
        d.batch_create(actor=clerks["preparer"], program=program, term=county["term"], region=county["county"])
        client = client_for(clerks["preparer"])
        url = reverse("aid:precision")
        query = {"program": program.pk, "term": county["term"].pk}
        counts = []
        for students in (1, 12):
            for _n in range(students):
                make_student(county["primary"])
            with CaptureQueriesContext(connection) as queries:
                page = client.get(url, query)
            counts.append(len(queries.captured_queries))
        assert page.context["open_count"] == 13
        assert counts[0] == counts[1]


def test_lines_of_other_terms_or_programs_do_not_keep_a_student_out(county, program, clerks):
    """Only a line of this program for this term means "already included"."""
    student = make_student(county["primary"])
    earlier = previous_term()
    other_program = AidProgramFactory(name="营养改善计划", stages=["primary"])
    ProgramStandard.objects.create(program=other_program, stage="primary", amount=Decimal("100"))
    d.batch_create(actor=clerks["preparer"], program=program, term=earlier, region=county["county"])
    d.batch_create(actor=clerks["preparer"], program=other_program, term=county["term"], region=county["county"])
    batch = d.batch_create(actor=clerks["preparer"], program=program, term=county["term"], region=county["county"])
    assert list(batch.lines.values_list("student_id", flat=True)) == [student.pk]
