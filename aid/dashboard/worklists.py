"""Work lists: what is waiting for the user, on their home page.

Each list is counted and shows its oldest items first, each a link to the page where the
thing is done. The selection rules are the domain packages' own (QuerySet methods and
selection functions, scoped by `visible_to`); this module only picks the lists of a role
and turns rows into links. One query a list (its oldest items, with the count of them
all), whatever the size of the county.
"""
import datetime
from dataclasses import dataclass, field

from django.db.models import Count, F, Min, OuterRef, Subquery, Window
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from aid.casework import services as casework
from aid.casework.coverage import with_visit_status
from aid.casework.models import HomeVisit, Pairing
from aid.dropout.models import DropoutCase
from aid.reference.models import Term
from aid.subsidies.models import DisbursementBatch, DisbursementLine
from aid.subsidies.precision import findings_open_longer_than
from aid.supervision import services as supervision
from aid.supervision.models import GridGroup, Rectification
from students import permissions
from students.choices import Role
from students.models import Student

SHOWN = 5  # the oldest items shown of each list; its count and "all" link give the rest
PERSUASION_WAIT = datetime.timedelta(days=30)  # a case with no persuasion attempt this long
FINDINGS_WAIT = datetime.timedelta(days=14)  # precision findings left open this long
RECTIFICATION_NOTICE = datetime.timedelta(days=7)  # items due this soon, or overdue


@dataclass
class WorkItem:
    text: str
    url: str
    note: str = ""
    late: bool = False


@dataclass
class WorkList:
    key: str
    title: str
    count: int
    items: list = field(default_factory=list)
    all_url: str = ""


def worklists_for(user, *, open_findings=None, today=None):
    """The non-empty work lists of the user's role. `open_findings` maps the programs with
    payments this term to their open precision findings (the dashboard has counted them)."""
    today = today or timezone.localdate()
    term = Term.objects.current(today)
    lists = []
    if permissions.may(user, permissions.APPROVE, DisbursementBatch):
        lists.append(approvals(user))
    if user.role in (Role.BUREAU_ADMIN, Role.VIEWER):
        lists.append(cases_without_persuasion(user, today))
        if term is not None:
            lists.append(old_findings(user, term, today, open_findings or {}))
        lists.append(unconfirmed_batches(user, gettext_lazy("Schools that have not confirmed a batch")))
        lists.append(overdue_rectifications(user, today))
    elif user.role == Role.SCHOOL_ADMIN:
        lists.append(unconfirmed_batches(user, gettext_lazy("Batch lines to confirm")))
        lists.append(rectifications_due(user, today))
        lists.append(unpaired(user))
        lists.append(teachers_with_overdue_visits(user, today))
    elif user.role == Role.TEACHER:
        lists.append(visits_due(user, term, today))
        lists.append(next_visits_passed(user, today))
    elif user.role == Role.GRID_LEADER:
        if term is not None:
            lists.append(inspections_to_make(user, term))
        lists.append(rectifications_to_check(user, today))
    return [worklist for worklist in lists if worklist.count]


def listed(key, title, queryset, item, all_url=""):
    """A WorkList of the queryset's count and its first SHOWN rows turned into WorkItems.

    One query: the count comes with the first rows, as a window over the whole selection
    (COUNT(*) OVER ()), where a count and then the first rows would make the database
    select everything twice (teachers with overdue visits in a county: 2 x 30 ms)."""
    if queryset.query.distinct:
        raise ValueError("a work list's count is taken before DISTINCT: select without it")
    rows = list(queryset.annotate(listed_count=Window(Count("*")))[:SHOWN])
    count = (rows[0]["listed_count"] if isinstance(rows[0], dict) else rows[0].listed_count) if rows else 0
    return WorkList(key=key, title=str(title), count=count, items=[item(row) for row in rows], all_url=all_url)


def on(day):
    return day.strftime("%Y-%m-%d") if day else ""


