"""Grid supervision (网格督导) and school improvement projects (薄弱学校改造).

Every change goes through a function here; views, imports and commands call them.

Who may act:
- grid groups and projects: bureau administrators, in their county;
- inspections: the leader or a member of a grid, for schools in the grid's townships, and
  bureau administrators for any school of their county covered by a grid;
- a rectification item: the administrator of its school reports what was done; the
  leader or a member of the grid that opened it, or a bureau administrator, closes it or
  reopens it with a reason (kept in the item's history).
Everyone but teachers reads the supervision pages of their scope.
"""
import datetime
from dataclasses import dataclass
from decimal import Decimal
from typing import NamedTuple

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, DecimalField, Exists, F, Max, OuterRef, Q, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _
from simple_history.utils import bulk_create_with_history

from aid.evidence.models import Attachment
from aid.evidence.services import attachments_add
from aid.reference.models import ChecklistItem
from aid.supervision.models import (
    ChecklistAnswer,
    GridGroup,
    Inspection,
    Rectification,
    SchoolProject,
)
from common.locking import check_unchanged
from notices import services as notices
from students import permissions
from students.choices import RegionLevel, Role
from students.models import Region, School

User = get_user_model()

# The inspection form offers this many rectification lines.
MAX_RECTIFICATIONS = 5

# The roles a grid's leader and members may have.
GRID_ROLES = (Role.GRID_LEADER, Role.BUREAU_ADMIN)

Status = Rectification.Status
# The moves of a rectification item: action → (statuses it may start from, status it ends in).
TRANSITIONS = {
    "report": ((Status.OPEN, Status.REOPENED), Status.REPORTED),
    "close": ((Status.REPORTED,), Status.CLOSED),
    "reopen": ((Status.REPORTED, Status.CLOSED), Status.REOPENED),
}


class Answer(NamedTuple):
    """One line of an inspection's checklist."""

    item: ChecklistItem
    satisfactory: bool
    note: str = ""


class RectificationItem(NamedTuple):
    """Something the inspected school must put right by a deadline."""

    description: str
    deadline: datetime.date


# ---------------------------------------------------------------------------------------
# Who may do what
# ---------------------------------------------------------------------------------------


def _active(user):
    return user.is_authenticated and user.is_active


def may_read(user):
    """Teachers, and accounts without a role, have no supervision pages."""
    return permissions.may(user, permissions.VIEW, GridGroup)


def may_manage(user):
    """Grid groups and projects are kept by the bureau."""
    return permissions.may(user, permissions.CHANGE, GridGroup)


def may_record_inspections(user):
    return permissions.may(user, permissions.ADD, Inspection)


def in_grid(user, grid):
    return grid.leader_id == user.pk or grid.members.filter(pk=user.pk).exists()


def may_record_under(user, grid):
    """Whether `user` records inspections in the name of `grid` (already in their scope)."""
    if may_manage(user):
        return True
    return may_record_inspections(user) and in_grid(user, grid)


def inspection_grids(user, school):
    """The grids in whose name `user` may inspect `school`: the grids covering its township
    that the user leads or belongs to; for a bureau administrator, any that covers it."""
    if not may_record_inspections(user):
        return GridGroup.objects.none()
    grids = GridGroup.objects.visible_to(user).filter(townships=school.region_id)
    if may_manage(user):
        return grids
    return grids.filter(Q(leader=user) | Q(members=user)).distinct()


def inspectable_schools(user):
    """The schools `user` may record an inspection for."""
    if not may_record_inspections(user):
        return School.objects.none()
    covered = GridGroup.townships.through.objects.filter(
        gridgroup__in=GridGroup.objects.visible_to(user)
    ).values("region_id")
    return School.objects.visible_to(user).filter(region__in=covered)


