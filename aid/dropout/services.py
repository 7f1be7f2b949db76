"""Dropout control (控辍保学): cases open by themselves and close only with an outcome.

A case opens when a student's status becomes dropped out or not enrolled, when a home
visit finds a high dropout risk, or by hand; a student has one open case at most.
"""
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from simple_history.utils import bulk_create_with_history

from aid.dropout.models import CaseReopening, CaseResponsible, DropoutCase, PersuasionAttempt
from common.locking import check_unchanged
from notices import services as notices
from students import permissions
from students import services as student_services
from students.choices import Role, Status
from students.models import School, Student, User

OUT_OF_SCHOOL = (Status.DROPPED_OUT, Status.NOT_ENROLLED)
Outcome = DropoutCase.Outcome
# The enrolment status a closed case leaves the student with.
STATUS_AFTER = {
    Outcome.RETURNED: Status.ENROLLED,
    Outcome.HOME_TAUGHT: Status.HOME_TAUGHT,
    Outcome.TRANSFERRED: Status.OUTSIDE_COUNTY,
}


def may_manage_cases(user):
    return permissions.may(user, permissions.CHANGE, DropoutCase)


def _open(student, *, kind, trigger, opened_by=None, visit=None, reason="", note=""):
    """Open a case unless the student already has one open (the database agrees)."""
    if DropoutCase.objects.open().filter(student=student).exists():
        return None
    try:
        with transaction.atomic():
            return DropoutCase.objects.create(
                student=student, kind=kind, trigger=trigger, opened_by=opened_by, visit=visit,
                reason=reason, reason_note=note,
            )
    except IntegrityError:  # opened by someone else at the same moment
        return None


def open_cases_for_status(students, actor=None):
    """Called whenever statuses change (forms, imports): students now out of school get a
    dropout case unless one is open. Two queries for any number of students."""
    out = {s.pk: s for s in students if s.status in OUT_OF_SCHOOL and s.on_roster}
    already = set(DropoutCase.objects.open().filter(student_id__in=out).values_list("student_id", flat=True))
    cases = [status_case(student, actor) for pk, student in out.items() if pk not in already]
    try:
        with transaction.atomic():
            return bulk_create_with_history(cases, DropoutCase, default_user=actor)
    except IntegrityError:  # someone opened one of them at the same moment: one at a time
        opened = (
            _open(c.student, kind=c.kind, trigger=c.trigger, opened_by=actor) for c in cases
        )
        return [case for case in opened if case is not None]


def open_case_for_visit(visit):
    """A home visit that found a high dropout risk opens a risk case."""
    if visit.dropout_risk != visit.Risk.HIGH:
        return None
    case = visit_case(visit)
    return _open(case.student, kind=case.kind, trigger=case.trigger, opened_by=case.opened_by, visit=visit)


def status_case(student, actor=None):
    """The case (unsaved) that a student's status out of school opens."""
    return DropoutCase(student=student, kind=DropoutCase.Kind.DROPOUT, trigger=DropoutCase.Trigger.STATUS,
                       opened_by=actor)


def visit_case(visit):
    """The case (unsaved) that a home visit finding a high dropout risk opens."""
    return DropoutCase(student=visit.student, kind=DropoutCase.Kind.RISK, trigger=DropoutCase.Trigger.VISIT,
                       opened_by=visit.author, visit=visit)


@transaction.atomic
def case_open(*, actor, student, kind, reason="", note=""):
    if not may_manage_cases(actor) or not Student.objects.visible_to(actor).filter(pk=student.pk).exists():
        raise PermissionDenied
    if not student.on_roster:
        raise ValidationError(_("This student has left the roster."))
    case = _open(student, kind=kind, trigger=DropoutCase.Trigger.MANUAL, opened_by=actor, reason=reason, note=note)
    if case is None:
        raise ValidationError(_("This student already has an open case."))
    return case


def _case_in_scope(actor, case):
    if not may_manage_cases(actor):
        raise PermissionDenied
    return DropoutCase.objects.visible_to(actor).select_for_update(of=("self",)).get(pk=case.pk)


@transaction.atomic
def case_update(*, actor, case, reason, note="", seen_version=None):
    """Correct the reason; refused if someone else changed the case since `seen_version`."""
    case = _case_in_scope(actor, case)
    case.reason = reason
    case.reason_note = note
    check_unchanged(case, seen_version)
    case.full_clean()
    case.save(update_fields=["reason", "reason_note"])
    return case


