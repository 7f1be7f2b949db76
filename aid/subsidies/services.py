"""Subsidy disbursement: batches and their lines, from generation to payment.

Every change to a batch goes through these functions. Each one checks the role, the
batch's state (TRANSITIONS) and the batch's version: a person acting on a page loaded
before someone else's change gets a conflict instead of silently overwriting it.
"""
import contextlib
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, Exists, F, OuterRef, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _

from aid.reference.models import AidProgram, Term
from common import bulk_writes
from common.locking import check_unchanged
from aid.subsidies.models import (
    BatchTransition,
    DisbursementBatch,
    DisbursementLine,
    PaymentMethod,
    SchoolConfirmation,
)
from notices import services as notices
from students import permissions
from students.choices import Role
from students.models import Region, School, Student, User

State = DisbursementBatch.State
LineStatus = DisbursementLine.Status

# Which moves exist, and who makes them: "bureau" (经办, any bureau administrator) or
# "approver" (审核: a bureau administrator who neither prepared nor submitted the batch nor
# changed any of its lines).
TRANSITIONS = {
    (State.DRAFT, State.SUBMITTED): "bureau",
    (State.SUBMITTED, State.DRAFT): "approver",
    (State.SUBMITTED, State.APPROVED): "approver",
    (State.APPROVED, State.PAID): "bureau",
    (State.PAID, State.CLOSED): "bureau",
}


class BatchConflict(ValidationError):
    """The batch changed since the page was loaded."""

    def __init__(self):
        super().__init__(
            _("Someone else changed this batch since you opened it. Reload the page; your change was not saved."),
            code="conflict",
        )


def is_bureau_admin(user):
    """Batches are prepared, moved and approved by the bureau."""
    return permissions.may(user, permissions.CHANGE, DisbursementBatch)


def _locked_batch(actor, batch, expected_version):
    """The batch row, locked, if it is in scope and still at the version the actor saw."""
    locked = (
        DisbursementBatch.objects.visible_to(actor)
        .select_for_update(of=("self",))
        .filter(pk=batch.pk)
        .first()
    )
    if locked is None:
        raise PermissionDenied
    if expected_version is not None and locked.version != expected_version:
        raise BatchConflict()
    return locked


def _bump(batch):
    DisbursementBatch.objects.filter(pk=batch.pk).update(version=F("version") + 1)
    batch.version += 1


def _school_lines_changed(batch, school_id):
    """A school's lines changed: its confirmation no longer holds, and the batch has a new version."""
    SchoolConfirmation.objects.filter(batch=batch, school_id=school_id).delete()
    _bump(batch)


def may_make_move(actor, batch, to_state):
    role = TRANSITIONS.get((batch.state, to_state))
    if role is None or not is_bureau_admin(actor):
        return False
    if role == "approver":
        return actor.pk not in (batch.prepared_by_id, batch.submitted_by_id) and not changed_lines_of(actor, batch)
    return True


def changed_lines_of(actor, batch):
    """Whether the actor added, removed or changed a line of the batch (the lines' history)."""
    return DisbursementLine.history.filter(batch_id=batch.pk, history_user_id=actor.pk).exists()


def line_editors(batch):
    """The accounts that changed lines of the batch, each with `line_changes`: how many
    changes the lines' history records under their name. One query. The preparer, whose
    name the generated lines' history carries, is named as the preparer instead."""
    history = DisbursementLine.history.filter(batch_id=batch.pk).exclude(history_user_id=batch.prepared_by_id)
    changes = (
        history.filter(history_user_id=OuterRef("pk"))
        .order_by()
        .values("history_user_id")
        .annotate(count=Count("history_id"))
        .values("count")
    )
    return (
        User.objects.filter(pk__in=history.values("history_user_id"))
        .annotate(line_changes=Subquery(changes))
        .order_by("full_name", "username")
    )


# ---------------------------------------------------------------------------------------
# Creating a batch
# ---------------------------------------------------------------------------------------