def schools_due_inspection(user, term):
    """The schools `user` may inspect with no inspection dated within `term`, annotated with
    `last_inspected_on`; never inspected first, then the longest ago."""
    inspected = Inspection.objects.filter(
        school_id=OuterRef("pk"), inspected_on__gte=term.starts_on, inspected_on__lte=term.ends_on
    )
    return (
        inspectable_schools(user)
        .exclude(Exists(inspected))
        .annotate(last_inspected_on=Max("inspections__inspected_on"))
        .order_by(F("last_inspected_on").asc(nulls_first=True), "name", "pk")
    )


def grid_people(grids):
    """The leaders and members of `grids`: who may be named as inspectors."""
    members = GridGroup.members.through.objects.filter(gridgroup__in=grids).values("user_id")
    return User.objects.filter(Q(pk__in=grids.values("leader_id")) | Q(pk__in=members))


def grid_staff(user):
    """The accounts a bureau administrator may name as a grid's leader or members."""
    if not may_manage(user):
        return User.objects.none()
    staff = User.objects.filter(is_active=True, role__in=GRID_ROLES)
    if user.region_id:
        staff = staff.filter(region__code__startswith=user.region.code)
    return staff.order_by("full_name", "username")


def may_report(user, rectification):
    return (
        _active(user)
        and user.role == Role.SCHOOL_ADMIN
        and user.school_id == rectification.school_id
    )


def may_follow_up(user, rectification):
    """Close or reopen: the grid that opened the item, or a bureau administrator."""
    if not Rectification.objects.visible_to(user).filter(pk=rectification.pk).exists():
        return False
    if may_manage(user):
        return True
    return user.role == Role.GRID_LEADER and in_grid(user, rectification.inspection.grid)


def rectification_actions(user, rectification):
    """The actions `user` may take on the item now, in the order the page offers them."""
    permitted = {
        "report": may_report,
        "close": may_follow_up,
        "reopen": may_follow_up,
    }
    return [
        action
        for action, (sources, _target) in TRANSITIONS.items()
        if rectification.status in sources and permitted[action](user, rectification)
    ]


def days_overdue(rectification, today=None):
    """Days past the deadline of an item not closed; 0 on the deadline day itself."""
    today = today or timezone.localdate()
    if not rectification.is_overdue(today):
        return 0
    return (today - rectification.deadline).days


# ---------------------------------------------------------------------------------------
# Grid groups
# ---------------------------------------------------------------------------------------


def _check_grid(actor, *, grid, name, leader, members, townships):
    """The grid's county (the townships' parent), or a ValidationError keyed by field."""
    errors = {}
    townships = list(townships)
    visible = set(Region.objects.visible_to(actor).townships().values_list("pk", flat=True))
    counties = {township.parent_id for township in townships}
    if not townships:
        errors["townships"] = _("Choose the townships the grid covers.")
    elif any(
        township.level != RegionLevel.TOWNSHIP or township.pk not in visible
        for township in townships
    ):
        errors["townships"] = _("Choose townships of your county.")
    elif len(counties) > 1:
        errors["townships"] = _("A grid covers townships of one county only.")
    else:
        taken = Region.objects.filter(
            pk__in=[township.pk for township in townships], grid_groups__isnull=False
        )
        if grid is not None:
            taken = taken.exclude(grid_groups=grid)
        taken_names = list(taken.values_list("name", flat=True).distinct())
        if taken_names:
            errors["townships"] = _("Already covered by another grid: %(names)s.") % {
                "names": "、".join(sorted(taken_names))
            }
    if "townships" in errors:
        raise ValidationError(errors)
    county = Region.objects.get(pk=counties.pop())

    if not name.strip():
        errors["name"] = _("Give the grid a name.")
    else:
        same_name = GridGroup.objects.filter(region=county, name=name.strip())
        if grid is not None:
            same_name = same_name.exclude(pk=grid.pk)
        if same_name.exists():
            errors["name"] = _("The county already has a grid with this name.")
    people = {leader.pk} | {member.pk for member in members}
    eligible = User.objects.filter(
        pk__in=people, is_active=True, role__in=GRID_ROLES, region__code__startswith=county.code
    ).values_list("pk", flat=True)
    outsiders = people - set(eligible)
    if leader.pk in outsiders:
        errors["leader"] = _("The leader must be a grid leader or bureau account of the county.")
    if outsiders - {leader.pk}:
        errors["members"] = _("Members must be grid leader or bureau accounts of the county.")
    if errors:
        raise ValidationError(errors)
    return county


