"""Making notifications: the events the domain services report, and the daily reminders.

Each notification is made once: the database refuses a second one for the same recipient,
kind, subject and day, and these functions insert with that conflict ignored, so running
the daily job twice, or an event reported twice, adds nothing. A daily reminder is not
made again while the previous one about the same thing is still unread.
"""
import datetime

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMessage, get_connection
from django.db.models import OuterRef, Subquery
from django.urls import reverse
from django.utils import timezone
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from aid.casework.models import HomeVisit, Pairing
from aid.dropout.models import CaseResponsible, DropoutCase
from aid.supervision.models import Rectification
from students.choices import Role

from .models import Notification

User = get_user_model()
Kind = Notification.Kind

PERSUASION_WAIT = datetime.timedelta(days=30)  # as the bureau's work list counts it
RECTIFICATION_NOTICE = datetime.timedelta(days=7)


def send(notifications):
    """Save the notifications, leaving out any that was already made (same recipient, kind,
    subject and day)."""
    Notification.objects.bulk_create(notifications, ignore_conflicts=True, batch_size=1000)


def _active_ids(users):
    return [user.pk for user in users if user is not None and user.is_active]


# ---------------------------------------------------------------------------------------
# Events, reported by the domain services
# ---------------------------------------------------------------------------------------


def batch_returned(batch):
    """The approver sent a batch back to draft: the schools with lines in it must confirm
    them again."""
    admins = User.objects.filter(
        role=Role.SCHOOL_ADMIN, is_active=True, school__in=batch.lines.counting().values("school_id")
    )
    text = _("%(batch)s was sent back: check and confirm your lines again.") % {"batch": batch}
    send(
        Notification(recipient=admin, kind=Kind.BATCH_RETURNED, text=text[:200], link=batch.get_absolute_url(),
                     subject=f"batch:{batch.pk}:{batch.version}")
        for admin in admins
    )


def case_assigned(case, person):
    """A staff account was made a responsible person (包保责任人) of a dropout case."""
    if person.account_id is None or not person.account.is_active:
        return
    text = _("You are responsible for bringing %(student)s back to school.") % {"student": case.student.name}
    send([Notification(recipient_id=person.account_id, kind=Kind.CASE_ASSIGNED, text=text,
                       link=case.get_absolute_url(), subject=f"case:{case.pk}")])


def rectification_reported(rectification):
    """A school reported what it did: the grid that opened the item checks it."""
    grid = rectification.inspection.grid
    recipients = _active_ids([grid.leader, *grid.members.all()])
    text = _("%(school)s reported on a rectification item.") % {"school": rectification.school.name}
    stamp = int(rectification.reported_at.timestamp())
    send(
        Notification(recipient_id=pk, kind=Kind.RECTIFICATION_REPORTED, text=text,
                     link=reverse("aid:rectification_update", args=[rectification.pk]),
                     subject=f"rectification:{rectification.pk}:{stamp}")
        for pk in recipients
    )


# ---------------------------------------------------------------------------------------
# The daily reminders (the worker runs them every night: jobs.tasks.send_daily_reminders)
# ---------------------------------------------------------------------------------------