@transaction.atomic
def batch_create(*, actor, program, term, region):
    """Create a batch and one line per eligible student of the region at the standard
    amount. Students who already have this program for this term (another batch, or an
    item handed over on a visit) are left out: they are not paid twice."""
    if not is_bureau_admin(actor):
        raise PermissionDenied
    if not Region.objects.visible_to(actor).filter(pk=region.pk).exists():
        raise PermissionDenied
    program = (
        AidProgram.objects.serving(region).visible_to(actor)
        .prefetch_related("standards", "schools").filter(pk=program.pk).first()
    )
    if program is None:  # another county's program
        raise PermissionDenied
    missing = [stage for stage in program.stages if program.standard_amount(stage) is None]
    if missing:
        raise ValidationError(
            _("Set the standard amount of %(program)s for every eligible stage first.")
            % {"program": program.name}
        )
    batch = DisbursementBatch.objects.create(program=program, term=term, region=region, prepared_by=actor)
    BatchTransition.objects.create(batch=batch, to_state=State.DRAFT, by=actor)
    already = DisbursementLine.objects.counting().filter(
        student=OuterRef("pk"), program=program, term=term
    )
    students = program.eligible_students(
        Student.objects.visible_to(actor).filter(school__region__code__startswith=region.code)
    ).exclude(Exists(already))
    lines = [
        DisbursementLine(
            batch=batch, program=program, term=term, student_id=student_id, school_id=school_id,
            stage=stage, standard_amount=program.standard_amount(stage),
            amount=program.standard_amount(stage),
        )
        for student_id, school_id, stage in students.values_list("pk", "school_id", "stage")
    ]
    bulk_writes.create_with_history(lines, user=actor, reason="")
    return batch


# ---------------------------------------------------------------------------------------
# Reviewing lines (draft only): schools remove, add and correct with a reason
# ---------------------------------------------------------------------------------------


def _check_line_editor(actor, school_id):
    if is_bureau_admin(actor):
        return
    if actor.role == Role.SCHOOL_ADMIN and actor.school_id == school_id:
        return
    raise PermissionDenied


@contextlib.contextmanager
def _naming_line_changes(line, seen_version, **yours):
    """A batch conflict on a line's change: when this very line changed since the user saw
    it (`seen_version`), say what, their value beside the user's (common.locking)."""
    try:
        yield
    except BatchConflict:
        for name, value in yours.items():
            setattr(line, name, value)
        check_unchanged(line, seen_version)
        raise


def _draft(actor, batch, expected_version):
    batch = _locked_batch(actor, batch, expected_version)
    if batch.state != State.DRAFT:
        raise ValidationError(_("This batch is no longer a draft; its lines cannot change."))
    return batch


@transaction.atomic
def line_remove(*, actor, line, reason, expected_version, seen_version=None):
    with _naming_line_changes(line, seen_version, status=LineStatus.REMOVED, removed_reason=reason.strip()):
        batch = _draft(actor, line.batch, expected_version)
    _check_line_editor(actor, line.school_id)
    if not reason.strip():
        raise ValidationError({"reason": _("Say why the student is removed from the batch.")})
    line = DisbursementLine.objects.select_for_update().get(pk=line.pk, batch=batch)
    line.status = LineStatus.REMOVED
    line.removed_reason = reason.strip()
    line._history_user = actor
    line.save()
    _school_lines_changed(batch, line.school_id)
    return line


@transaction.atomic
def line_add(*, actor, batch, student, reason, expected_version):
    """A school adds a student the generation left out (e.g. newly enrolled), with a reason."""
    batch = _draft(actor, batch, expected_version)
    student = Student.objects.visible_to(actor).on_roster().filter(pk=student.pk).first()
    if student is None:
        raise PermissionDenied
    _check_line_editor(actor, student.school_id)
    if not student.school.region.code.startswith(batch.region.code) or student.stage not in batch.program.stages:
        raise ValidationError(
            _("%(name)s is not in this batch's region or in a stage %(program)s covers.")
            % {"name": student.name, "program": batch.program.name}
        )
    if not reason.strip():
        raise ValidationError({"reason": _("Say why the student is added to the batch.")})
    standard = batch.program.standard_amount(student.stage)
    if standard is None:
        raise ValidationError(
            _("%(program)s has no standard amount for this student's stage.") % {"program": batch.program.name}
        )
    line = DisbursementLine(
        batch=batch, program=batch.program, term=batch.term, student=student, school_id=student.school_id,
        stage=student.stage, standard_amount=standard, amount=standard, added_reason=reason.strip(),
    )
    line._history_user = actor
    try:
        with transaction.atomic():
            line.save()
    except IntegrityError:
        raise ValidationError(
            _("%(name)s already has %(program)s for %(term)s.")
            % {"name": student.name, "program": batch.program.name, "term": batch.term.name}
        ) from None
    _school_lines_changed(batch, student.school_id)
    return line