def _save_grid(actor, grid, *, name, leader, members, townships):
    """Check the grid (None for a new one), then write it. The database holds the rules too
    (one grid per township, one grid of a name per county): when a grid written meanwhile
    breaks one, the check runs again to say which."""

    def check():
        return _check_grid(actor, grid=grid, name=name, leader=leader, members=members, townships=townships)

    county = check()
    saved = grid or GridGroup()
    saved.name, saved.region, saved.leader = name.strip(), county, leader
    try:
        with transaction.atomic():
            saved.save()
            saved.members.set([member for member in members if member.pk != leader.pk])
            saved.townships.set(townships)
    except IntegrityError:
        check()
        raise
    return saved


@transaction.atomic
def grid_create(*, actor, name, leader, townships, members=()):
    if not may_manage(actor):
        raise PermissionDenied
    return _save_grid(actor, None, name=name, leader=leader, members=members, townships=townships)


@transaction.atomic
def grid_update(*, actor, grid, name, leader, townships, members=()):
    if not may_manage(actor) or not GridGroup.objects.visible_to(actor).filter(pk=grid.pk).exists():
        raise PermissionDenied
    grid = GridGroup.objects.select_for_update().get(pk=grid.pk)
    return _save_grid(actor, grid, name=name, leader=leader, members=members, townships=townships)


# ---------------------------------------------------------------------------------------
# Inspections
# ---------------------------------------------------------------------------------------


def active_checklist(region):
    """The checklist inspections in `region` answer: the shared points and its county's."""
    return ChecklistItem.objects.serving(region).filter(is_active=True)


def check_answer(satisfactory, note):
    if not satisfactory and not note.strip():
        raise ValidationError(_("Say what is not satisfactory."), code="note_required")


def check_deadline(inspected_on, deadline):
    if deadline <= inspected_on:
        raise ValidationError(
            _("The deadline must be after the inspection date."), code="deadline_too_early"
        )


def _check_inspection(*, grid, inspected_on, inspectors, answers, rectifications, today):
    errors = {}
    if inspected_on > today:
        errors["inspected_on"] = _("The inspection date cannot be in the future.")
    inspector_ids = {inspector.pk for inspector in inspectors}
    if not inspector_ids:
        errors["inspectors"] = _("Name at least one inspector.")
    elif inspector_ids - set(
        grid_people(GridGroup.objects.filter(pk=grid.pk)).values_list("pk", flat=True)
    ):
        errors["inspectors"] = _("Inspectors must be the grid's leader or members.")

    answer_errors = []
    answered = [answer.item.pk for answer in answers]
    if sorted(answered) != sorted(active_checklist(grid.region).values_list("pk", flat=True)):
        answer_errors.append(_("Answer every item of the checklist, once."))
    for answer in answers:
        try:
            check_answer(answer.satisfactory, answer.note)
        except ValidationError:
            answer_errors.append(
                _("%(item)s: say what is not satisfactory.") % {"item": answer.item.text}
            )
    if answer_errors:
        errors["answers"] = answer_errors

    item_errors = []
    if len(rectifications) > MAX_RECTIFICATIONS:
        item_errors.append(
            _("At most %(count)s rectification items.") % {"count": MAX_RECTIFICATIONS}
        )
    for number, item in enumerate(rectifications, start=1):
        if not item.description.strip():
            item_errors.append(_("Item %(number)s: say what must be put right.") % {"number": number})
        try:
            check_deadline(inspected_on, item.deadline)
        except ValidationError:
            item_errors.append(
                _("Item %(number)s: the deadline must be after the inspection date.")
                % {"number": number}
            )
    if item_errors:
        errors["rectifications"] = item_errors
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def inspection_record(
    *, actor, school, grid, inspected_on, inspectors, answers, findings="", rectifications=(), today=None
):
    """Record an inspection with its whole checklist (a list of Answer), its findings and
    its rectification items (RectificationItem, owned by the inspected school): all of it
    or, on any error, nothing."""
    if not inspection_grids(actor, school).filter(pk=grid.pk).exists():
        raise PermissionDenied
    answers, rectifications = list(answers), list(rectifications)
    _check_inspection(
        grid=grid,
        inspected_on=inspected_on,
        inspectors=inspectors,
        answers=answers,
        rectifications=rectifications,
        today=today or timezone.localdate(),
    )
    inspection = Inspection.objects.create(
        school=school, grid=grid, inspected_on=inspected_on, findings=findings.strip(), recorded_by=actor
    )
    inspection.inspectors.set(inspectors)
    bulk_create_with_history([
        ChecklistAnswer(
            inspection=inspection,
            item=answer.item,
            satisfactory=answer.satisfactory,
            note="" if answer.satisfactory else answer.note.strip(),
        )
        for answer in answers
    ], ChecklistAnswer, default_user=actor)
    for item in rectifications:
        rectification = Rectification(
            inspection=inspection,
            school=school,
            description=item.description.strip(),
            deadline=item.deadline,
        )
        rectification._history_user = actor
        rectification.save()
    return inspection


