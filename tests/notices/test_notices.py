"""Notifications: made by the daily reminders and by events, once only; each user sees and
opens their own; the bell shows the unread count without a query of its own."""
import datetime
import io

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from aid.dropout import services as dropout
from aid.dropout.models import CaseResponsible, DropoutCase
from aid.subsidies import services as subsidies
from aid.subsidies.models import SchoolConfirmation
from aid.supervision import services as supervision
from aid.supervision.models import Rectification
from jobs.tasks import send_daily_reminders
from notices import services as notices
from notices.models import Notification
from tests.aid.supervision.test_supervision import GridGroupFactory, GridLeaderFactory, InspectionFactory, RectificationFactory
from tests.factories import (
    AidProgramFactory,
    BureauAdminFactory,
    HomeVisitFactory,
    PairingFactory,
    SchoolAdminFactory,
    StudentFactory,
    TeacherFactory,
)

DAY = datetime.timedelta(days=1)
Kind = Notification.Kind


def today():
    return timezone.localdate()


def received(user, kind=None):
    notifications = Notification.objects.filter(recipient=user)
    return list(notifications.filter(kind=kind) if kind else notifications)


def stale_case(student, days_open=40):
    return DropoutCase.objects.create(
        student=student, kind=DropoutCase.Kind.DROPOUT, trigger=DropoutCase.Trigger.MANUAL,
        opened_on=today() - days_open * DAY,
    )


@pytest.fixture
def reminders_world(county):
    """A teacher whose next visit has passed, a school with an item due in 5 days, and two
    stale cases: one with a responsible person who has an account, one without."""
    school = county["primary"]
    teacher = TeacherFactory(school=school)
    pairing = PairingFactory(teacher=teacher, student=StudentFactory(school=school, name="王小明"))
    visit = HomeVisitFactory(student=pairing.student, author=teacher, visited_on=today() - 40 * DAY,
                             next_visit_on=today() - 5 * DAY)
    admin = SchoolAdminFactory(school=school)
    grid = GridGroupFactory(region=county["county"], townships=[county["town"]])
    item = RectificationFactory(inspection=InspectionFactory(grid=grid, school=school, inspected_on=today() - 40 * DAY),
                                deadline=today() + 5 * DAY)
    bureau = BureauAdminFactory(region=county["county"])
    assigned = stale_case(StudentFactory(school=school, name="李四"))
    CaseResponsible.objects.create(case=assigned, role="teacher", name=str(teacher), account=teacher)
    unassigned = stale_case(StudentFactory(school=school, name="赵五"))
    return {"teacher": teacher, "visit": visit, "admin": admin, "item": item, "bureau": bureau,
            "assigned": assigned, "unassigned": unassigned}


def test_the_daily_job_reminds_each_person_of_theirs(reminders_world):
    w = reminders_world
    send_daily_reminders.call()  # as the worker runs it
    [visit_notice] = received(w["teacher"], Kind.NEXT_VISIT_PASSED)
    assert visit_notice.link == reverse("aid:visit_create", args=[w["visit"].student_id])
    assert "王小明" in visit_notice.text and (today() - 5 * DAY).isoformat() in visit_notice.text
    [due] = received(w["admin"], Kind.RECTIFICATION_DUE)
    assert due.link == reverse("aid:rectification_update", args=[w["item"].pk])
    assert [n.link for n in received(w["teacher"], Kind.CASE_WITHOUT_PERSUASION)] == [w["assigned"].get_absolute_url()]
    # a case nobody with an account answers for goes to the county's bureau
    assert [n.link for n in received(w["bureau"], Kind.CASE_WITHOUT_PERSUASION)] == [w["unassigned"].get_absolute_url()]


def test_no_personal_data_beyond_a_name(reminders_world):
    notices.daily_reminders()
    student = reminders_world["visit"].student
    for notification in Notification.objects.all():
        assert student.id_number not in notification.text
        assert student.household.guardian_phone not in notification.text


def test_running_twice_a_day_makes_nothing_twice(reminders_world):
    first = notices.daily_reminders()
    assert first == Notification.objects.count() == 4
    assert notices.daily_reminders() == first
    assert Notification.objects.count() == first