@transaction.atomic
def lines_add(*, actor, batch, students, reason):
    """Several students the generation left out (漏发 findings) added to a draft batch with
    one reason: all of them, or none, with a message naming each one that cannot be added."""
    batch = _draft(actor, batch, None)
    errors = []
    lines = []
    for student in students:
        try:
            lines.append(line_add(actor=actor, batch=batch, student=student, reason=reason, expected_version=None))
        except ValidationError as error:
            errors.extend(error.messages)
    if errors:
        raise ValidationError(errors)
    return lines


@transaction.atomic
def line_set_amount(*, actor, line, amount, reason, expected_version, seen_version=None):
    with _naming_line_changes(line, seen_version, amount=amount, amount_reason=reason.strip()):
        batch = _draft(actor, line.batch, expected_version)
    _check_line_editor(actor, line.school_id)
    amount = Decimal(amount)
    if amount < 0:
        raise ValidationError({"amount": _("The amount cannot be negative.")})
    line = DisbursementLine.objects.select_for_update().get(pk=line.pk, batch=batch)
    if amount != line.standard_amount and not reason.strip():
        raise ValidationError({"reason": _("Say why the amount differs from the standard.")})
    line.amount = amount
    line.amount_reason = "" if amount == line.standard_amount else reason.strip()
    line._history_user = actor
    line.save()
    _school_lines_changed(batch, line.school_id)
    return line


@transaction.atomic
def school_confirm(*, actor, batch, school, expected_version):
    """A school confirms its lines of a draft batch (any later change asks again)."""
    batch = _draft(actor, batch, expected_version)
    _check_line_editor(actor, school.pk)
    if not batch.lines.filter(school=school).exists():
        raise ValidationError(_("This school has no lines in the batch."))
    SchoolConfirmation.objects.get_or_create(batch=batch, school=school, defaults={"confirmed_by": actor})
    _bump(batch)


def unconfirmed_schools(batch):
    confirmed = batch.confirmations.values("school_id")
    return School.objects.filter(pk__in=batch.lines.counting().values("school_id")).exclude(pk__in=confirmed)


# ---------------------------------------------------------------------------------------
# Moving the batch
# ---------------------------------------------------------------------------------------


def _move(actor, batch, to_state, note=""):
    if not may_make_move(actor, batch, to_state):
        raise PermissionDenied
    BatchTransition.objects.create(batch=batch, from_state=batch.state, to_state=to_state, by=actor, note=note)
    batch.state = to_state


@transaction.atomic
def batch_submit(*, actor, batch, expected_version):
    """经办 submits the reviewed batch for approval; every school must have confirmed."""
    batch = _locked_batch(actor, batch, expected_version)
    if not may_make_move(actor, batch, State.SUBMITTED):
        raise PermissionDenied
    if unconfirmed_schools(batch).exists():
        raise ValidationError(_("Every school must confirm its lines before the batch is submitted."))
    _move(actor, batch, State.SUBMITTED)
    batch.submitted_by = actor
    batch.save(update_fields=["state", "submitted_by"])
    _bump(batch)
    return batch


@transaction.atomic
def batch_approve(*, actor, batch, expected_version):
    """审核 approves: a different account from the ones that prepared or submitted it or
    changed any of its lines. From here the batch is frozen except for payment results."""
    batch = _locked_batch(actor, batch, expected_version)
    if batch.state == State.SUBMITTED and not may_make_move(actor, batch, State.APPROVED):
        raise ValidationError(
            _(
                "Whoever prepared or submitted a batch or changed its lines cannot approve it; "
                "another account must."
            )
        )
    _move(actor, batch, State.APPROVED)
    batch.approved_by = actor
    batch.save(update_fields=["state", "approved_by"])
    _bump(batch)
    return batch


@transaction.atomic
def batch_return(*, actor, batch, note, expected_version):
    """The approver sends a submitted batch back to draft, saying why."""
    batch = _locked_batch(actor, batch, expected_version)
    if not note.strip():
        raise ValidationError({"note": _("Say why the batch is sent back.")})
    _move(actor, batch, State.DRAFT, note=note.strip())
    batch.submitted_by = None
    batch.save(update_fields=["state", "submitted_by"])
    batch.confirmations.all().delete()
    _bump(batch)
    notices.batch_returned(batch)
    return batch