# ---------------------------------------------------------------------------------------
# Rectification items: report, close, reopen
# ---------------------------------------------------------------------------------------


def _locked(actor, rectification, permitted):
    """The item, locked for the change; PermissionDenied when the actor may not change it."""
    locked = (
        Rectification.objects.visible_to(actor)
        .select_for_update(of=("self",))
        .select_related("inspection__grid")
        .filter(pk=rectification.pk)
        .first()
    )
    if locked is None or not permitted(actor, locked):
        raise PermissionDenied
    locked._history_user = actor
    return locked


def _move(locked, action, seen_version):
    """Check that nobody changed the item since the form was opened at `seen_version` (the
    item holds the user's input by now, for the message) and that its status allows
    `action`; then take the new status."""
    check_unchanged(locked, seen_version)
    sources, target = TRANSITIONS[action]
    if locked.status not in sources:
        raise ValidationError(
            _("The item is “%(status)s” and cannot be changed this way.")
            % {"status": locked.get_status_display()},
            code="wrong_status",
        )
    locked.status = target


@transaction.atomic
def rectification_report(*, actor, rectification, report, seen_version=None, photos=()):
    """The school says what it did, with photos of the work (PreparedImage) if it has
    them; the grid then closes or reopens the item."""
    if not report.strip():
        raise ValidationError({"report": _("Say what the school did.")})
    locked = _locked(actor, rectification, may_report)
    locked.school_report = report.strip()
    _move(locked, "report", seen_version)
    locked.reported_at = timezone.now()
    locked.save()
    attachments_add(actor=actor, pictures=photos, kind=Attachment.Kind.RECTIFICATION_PHOTO, rectification=locked)
    notices.rectification_reported(locked)
    return locked


@transaction.atomic
def rectification_close(*, actor, rectification, note="", today=None, seen_version=None):
    """销号: the grid (or the bureau) accepts the school's report."""
    locked = _locked(actor, rectification, may_follow_up)
    _move(locked, "close", seen_version)
    locked.closed_on = today or timezone.localdate()
    locked._change_reason = note.strip()
    locked.save()
    return locked


@transaction.atomic
def rectification_reopen(*, actor, rectification, reason, deadline=None, today=None, seen_version=None):
    """重新整改: the work is not done; the reason is kept in the item's history, and a new
    deadline (today or later) may be set."""
    today = today or timezone.localdate()
    errors = {}
    if not reason.strip():
        errors["reason"] = _("Say why the item is reopened.")
    if deadline is not None and deadline < today:
        errors["deadline"] = _("The new deadline cannot be in the past.")
    if errors:
        raise ValidationError(errors)
    locked = _locked(actor, rectification, may_follow_up)
    if deadline is not None:
        locked.deadline = deadline
    _move(locked, "reopen", seen_version)
    locked.closed_on = None
    locked._change_reason = reason.strip()
    locked.save()
    return locked