def approvals(user):
    batches = DisbursementBatch.objects.visible_to(user).awaiting_approval_by(user).select_related(
        "program", "term", "region"
    )

    def item(batch):  # every submitted batch has its transition, hence `submitted_at`
        submitted = _("submitted %(date)s") % {"date": on(timezone.localdate(batch.submitted_at))}
        return WorkItem(text=str(batch), url=batch.get_absolute_url(), note=submitted)

    return listed(
        "approvals", _("Batches waiting for your approval"), batches, item,
        all_url=f"{reverse('aid:batch_list')}?{urlencode({'state': DisbursementBatch.State.SUBMITTED})}",
    )


def cases_without_persuasion(user, today):
    cases = (
        DropoutCase.objects.visible_to(user)
        .without_persuasion_since(today - PERSUASION_WAIT)
        .select_related("student__school")
    )

    def item(case):
        if case.last_attempt_on:
            note = _("last persuasion %(date)s") % {"date": on(case.last_attempt_on)}
        else:
            note = _("opened %(date)s, no persuasion yet") % {"date": on(case.opened_on)}
        return WorkItem(text=f"{case.student.name} · {case.student.school.name}", url=case.get_absolute_url(),
                        note=note, late=True)

    return listed(
        "cases", _("Dropout cases without a persuasion attempt for 30 days"), cases, item,
        all_url=reverse("aid:case_list"),
    )


def old_findings(user, term, today, open_findings):
    rows = findings_open_longer_than(user, term, today - FINDINGS_WAIT, open_findings)
    items = [
        WorkItem(
            text=_("%(program)s: %(count)s open findings") % {"program": row["program__name"], "count": row["open"]},
            url=f"{reverse('aid:precision')}?{urlencode({'program': row['program_id'], 'term': term.pk})}",
            note=_("first batch prepared %(date)s") % {"date": on(timezone.localdate(row["first_prepared"]))},
            late=True,
        )
        for row in rows
    ]
    return WorkList(
        key="findings", title=_("Precision findings open for more than 14 days"),
        count=sum(row["open"] for row in rows), items=items[:SHOWN], all_url=reverse("aid:precision"),
    )


def unconfirmed_batches(user, title):
    """Per batch and school, the lines the school has still to confirm (a school
    administrator sees only their own school's)."""
    rows = (
        DisbursementLine.objects.visible_to(user)
        .awaiting_confirmation()
        .values("batch_id", "school__name", "batch__program__name", "batch__term__name")
        .annotate(lines=Count("pk"), prepared_at=Min("batch__prepared_at"))
        .order_by("prepared_at", "batch_id", "school__name")
    )
    return listed(
        "confirmations", title, rows,
        lambda row: WorkItem(
            text=_("%(school)s · %(program)s · %(term)s: %(count)s lines")
            % {"school": row["school__name"], "program": row["batch__program__name"],
               "term": row["batch__term__name"], "count": row["lines"]},
            url=reverse("aid:batch_detail", args=[row["batch_id"]]),
            note=_("prepared %(date)s") % {"date": on(timezone.localdate(row["prepared_at"]))},
        ),
        all_url=f"{reverse('aid:batch_list')}?{urlencode({'state': DisbursementBatch.State.DRAFT})}",
    )


def rectification_item(today):
    def item(rectification):
        return WorkItem(
            text=f"{rectification.school.name} · {rectification.description[:40]}",
            url=reverse("aid:rectification_update", args=[rectification.pk]),
            note=_("deadline %(date)s") % {"date": on(rectification.deadline)},
            late=rectification.deadline < today,
        )

    return item


def rectifications_due(user, today):
    items = (
        Rectification.objects.visible_to(user)
        .to_report()
        .filter(deadline__lte=today + RECTIFICATION_NOTICE)
        .select_related("school")
        .order_by("deadline", "pk")
    )
    return listed(
        "rectifications", _("Rectification items due within 7 days or overdue"), items, rectification_item(today),
        all_url=reverse("aid:rectification_list"),
    )