@transaction.atomic
def batch_record_payment(*, actor, batch, paid_on, method, expected_version):
    """Every planned line is paid on that date with that method (lines already marked
    failed keep their result)."""
    batch = _locked_batch(actor, batch, expected_version)
    if method not in PaymentMethod.values:
        raise ValidationError({"method": _("Choose a payment method.")})
    if paid_on is None:
        raise ValidationError({"paid_on": _("Give the payment date.")})
    if paid_on > timezone.localdate():
        raise ValidationError({"paid_on": _("The payment date cannot be in the future.")})
    _move(actor, batch, State.PAID)
    batch.paid_on = paid_on
    batch.payment_method = method
    batch.save(update_fields=["state", "paid_on", "payment_method"])
    lines = list(batch.lines.filter(status=LineStatus.PLANNED))
    for line in lines:
        line.status, line.paid_on, line.payment_method = LineStatus.PAID, paid_on, method
    bulk_writes.update_with_history(lines, ["status", "paid_on", "payment_method"], user=actor, reason="")
    _bump(batch)
    return batch


@transaction.atomic
def batch_close(*, actor, batch, expected_version):
    batch = _locked_batch(actor, batch, expected_version)
    _move(actor, batch, State.CLOSED)
    batch.save(update_fields=["state"])
    _bump(batch)
    return batch


RESULTS_ALLOWED = {
    # batch state → line status → the results it may take
    State.APPROVED: {LineStatus.PLANNED: {LineStatus.FAILED}},
    State.PAID: {LineStatus.PAID: {LineStatus.RETURNED, LineStatus.FAILED}},
}


@transaction.atomic
def line_mark_result(*, actor, line, status, reason, expected_version, seen_version=None):
    """A payment came back (returned) or could not be made (failed): the only change an
    approved batch still accepts."""
    with _naming_line_changes(line, seen_version, status=status, result_reason=reason.strip()):
        batch = _locked_batch(actor, line.batch, expected_version)
    if not is_bureau_admin(actor):
        raise PermissionDenied
    line = DisbursementLine.objects.select_for_update().get(pk=line.pk, batch=batch)
    allowed = RESULTS_ALLOWED.get(batch.state, {}).get(line.status, set())
    if status not in allowed:
        raise ValidationError(_("This result cannot be recorded for this line now."))
    if not reason.strip():
        raise ValidationError({"reason": _("Say why the payment was returned or failed.")})
    line.status = status
    line.result_reason = reason.strip()
    line._history_user = actor
    line.save()
    _bump(batch)
    return line


# ---------------------------------------------------------------------------------------
# Items handed over on home visits
# ---------------------------------------------------------------------------------------


def record_visit_deliveries(visit, deliveries):
    """Items of an in-kind program handed over on a visit count as that program's payment
    for the term: an existing planned line is marked paid, otherwise a paid line is
    created. A student who already received it this term is not recorded twice."""
    term = Term.objects.filter(starts_on__lte=visit.visited_on, ends_on__gte=visit.visited_on).first()
    if term is None:
        return
    for item, quantity in deliveries.items():
        if not quantity or item.program_id is None:
            continue
        program = AidProgram.objects.prefetch_related("standards").get(pk=item.program_id)
        existing = (
            DisbursementLine.objects.counting()
            .select_for_update()
            .filter(program=program, term=term, student=visit.student)
            .first()
        )
        if existing is not None:
            if existing.status == LineStatus.PLANNED:
                existing.status = LineStatus.PAID
                existing.paid_on = visit.visited_on
                existing.payment_method = PaymentMethod.IN_KIND
                existing.visit = visit
                existing.quantity = quantity
                existing.save()
            continue
        standard = program.standard_amount(visit.student.stage) or Decimal("0")
        DisbursementLine.objects.create(
            visit=visit, program=program, term=term, student=visit.student,
            school_id=visit.student.school_id, stage=visit.student.stage,
            standard_amount=standard, amount=standard, quantity=quantity,
            status=LineStatus.PAID, paid_on=visit.visited_on, payment_method=PaymentMethod.IN_KIND,
        )