# ---------------------------------------------------------------------------------------
# School improvement projects
# ---------------------------------------------------------------------------------------

CENT = Decimal("0.01")


def as_yuan(value):
    """A finite Decimal from a Decimal or an int, else None: floats would lose the fen."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = Decimal(value)
    if isinstance(value, Decimal) and value.is_finite():
        return value
    return None


def _check_project(actor, *, school, name, investment, status, started_on, completed_on):
    errors = {}
    if not School.objects.visible_to(actor).filter(pk=school.pk).exists():
        errors["school"] = _("Choose a school of your county.")
    if not name.strip():
        errors["name"] = _("Give the project a name.")
    if investment is None:
        errors["investment"] = _("Enter the investment as an amount in yuan.")
    elif investment < 0:
        errors["investment"] = _("The investment cannot be negative.")
    elif investment.quantize(CENT) != investment:
        errors["investment"] = _("Enter the investment to the fen (two decimal places).")
    if status == SchoolProject.Status.COMPLETED and completed_on is None:
        errors["completed_on"] = _("A completed project needs its completion date.")
    elif completed_on is not None and status != SchoolProject.Status.COMPLETED:
        errors["status"] = _("A project with a completion date is completed.")
    elif completed_on and started_on and completed_on < started_on:
        errors["completed_on"] = _("The project cannot be completed before it started.")
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def project_save(
    *, actor, school, name, type, investment, funding_source, status,
    started_on=None, completed_on=None, project=None,
):
    """Create a project, or change `project`; the investment is a Decimal in yuan, ≥ 0."""
    if not may_manage(actor):
        raise PermissionDenied
    if project is not None:
        # The stored status: a bound form has already set the new one on `project`.
        stored = SchoolProject.objects.visible_to(actor).filter(pk=project.pk).values_list("status", flat=True)
        if not stored:
            raise PermissionDenied
        SchoolProject.MOVES.check(stored[0], status, field="status")
    else:
        project = SchoolProject()
    investment = as_yuan(investment)
    _check_project(
        actor, school=school, name=name, investment=investment, status=status,
        started_on=started_on, completed_on=completed_on,
    )
    project.school = school
    project.name = name.strip()
    project.type = type
    project.investment = investment
    project.funding_source = funding_source
    project.status = status
    project.started_on = started_on
    project.completed_on = completed_on
    project.full_clean()
    project.save()
    return project


@dataclass(frozen=True)
class ProjectTotals:
    """Counts and investment (Decimal yuan) per type, per township, and overall."""

    by_type: list
    by_township: list
    count: int
    investment: Decimal


def projects_totals(user, projects=None):
    """The totals of the user's projects (or of `projects`, e.g. a filtered list, kept to
    the user's scope), summed by the database: three queries however many projects."""
    scoped = SchoolProject.objects.visible_to(user)
    if projects is not None:
        scoped = scoped.filter(pk__in=projects.order_by().values("pk"))
    money = DecimalField(max_digits=16, decimal_places=2)
    figures = {
        "count": Count("pk"),
        "investment": Coalesce(Sum("investment"), Value(Decimal("0")), output_field=money),
    }
    labels = dict(SchoolProject.Type.choices)
    by_type = [
        {**row, "label": labels.get(row["type"], row["type"])}
        for row in scoped.values("type").annotate(**figures).order_by("type")
    ]
    by_township = list(
        scoped.values(township_code=F("school__region__code"), township=F("school__region__name"))
        .annotate(**figures)
        .order_by("township_code")
    )
    overall = scoped.aggregate(**figures)
    return ProjectTotals(
        by_type=by_type,
        by_township=by_township,
        count=overall["count"],
        investment=overall["investment"],
    )