def responsible_staff(case):
    """The accounts that may be named a case's responsible person: the active teachers and
    administrators of the student's school."""
    return User.objects.filter(
        is_active=True, role__in=(Role.TEACHER, Role.SCHOOL_ADMIN), school_id=case.student.school_id
    ).order_by("full_name", "username")


@transaction.atomic
def case_add_responsible(*, actor, case, role, name, phone="", account=None):
    """Name a responsible person (包保责任人); one with an account is told of the case."""
    case = _case_in_scope(actor, case)
    if account is not None and not responsible_staff(case).filter(pk=account.pk).exists():
        raise PermissionDenied
    person = CaseResponsible(case=case, role=role, name=name, phone=phone, account=account)
    person.full_clean()
    person.save()
    notices.case_assigned(case, person)
    return person


@transaction.atomic
def case_record_attempt(*, actor, case, attempted_on, persons, method, outcome):
    """劝返: anyone responsible may record an attempt, teachers of paired students too."""
    case = DropoutCase.objects.visible_to(actor).get(pk=case.pk)
    if not permissions.may(actor, permissions.ADD, PersuasionAttempt):
        raise PermissionDenied
    if case.closed_on is not None:
        raise ValidationError(_("This case is closed."))
    if attempted_on > timezone.localdate() or attempted_on < case.opened_on:
        raise ValidationError({"attempted_on": _("The date must lie between the opening of the case and today.")})
    attempt = PersuasionAttempt(
        case=case, attempted_on=attempted_on, persons=persons, method=method, outcome=outcome, recorded_by=actor
    )
    attempt.full_clean()
    attempt.save()
    return attempt


@transaction.atomic
def case_close(*, actor, case, outcome, closed_on=None, note="", receiving_school="", return_school=None):
    """Close a case with its outcome, updating the student's status in the same step.

    Returned: the student is enrolled again (at `return_school` when given); taught at
    home: 送教上门; transferred: studying outside the county, with the receiving school;
    other: an explanation, and the status stays as it is — so a case is never closed
    "returned" while the student's record says otherwise.
    """
    case = _case_in_scope(actor, case)
    closed_on = closed_on or timezone.localdate()
    DropoutCase.MOVES.check(case.state, DropoutCase.State.CLOSED)
    if outcome not in Outcome.values:
        raise ValidationError({"outcome": _("Choose how the case ends.")})
    if outcome == Outcome.TRANSFERRED and not receiving_school.strip():
        raise ValidationError({"receiving_school": _("Name the school that received the student.")})
    if outcome == Outcome.OTHER and not note.strip():
        raise ValidationError({"note": _("Explain how the case ends.")})
    if closed_on < case.opened_on or closed_on > timezone.localdate():
        raise ValidationError({"closed_on": _("The date must lie between the opening of the case and today.")})
    student = Student.objects.select_for_update(of=("self",)).get(pk=case.student_id)
    if outcome in STATUS_AFTER:
        student.status = STATUS_AFTER[outcome]
        if return_school is not None:
            if not School.objects.visible_to(actor).filter(pk=return_school.pk).exists():
                raise PermissionDenied
            student.school = return_school
        student_services.student_save(actor=actor, student=student, notify=False)
    case.outcome = outcome
    case.outcome_note = note.strip()
    case.receiving_school = receiving_school.strip()
    case.closed_on = closed_on
    case.closed_by = actor
    case.save()
    return case


@transaction.atomic
def case_reopen(*, actor, case, reason):
    """Open a closed case again (the student left school again, or it was closed in error),
    saying why; its outcome is kept in the reopening. The student's status is not changed:
    it is corrected on the student's page if it is wrong."""
    case = _case_in_scope(actor, case)
    DropoutCase.MOVES.check(case.state, DropoutCase.State.OPEN)
    if not reason.strip():
        raise ValidationError({"reason": _("Say why the case is reopened.")})
    CaseReopening.objects.create(
        case=case, reason=reason.strip(), reopened_by=actor,
        previous_closed_on=case.closed_on, previous_outcome=case.outcome,
    )
    case.closed_on = None
    case.closed_by = None
    case.outcome = ""
    case.outcome_note = ""
    case.receiving_school = ""
    try:
        with transaction.atomic():
            case.save()
    except IntegrityError:
        raise ValidationError(_("This student already has an open case.")) from None
    return case