def overdue_rectifications(user, today):
    items = Rectification.objects.visible_to(user).overdue(today).select_related("school").order_by("deadline", "pk")
    return listed(
        "overdue", _("Overdue rectification items"), items, rectification_item(today),
        all_url=f"{reverse('aid:rectification_list')}?overdue=true",
    )


def unpaired(user):
    students = casework.unpaired_students(user).order_by("created_at", "pk")
    return listed(
        "unpaired", _("Students without a pairing teacher"), students,
        lambda student: WorkItem(
            text=f"{student.name} · {student.get_grade_display()} {student.class_name}",
            url=reverse("aid:pairing_assign", args=[student.pk]),
        ),
        all_url=reverse("aid:unpaired"),
    )


def teachers_with_overdue_visits(user, today):
    passed = HomeVisit.objects.next_visit_passed(today).filter(student_id=OuterRef("student_id"))
    rows = (
        Pairing.objects.visible_to(user)
        .active()
        .annotate(passed_on=Subquery(passed.values("next_visit_on")[:1]))
        .filter(passed_on__isnull=False)
        .values("teacher_id", "teacher__full_name", "teacher__username")
        .annotate(students=Count("pk"), oldest=Min("passed_on"))
        .order_by("oldest", "teacher_id")
    )
    return listed(
        "teachers", _("Teachers with overdue home visits"), rows,
        lambda row: WorkItem(
            text=_("%(teacher)s: %(count)s students") % {
                "teacher": row["teacher__full_name"] or row["teacher__username"], "count": row["students"],
            },
            url=f"{reverse('aid:teacher_list')}?{urlencode({'q': row['teacher__username']})}",
            note=_("next visit due %(date)s") % {"date": on(row["oldest"])},
            late=True,
        ),
    )


def visits_due(user, term, today):
    students = (
        with_visit_status(Student.objects.visible_to(user).on_roster(), term, today)
        .filter(due=True)
        .order_by(F("last_visited_on").asc(nulls_first=True), "name", "pk")
    )

    def item(student):
        if student.last_visited_on:
            note = _("last visit %(date)s") % {"date": on(student.last_visited_on)}
        else:
            note = _("never visited")
        return WorkItem(text=student.name, url=reverse("aid:visit_create", args=[student.pk]), note=note)

    title = _("Students due a visit this term") if term else _("Students due a visit")
    return listed("due", title, students, item)


def next_visits_passed(user, today):
    visits = (
        HomeVisit.objects.next_visit_passed(today)
        .filter(student__in=Student.objects.visible_to(user))
        .select_related("student")
        .order_by("next_visit_on", "pk")
    )
    return listed(
        "next_visits", _("Next-visit dates that have passed"), visits,
        lambda visit: WorkItem(
            text=visit.student.name, url=reverse("aid:visit_create", args=[visit.student_id]),
            note=_("next visit was due %(date)s") % {"date": on(visit.next_visit_on)}, late=True,
        ),
    )


def inspections_to_make(user, term):
    schools = supervision.schools_due_inspection(user, term)

    def item(school):
        if school.last_inspected_on:
            note = _("last inspected %(date)s") % {"date": on(school.last_inspected_on)}
        else:
            note = _("never inspected")
        return WorkItem(
            text=school.name, url=f"{reverse('aid:inspection_create')}?{urlencode({'school': school.pk})}", note=note
        )

    return listed("inspections", _("Schools to inspect this term"), schools, item,
                  all_url=reverse("aid:inspection_list"))


def rectifications_to_check(user, today):
    items = Rectification.objects.visible_to(user).awaiting_check().select_related("school")
    if user.role == Role.GRID_LEADER:  # the grid that opened an item follows it up
        items = items.filter(inspection__grid__in=GridGroup.objects.visible_to(user))
    return listed(
        "checks", _("Rectification reports awaiting your check"), items, rectification_item(today),
        all_url=f"{reverse('aid:rectification_list')}?{urlencode({'status': Rectification.Status.REPORTED})}",
    )
