"""Every change of state in the casework: pairing, visits, school pairings.

Views, imports and commands call these functions; they check scope and role, validate,
and write inside a transaction.
"""
import datetime
import secrets

from django.contrib.auth import get_user_model, password_validation
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext as _
from simple_history.utils import bulk_create_with_history

from aid.casework.models import (
    ExchangeActivity,
    HomeVisit,
    Pairing,
    PolicyCheck,
    SchoolPairing,
    VisitDelivery,
)
from aid.dropout.services import open_case_for_visit
from aid.evidence.models import Attachment
from aid.evidence.services import attachments_add
from aid.reference.models import programs_applying_to
from aid.subsidies.services import record_visit_deliveries
from students import permissions
from students.choices import Role
from students.models import School, Student

User = get_user_model()


# ---------------------------------------------------------------------------------------
# Pairings
# ---------------------------------------------------------------------------------------


def may_pair(actor):
    return permissions.may(actor, permissions.CHANGE, Pairing)


def pairing_teachers(actor):
    """The teachers the actor may pair students with: active teachers of schools in scope."""
    return User.objects.filter(
        role=Role.TEACHER,
        is_active=True,
        school__in=School.objects.visible_to(actor),
    ).select_related("school").order_by("school__name", "full_name")


@transaction.atomic
def pairing_assign(*, actor, students, teacher, started_on=None, reason=""):
    """Make `teacher` the responsible teacher of each student.

    A student's current pairing, if any, ends the day before with `reason`, so that a
    student never has two active pairings (the database enforces it too). Students and
    teacher must be in the actor's scope and of the same school.
    """
    if not may_pair(actor):
        raise PermissionDenied
    started_on = started_on or timezone.localdate()
    if started_on > timezone.localdate():
        raise ValidationError(_("A pairing cannot start in the future."))
    if not pairing_teachers(actor).filter(pk=teacher.pk).exists():
        raise PermissionDenied
    student_ids = [student.pk for student in students]
    visible = list(
        Student.objects.visible_to(actor).on_roster().filter(pk__in=student_ids).select_for_update(of=("self",))
    )
    if len(visible) != len(set(student_ids)):
        raise PermissionDenied
    wrong_school = [student.name for student in visible if student.school_id != teacher.school_id]
    if wrong_school:
        raise ValidationError(
            _("A teacher can only be paired with students of their own school: %(names)s.")
            % {"names": "、".join(wrong_school)}
        )
    current = {
        pairing.student_id: pairing
        for pairing in Pairing.objects.active().filter(student_id__in=student_ids).select_for_update()
    }
    created = []
    for student in visible:
        previous = current.get(student.pk)
        if previous is not None:
            if previous.teacher_id == teacher.pk:
                continue
            if not reason:
                raise ValidationError(_("Say why the pairing teacher changes."))
            if started_on < previous.started_on:
                raise ValidationError(
                    _("The new pairing cannot start before the current one, which started on %(date)s.")
                    % {"date": previous.started_on.isoformat()}
                )
            end_on = max(started_on - datetime.timedelta(days=1), previous.started_on)
            _end(previous, actor=actor, ended_on=end_on, reason=reason)
        created.append(
            Pairing(student=student, teacher=teacher, started_on=started_on, created_by=actor)
        )
    try:
        with transaction.atomic():
            bulk_create_with_history(created, Pairing, default_user=actor)
    except IntegrityError:
        raise ValidationError(
            _("Someone else changed these pairings at the same time; reload and try again.")
        ) from None
    return created


def _end(pairing, *, actor, ended_on, reason):
    pairing.ended_on = ended_on
    pairing.end_reason = reason
    pairing.ended_by = actor
    pairing.save(update_fields=["ended_on", "end_reason", "ended_by"])


@transaction.atomic
def pairing_end(*, actor, pairing, ended_on=None, reason):
    """End a pairing without a successor (the student then shows as unpaired)."""
    if not may_pair(actor):
        raise PermissionDenied
    pairing = Pairing.objects.visible_to(actor).active().select_for_update(of=("self",)).get(pk=pairing.pk)
    if not reason:
        raise ValidationError(_("Say why the pairing ends."))
    ended_on = ended_on or timezone.localdate()
    if ended_on < pairing.started_on:
        raise ValidationError(_("A pairing cannot end before it started."))
    _end(pairing, actor=actor, ended_on=ended_on, reason=reason)
    return pairing


# ---------------------------------------------------------------------------------------
# Teachers
# ---------------------------------------------------------------------------------------


@transaction.atomic
def teacher_create(*, actor, full_name, phone, school, subject="", username=None, password=None):
    """A school administrator (or the bureau) opens a teacher's account at a school in scope.
    The teacher must choose a password of their own at the first login."""
    if not may_pair(actor):
        raise PermissionDenied
    if not School.objects.visible_to(actor).filter(pk=school.pk).exists():
        raise PermissionDenied
    username = username or phone
    if User.objects.filter(username=username).exists():
        raise ValidationError(
            _("An account with the login %(username)s already exists.") % {"username": username}
        )
    teacher = User(
        username=username, full_name=full_name, phone=phone, school=school,
        subject=subject, role=Role.TEACHER, must_change_password=True,
    )
    if password:
        teacher.set_password(password)
    else:
        teacher.set_unusable_password()
    teacher.full_clean()
    teacher.save()
    return teacher