def test_the_next_day_reminds_again_only_what_was_read(reminders_world):
    notices.daily_reminders()
    Notification.objects.filter(recipient=reminders_world["admin"]).update(read_at=timezone.now())
    Notification.objects.update(day=today() - DAY)
    notices.daily_reminders()
    # only the school administrator, who had read theirs, gets a new one today
    assert [n.recipient for n in Notification.objects.filter(day=today())] == [reminders_world["admin"]]


def test_the_database_refuses_a_second_of_the_same_day(reminders_world):
    from django.db import IntegrityError, transaction

    notices.daily_reminders()
    existing = Notification.objects.first()
    with pytest.raises(IntegrityError), transaction.atomic():
        Notification.objects.create(recipient=existing.recipient, kind=existing.kind, subject=existing.subject,
                                    text="again", link="/")


def test_run_daily_queues_the_reminders_for_the_worker(db):
    from django_tasks_db.models import DBTaskResult

    out = io.StringIO()
    call_command("run_daily", stdout=out)
    assert "daily reminders" in out.getvalue()
    assert DBTaskResult.objects.filter(task_path="jobs.tasks.send_daily_reminders").count() == 1


class TestEvents:
    def test_a_batch_sent_back_tells_the_schools_with_lines(self, county):
        program = AidProgramFactory()
        program.standards.create(stage="primary", amount="300.00")
        StudentFactory(school=county["primary"])
        with_lines, without = SchoolAdminFactory(school=county["primary"]), SchoolAdminFactory(school=county["junior"])
        preparer, approver = BureauAdminFactory(region=county["county"]), BureauAdminFactory(region=county["county"])
        batch = subsidies.batch_create(actor=preparer, program=program, term=county["term"], region=county["county"])
        SchoolConfirmation.objects.create(batch=batch, school=county["primary"], confirmed_by=with_lines)
        batch.refresh_from_db()
        batch = subsidies.batch_submit(actor=preparer, batch=batch, expected_version=batch.version)
        subsidies.batch_return(actor=approver, batch=batch, note="金额有误", expected_version=batch.version)
        [notice] = received(with_lines, Kind.BATCH_RETURNED)
        assert notice.link == batch.get_absolute_url()
        assert received(without) == []

    def test_a_responsible_person_with_an_account_is_told(self, county):
        student = StudentFactory(school=county["primary"])
        teacher = TeacherFactory(school=county["primary"])
        bureau = BureauAdminFactory(region=county["county"])
        case = stale_case(student, days_open=1)
        dropout.case_add_responsible(actor=bureau, case=case, role="teacher", name="李老师", account=teacher)
        dropout.case_add_responsible(actor=bureau, case=case, role="village", name="村支书")
        [notice] = received(teacher, Kind.CASE_ASSIGNED)
        assert notice.link == case.get_absolute_url() and student.name in notice.text
        assert Notification.objects.count() == 1

    def test_an_account_of_another_school_cannot_be_named(self, county):
        from django.core.exceptions import PermissionDenied

        case = stale_case(StudentFactory(school=county["primary"]), days_open=1)
        with pytest.raises(PermissionDenied):
            dropout.case_add_responsible(actor=BureauAdminFactory(region=county["county"]), case=case,
                                         role="teacher", name="外校", account=TeacherFactory(school=county["other"]))

    def test_a_reported_rectification_tells_its_grid(self, county):
        member = GridLeaderFactory(region=county["county"])
        grid = GridGroupFactory(region=county["county"], townships=[county["town"]], members=[member])
        other_grid = GridGroupFactory(region=county["county"])
        item = RectificationFactory(inspection=InspectionFactory(grid=grid, school=county["primary"]))
        supervision.rectification_report(actor=SchoolAdminFactory(school=county["primary"]), rectification=item,
                                         report="已整改")
        assert {n.recipient for n in Notification.objects.filter(kind=Kind.RECTIFICATION_REPORTED)} == {
            grid.leader, member
        }
        assert received(other_grid.leader) == []
        assert Rectification.objects.get(pk=item.pk).status == Rectification.Status.REPORTED


