"""Every change of state in the registry goes through these functions.

Views, the importer and management commands call them; they check scope, validate,
write inside a transaction and attribute the change in the history to the actor.
"""
import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from common.locking import check_unchanged

from . import hooks
from .models import Household, School, Student


def _attribute(instance, actor, reason=""):
    instance._history_user = actor
    if reason:
        instance._change_reason = reason


def _check_school_in_scope(actor, school_id):
    if not School.objects.visible_to(actor).filter(pk=school_id).exists():
        raise PermissionDenied


def _check_may_edit(actor):
    if not actor.can_edit_students:
        raise PermissionDenied


@transaction.atomic
def household_save(*, actor, household: Household, seen_version=None) -> Household:
    """`seen_version`: the household's version the form was opened at (common.locking)."""
    _check_may_edit(actor)
    check_unchanged(household, seen_version)
    household.full_clean()
    _attribute(household, actor)
    household.save()
    return household


@transaction.atomic
def student_save(
    *, actor, student: Student, household: Household | None = None, notify: bool = True,
    seen_version=None, household_seen_version=None,
) -> Student:
    """Create or update a student in the actor's scope.

    The saved student goes to the status hooks (`hooks.status_changed`: dropout control
    opens a case for a student now out of school); `notify=False` is for dropout
    control's own closing step.

    `household`, when given, is saved first and linked: pass it only when it is new or
    was changed, so that the household's history records real changes only.

    `seen_version`, `household_seen_version`: the versions the form was opened at; a save
    by someone else since then refuses this one (common.locking.EditConflict).
    """
    _check_may_edit(actor)
    if student.pk and not Student.objects.visible_to(actor).filter(pk=student.pk).exists():
        raise PermissionDenied
    _check_school_in_scope(actor, student.school_id)
    check_unchanged(student, seen_version)
    if household is not None:
        household_save(actor=actor, household=household, seen_version=household_seen_version)
        student.household = household
    student.full_clean()
    _attribute(student, actor)
    student.save()
    if notify:
        hooks.status_changed([student], actor)
    return student


@transaction.atomic
def student_leave_roster(
    *, actor, student: Student, on: datetime.date, reason: str, note: str = ""
) -> Student:
    """Take a student off the roster. Nothing is deleted; the history keeps who and when."""
    _check_may_edit(actor)
    student = Student.objects.visible_to(actor).select_for_update(of=("self",)).get(pk=student.pk)
    if not student.on_roster:
        raise ValidationError(_("This student has already left the roster."))
    student.left_roster_on = on
    student.left_roster_reason = reason
    student.left_roster_note = note
    student.full_clean()
    _attribute(student, actor, reason=_("Left the roster"))
    student.save()
    return student


@transaction.atomic
def student_return_to_roster(*, actor, student: Student) -> Student:
    """Undo a departure, for example one recorded by mistake."""
    _check_may_edit(actor)
    student = Student.objects.visible_to(actor).select_for_update(of=("self",)).get(pk=student.pk)
    if student.on_roster:
        raise ValidationError(_("This student is on the roster."))
    if Student.objects.on_roster().filter(id_number=student.id_number).exists():
        raise ValidationError(
            _("Another student on the roster has this ID number; they cannot both be on it.")
        )
    student.left_roster_on = None
    student.left_roster_reason = ""
    student.left_roster_note = ""
    _attribute(student, actor, reason=_("Returned to the roster"))
    student.save()
    return student