# ---------------------------------------------------------------------------------------
# Home visits
# ---------------------------------------------------------------------------------------


def may_record_visit(actor, student):
    """Teachers record visits for their paired students; school and bureau admins for any
    student in their scope."""
    if not student.on_roster or not permissions.may(actor, permissions.ADD, HomeVisit):
        return False
    if actor.role == Role.TEACHER:
        return Pairing.objects.active().filter(teacher=actor, student=student).exists()
    return Student.objects.visible_to(actor).filter(pk=student.pk).exists()


def visit_colleagues(student):
    """Staff who may be named as other visitors: active staff of the student's school."""
    return User.objects.filter(school_id=student.school_id, is_active=True).order_by("full_name")


def _check_policy_answers(student, policy_answers):
    """Every program that applies must be answered; 'not delivered' needs a reason."""
    applying = {program.pk: program for program in programs_applying_to(student)}
    errors = {}
    for program_id, program in applying.items():
        answer = policy_answers.get(program_id)
        if answer is None:
            errors[program_id] = _("Answer whether %(program)s was delivered.") % {"program": program.name}
        elif not answer[0] and not answer[1].strip():
            errors[program_id] = _("Say why %(program)s was not delivered.") % {"program": program.name}
    if errors:
        raise ValidationError(errors)
    return applying


@transaction.atomic
def visit_record(*, actor, student, visit, other_visitors=(), policy_answers=None, deliveries=None, photos=()):
    """Save a new visit with its checklist, items delivered and photos.

    `policy_answers`: {program id: (delivered, reason)}; `deliveries`: {item: quantity};
    `photos`: PreparedImage (common.images).
    """
    if not may_record_visit(actor, student):
        raise PermissionDenied
    if visit.visited_on > timezone.localdate():
        raise ValidationError({"visited_on": _("The visit date cannot be in the future.")})
    applying = _check_policy_answers(student, policy_answers or {})
    visit.student = student
    visit.author = actor
    visit._history_user = actor
    visit.full_clean()
    save_without_history(visit)
    _save_details(visit, student, other_visitors, policy_answers or {}, applying, deliveries or {})
    write_visit_history(visit, created=True)
    attachments_add(actor=actor, pictures=photos, kind=Attachment.Kind.VISIT_PHOTO, visit=visit)
    return visit


def _save_details(visit, student, other_visitors, policy_answers, applying, deliveries):
    allowed = set(visit_colleagues(student).values_list("pk", flat=True))
    visitors = [user for user in other_visitors if user.pk in allowed and user.pk != visit.author_id]
    visit.other_visitors.set(visitors)
    visit.policy_checks.all().delete()
    bulk_create_with_history([
        PolicyCheck(
            visit=visit,
            program=program,
            delivered=policy_answers[program_id][0],
            reason="" if policy_answers[program_id][0] else policy_answers[program_id][1].strip(),
        )
        for program_id, program in applying.items()
    ], PolicyCheck, default_user=visit._history_user)
    visit.deliveries.all().delete()
    bulk_create_with_history([
        VisitDelivery(visit=visit, item=item, quantity=quantity)
        for item, quantity in deliveries.items()
        if quantity
    ], VisitDelivery, default_user=visit._history_user)
    record_visit_deliveries(visit, deliveries)
    open_case_for_visit(visit)


def visit_details(visit):
    """Who else came, the checklist and the items handed over, as plain data."""
    return {
        "other_visitors": sorted(str(user) for user in visit.other_visitors.all()),
        "policy_checks": sorted(
            [check.program.name, check.delivered, check.reason]
            for check in visit.policy_checks.select_related("program")
        ),
        "deliveries": sorted(
            [delivery.item.name, delivery.quantity, delivery.item.unit]
            for delivery in visit.deliveries.select_related("item")
        ),
    }


def save_without_history(visit):
    """Save the visit's own fields; its history record follows once the details are saved
    (they need the visit's id first), so that one record holds both (write_visit_history)."""
    visit.skip_history_when_saving = True
    try:
        visit.save()
    finally:
        del visit.skip_history_when_saving


def write_visit_history(visit, *, created):
    """The visit's history record, with the details as they now stand: written once, as
    history records cannot be changed afterwards."""
    HomeVisit.history.bulk_history_create(
        [visit], update=not created, custom_historical_attrs={"details": visit_details(visit)}
    )


def visit_edit_permission(actor, visit, now=None):
    """'author' while the author's 7 days run, 'correction' for a school or bureau admin
    afterwards (a reason is required), None otherwise."""
    now = now or timezone.now()
    if visit.author_id == actor.pk and now <= visit.editable_by_author_until():
        return "author"
    if actor.is_superuser or actor.role in (Role.SCHOOL_ADMIN, Role.BUREAU_ADMIN):
        if Student.objects.visible_to(actor).filter(pk=visit.student_id).exists():
            return "correction"
    return None