def notify(user, text="提醒", link=None):
    return Notification.objects.create(recipient=user, kind=Kind.CASE_ASSIGNED, text=text,
                                       link=link or reverse("aid:case_list"), subject=f"test:{text}")


class TestPages:
    def test_the_list_shows_only_ones_own(self, client_for, county):
        mine, theirs = TeacherFactory(school=county["primary"]), TeacherFactory(school=county["other"])
        notify(mine, "我的提醒")
        notify(theirs, "别人的提醒")
        response = client_for(mine).get(reverse("notices:list"))
        assert [n.text for n in response.context["notifications"]] == ["我的提醒"]

    def test_opening_marks_read_and_goes_to_the_page(self, client_for, county):
        user = SchoolAdminFactory(school=county["primary"])
        notification = notify(user, link=reverse("aid:rectification_list"))
        response = client_for(user).get(reverse("notices:open", args=[notification.pk]))
        assert response.status_code == 302 and response.url == reverse("aid:rectification_list")
        notification.refresh_from_db()
        assert notification.read_at is not None

    def test_another_users_notification_is_not_found(self, client_for, county):
        notification = notify(TeacherFactory(school=county["other"]))
        response = client_for(SchoolAdminFactory(school=county["primary"])).get(
            reverse("notices:open", args=[notification.pk])
        )
        assert response.status_code == 404
        notification.refresh_from_db()
        assert notification.read_at is None

    def test_the_bell_counts_unread_on_every_page(self, client_for, county):
        user = SchoolAdminFactory(school=county["primary"])
        for n in range(3):
            notify(user, f"提醒{n}")
        Notification.objects.filter(text="提醒0").update(read_at=timezone.now())
        client = client_for(user)
        for url in (reverse("home"), reverse("students:student_list"), reverse("notices:list")):
            content = client.get(url).content.decode()
            assert 'data-unread>2</span>' in content, url

    def test_the_bell_costs_no_query_of_its_own(self, client_for, county):
        """The unread count comes with the request's user, in the query that loads it."""
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        user = SchoolAdminFactory(school=county["primary"])
        notify(user)
        client = client_for(user)
        with CaptureQueriesContext(connection) as queries:
            response = client.get(reverse("jobs:job_list"))
        assert 'data-unread>1</span>' in response.content.decode()
        counting = [q["sql"] for q in queries.captured_queries if "notices_notification" in q["sql"]]
        assert len(counting) == 1 and '"students_user"' in counting[0]


class TestEmailDigest:
    def test_one_email_per_person_with_an_address_and_never_twice(self, reminders_world, mailoutbox, settings):
        settings.SITE_URL = "https://aid.example"
        teacher, admin = reminders_world["teacher"], reminders_world["admin"]
        teacher.email = "teacher@example.org"
        teacher.save()
        notices.daily_reminders()
        assert notices.email_digest() == 1  # the school administrator has no address
        [mail] = mailoutbox
        assert mail.to == ["teacher@example.org"]
        mine = received(teacher)
        assert len(mine) == 2 and all(n.text in mail.body for n in mine)
        assert f"https://aid.example{reverse('notices:open', args=[mine[0].pk])}" in mail.body
        assert received(admin) and all(n.emailed_at is None for n in received(admin))
        assert notices.email_digest() == 0 and len(mailoutbox) == 1

    def test_read_notifications_are_not_mailed(self, reminders_world, mailoutbox):
        teacher = reminders_world["teacher"]
        teacher.email = "teacher@example.org"
        teacher.save()
        notices.daily_reminders()
        Notification.objects.filter(recipient=teacher).update(read_at=timezone.now())
        assert notices.email_digest() == 0 and mailoutbox == []

    def test_the_daily_task_sends_the_digest(self, reminders_world, mailoutbox):
        teacher = reminders_world["teacher"]
        teacher.email = "teacher@example.org"
        teacher.save()
        assert send_daily_reminders.call() == {"notifications": 4, "emails": 1}
        assert len(mailoutbox) == 1