def daily_reminders(today=None):
    """Remind teachers of next-visit dates that have passed, schools of rectification items
    due within a week or overdue, and the people responsible for a dropout case (else the
    county's bureau) of cases without a persuasion attempt for 30 days. A fixed number of
    queries. Returns how many notifications there are now for today."""
    today = today or timezone.localdate()
    notifications = []

    passed = HomeVisit.objects.next_visit_passed(today).filter(student_id=OuterRef("student_id"))
    pairings = (
        Pairing.objects.active()
        .filter(teacher__is_active=True, student__left_roster_on__isnull=True)
        .annotate(visit_id=Subquery(passed.values("pk")[:1]), due_on=Subquery(passed.values("next_visit_on")[:1]))
        .filter(visit_id__isnull=False)
        .values("teacher_id", "student_id", "student__name", "visit_id", "due_on")
    )
    for row in pairings:
        notifications.append(Notification(
            recipient_id=row["teacher_id"], kind=Kind.NEXT_VISIT_PASSED,
            text=_("The next visit to %(student)s was due on %(date)s.")
            % {"student": row["student__name"], "date": row["due_on"].isoformat()},
            link=reverse("aid:visit_create", args=[row["student_id"]]), subject=f"visit:{row['visit_id']}",
        ))

    admins = {}
    for admin in User.objects.filter(role=Role.SCHOOL_ADMIN, is_active=True, school__isnull=False):
        admins.setdefault(admin.school_id, []).append(admin.pk)
    items = (
        Rectification.objects.to_report()
        .filter(deadline__lte=today + RECTIFICATION_NOTICE)
        .values("pk", "school_id", "school__name", "deadline")
    )
    for row in items:
        for admin_id in admins.get(row["school_id"], []):
            notifications.append(Notification(
                recipient_id=admin_id, kind=Kind.RECTIFICATION_DUE,
                text=_("A rectification item of %(school)s is due on %(date)s.")
                % {"school": row["school__name"], "date": row["deadline"].isoformat()},
                link=reverse("aid:rectification_update", args=[row["pk"]]), subject=f"rectification:{row['pk']}",
            ))

    bureaus = list(
        User.objects.filter(role=Role.BUREAU_ADMIN, is_active=True, region__isnull=False).values_list(
            "pk", "region__code"
        )
    )
    responsible = {}
    for case_id, account_id in CaseResponsible.objects.filter(
        account__is_active=True, case__closed_on__isnull=True
    ).values_list("case_id", "account_id"):
        responsible.setdefault(case_id, []).append(account_id)
    cases = DropoutCase.objects.without_persuasion_since(today - PERSUASION_WAIT).values(
        "pk", "student__name", "student__school__region__code", "last_attempt_on", "opened_on"
    )
    for row in cases:
        township = row["student__school__region__code"]
        recipients = responsible.get(row["pk"]) or [pk for pk, code in bureaus if township.startswith(code)]
        since = row["last_attempt_on"] or row["opened_on"]
        for recipient_id in recipients:
            notifications.append(Notification(
                recipient_id=recipient_id, kind=Kind.CASE_WITHOUT_PERSUASION,
                text=_("No persuasion attempt for %(student)s since %(date)s.")
                % {"student": row["student__name"], "date": since.isoformat()},
                link=reverse("aid:case_detail", args=[row["pk"]]), subject=f"case:{row['pk']}",
            ))

    still_unread = set(
        Notification.objects.unread()
        .filter(kind__in=(Kind.NEXT_VISIT_PASSED, Kind.RECTIFICATION_DUE, Kind.CASE_WITHOUT_PERSUASION))
        .exclude(day=today)
        .values_list("recipient_id", "kind", "subject")
    )
    send(n for n in notifications if (n.recipient_id, n.kind, n.subject) not in still_unread)
    return Notification.objects.filter(day=today).count()


def email_digest(today=None):
    """One e-mail to each active user with an e-mail address who has unread notifications
    of today or yesterday (the nightly run comes after midnight) not yet e-mailed: their
    texts, with links when SITE_URL is set. Each notification is e-mailed once, so a second
    run sends nothing. Returns the number sent."""
    today = today or timezone.localdate()
    pending = list(
        Notification.objects.unread()
        .filter(day__gte=today - datetime.timedelta(days=1), emailed_at__isnull=True, recipient__is_active=True)
        .exclude(recipient__email="")
        .select_related("recipient")
        .order_by("recipient_id", "created", "pk")
    )
    by_recipient = {}
    for notification in pending:
        by_recipient.setdefault(notification.recipient, []).append(notification)
    with translation.override(settings.LANGUAGE_CODE):
        messages = [digest_message(user, notifications) for user, notifications in by_recipient.items()]
    if messages:
        with get_connection() as connection:
            connection.send_messages(messages)
        Notification.objects.filter(pk__in=[n.pk for n in pending]).update(emailed_at=timezone.now())
    return len(messages)


def digest_message(user, notifications):
    subject = ngettext(
        "Student Aid Casework: %(count)s new notification",
        "Student Aid Casework: %(count)s new notifications",
        len(notifications),
    ) % {"count": len(notifications)}
    lines = [_("Hello %(name)s,") % {"name": user}, ""]
    for notification in notifications:
        lines.append(f"· {notification.text}")
        if settings.SITE_URL:
            lines.append(f"  {settings.SITE_URL}{notification.get_absolute_url()}")
    lines += ["", _("Open the app to see them all.")]
    return EmailMessage(subject=subject, body="\n".join(lines), to=[user.email])