@transaction.atomic
def visit_update(
    *, actor, visit, other_visitors=(), policy_answers=None, deliveries=None, reason="", photos=()
):
    """Edit a visit: by its author within 7 days, later only by an admin with a reason.
    `photos` are added to those the visit has."""
    permission = visit_edit_permission(actor, visit)
    if permission is None:
        raise PermissionDenied
    if permission == "correction" and not reason.strip():
        raise ValidationError({"reason": _("Say why this visit is corrected.")})
    applying = _check_policy_answers(visit.student, policy_answers or {})
    visit._history_user = actor
    visit._change_reason = reason.strip()
    visit.full_clean()
    save_without_history(visit)
    _save_details(visit, visit.student, other_visitors, policy_answers or {}, applying, deliveries or {})
    write_visit_history(visit, created=False)
    attachments_add(actor=actor, pictures=photos, kind=Attachment.Kind.VISIT_PHOTO, visit=visit)
    return visit


# ---------------------------------------------------------------------------------------
# School pairings
# ---------------------------------------------------------------------------------------


def may_manage_school_pairings(actor):
    return permissions.may(actor, permissions.ADD, SchoolPairing)


@transaction.atomic
def school_pairing_create(*, actor, lead_school, supported_schools, started_on, goals=""):
    if not may_manage_school_pairings(actor):
        raise PermissionDenied
    visible = School.objects.visible_to(actor)
    schools = [lead_school, *supported_schools]
    if visible.filter(pk__in=[school.pk for school in schools]).count() != len(set(schools)):
        raise PermissionDenied
    if lead_school in supported_schools:
        raise ValidationError(_("A school cannot support itself."))
    if not supported_schools:
        raise ValidationError(_("Choose at least one supported school."))
    pairing = SchoolPairing.objects.create(lead_school=lead_school, started_on=started_on, goals=goals)
    pairing.supported_schools.set(supported_schools)
    return pairing


@transaction.atomic
def exchange_activity_record(*, actor, pairing, kind, held_on, summary, participants=""):
    """The bureau or a staff member of one of the paired schools records an activity."""
    if not permissions.may(actor, permissions.ADD, ExchangeActivity):
        raise PermissionDenied
    pairing = SchoolPairing.objects.visible_to(actor).get(pk=pairing.pk)
    if held_on > timezone.localdate():
        raise ValidationError({"held_on": _("The date cannot be in the future.")})
    activity = ExchangeActivity(
        pairing=pairing, kind=kind, held_on=held_on, summary=summary,
        participants=participants, recorded_by=actor,
    )
    activity.full_clean()
    activity.save()
    return activity


# ---------------------------------------------------------------------------------------
# Pairing work lists and teacher passwords
# ---------------------------------------------------------------------------------------


def unpaired_students(actor):
    """Students on the roster in the actor's scope without an active pairing: the work list."""
    paired = Pairing.objects.active().filter(student_id=OuterRef("pk"))
    return Student.objects.visible_to(actor).on_roster().filter(~Exists(paired))


# One-time passwords: easy to read off a printed slip and type on a phone (no 0/O, 1/l/I).
ONE_TIME_PASSWORD_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ"
ONE_TIME_PASSWORD_LENGTH = 10


def one_time_password():
    return "".join(secrets.choice(ONE_TIME_PASSWORD_ALPHABET) for _position in range(ONE_TIME_PASSWORD_LENGTH))


@transaction.atomic
def teachers_issue_one_time_passwords(*, actor, teachers):
    """Give each of `teachers` (active, of a school in scope) a new random password that
    they must change at their first login; returns [(teacher, password)] for the login
    slips, the only place the passwords are ever shown. All of them, or none."""
    if not may_pair(actor):
        raise PermissionDenied
    ids = {teacher.pk for teacher in teachers}
    locked = list(pairing_teachers(actor).select_for_update(of=("self",)).filter(pk__in=ids))
    if len(locked) != len(ids):
        raise PermissionDenied
    issued = []
    for teacher in locked:
        password = one_time_password()
        teacher.set_password(password)
        teacher.must_change_password = True
        teacher.save(update_fields=["password", "must_change_password"])
        issued.append((teacher, password))
    return issued


@transaction.atomic
def teacher_set_password(*, actor, teacher, password):
    """A school administrator (or the bureau) sets the password of an active teacher in scope,
    e.g. the first one of an imported account. The teacher must replace it at the next login."""
    if not may_pair(actor):
        raise PermissionDenied
    teacher = pairing_teachers(actor).select_for_update(of=("self",)).filter(pk=teacher.pk).first()
    if teacher is None:
        raise PermissionDenied
    password_validation.validate_password(password, teacher)
    teacher.set_password(password)
    teacher.must_change_password = True
    teacher.save(update_fields=["password", "must_change_password"])
    return teacher
