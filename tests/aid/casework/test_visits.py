"""Home visits: a teacher's students, the visit form and its checklist, the edit rules,
the visit list with its filters, the visit page and the Excel export."""
import datetime
import io
from unittest import mock

import factory
import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from aid.casework.models import HomeVisit, PolicyCheck, VisitDelivery
from students.choices import HouseholdCategory, Status
from students.models import ExportLog
from tests.factories import (
    AidProgramFactory,
    BureauAdminFactory,
    DeliveryItemFactory,
    HomeVisitFactory,
    HouseholdFactory,
    PairingFactory,
    SchoolAdminFactory,
    SchoolFactory,
    StudentFactory,
    TeacherFactory,
    TermFactory,
    ViewerFactory,
)

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()
DAY = datetime.timedelta(days=1)


class PolicyCheckFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PolicyCheck

    visit = factory.SubFactory(HomeVisitFactory)
    program = factory.SubFactory(AidProgramFactory)
    delivered = True


class VisitDeliveryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = VisitDelivery

    visit = factory.SubFactory(HomeVisitFactory)
    item = factory.SubFactory(DeliveryItemFactory)
    quantity = 1


@pytest.fixture
def term(db):
    return TermFactory(name="本学期", starts_on=TODAY - 60 * DAY, ends_on=TODAY + 60 * DAY)


@pytest.fixture
def paired_student(teacher, school):
    return PairingFactory(teacher=teacher, student=StudentFactory(school=school)).student


def create_url(student):
    return reverse("aid:visit_create", args=[student.pk])


def update_url(visit):
    return reverse("aid:visit_update", args=[visit.pk])


def visit_data(**overrides):
    data = {
        "visited_on": TODAY.isoformat(),
        "mode": "in_person",
        "study_situation": "作业按时完成，数学有进步",
        "living_situation": "",
        "remote_learning_feedback": "",
        "family_concerns": "",
        "measures": "",
        "dropout_risk": "none",
        "next_visit_on": "",
    }
    data.update(overrides)
    return data


# ---------------------------------------------------------------------------------------
# Scope
# ---------------------------------------------------------------------------------------


def test_teacher_cannot_reach_visits_of_a_student_not_paired_with_them(client_for, teacher, school):
    """Creating, opening and editing a visit of someone else's student all answer 404."""
    not_mine = PairingFactory(student=StudentFactory(school=school)).student
    visit = HomeVisitFactory(student=not_mine, visited_on=TODAY)
    client = client_for(teacher)
    assert client.get(create_url(not_mine)).status_code == 404
    assert client.post(create_url(not_mine), visit_data()).status_code == 404
    assert client.get(visit.get_absolute_url()).status_code == 404
    assert client.get(update_url(visit)).status_code == 404
    assert client.post(update_url(visit), visit_data()).status_code == 404
    assert HomeVisit.objects.count() == 1


def test_school_admin_of_another_school_gets_404(client_for, student, other_school):
    visit = HomeVisitFactory(student=student, visited_on=TODAY)
    client = client_for(SchoolAdminFactory(school=other_school))
    assert client.get(create_url(student)).status_code == 404
    assert client.get(visit.get_absolute_url()).status_code == 404
    assert client.get(update_url(visit)).status_code == 404
    assert listed(client) == []


def test_teacher_sees_a_visit_they_took_part_in_but_may_not_edit_it(client_for, teacher, school):
    """Named as another visitor, a teacher reads the visit and finds it in their list."""
    visit = HomeVisitFactory(student=StudentFactory(school=school), visited_on=TODAY)
    visit.other_visitors.add(teacher)
    client = client_for(teacher)
    page = client.get(visit.get_absolute_url()).content.decode()
    assert visit.student.name in page
    assert visit.student.get_absolute_url() not in page  # the student is not theirs
    assert "13812345678" not in page  # nor the household's phone
    assert listed(client) == [visit.pk]
    assert client.get(update_url(visit)).status_code == 403


def test_viewer_may_read_but_not_record_visits(client_for, viewer, student):
    visit = HomeVisitFactory(student=student, visited_on=TODAY)
    client = client_for(viewer)
    assert client.get(visit.get_absolute_url()).status_code == 200
    assert client.get(create_url(student)).status_code == 403
    assert client.get(update_url(visit)).status_code == 403


def test_expired_session_sends_the_post_to_login_and_back_to_the_form(client, paired_student):
    """The browser keeps the draft; after logging in, `next` brings the teacher back."""
    response = client.post(create_url(paired_student), visit_data())
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={create_url(paired_student)}"
    assert HomeVisit.objects.count() == 0


# ---------------------------------------------------------------------------------------
# "My students"
# ---------------------------------------------------------------------------------------


def test_my_students_lists_due_students_first_then_by_name(client_for, teacher, school, term):
    """Due: no visit in the current term, whoever made it. Visited ones come after."""
    def paired(name):
        student = StudentFactory(school=school, name=name)
        return PairingFactory(teacher=teacher, student=student).student

    visited_this_term = paired("Dai")
    HomeVisitFactory(student=visited_this_term, visited_on=TODAY - 3 * DAY)
    visited_by_a_colleague = paired("Bai")
    HomeVisitFactory(student=visited_by_a_colleague, visited_on=term.starts_on)
    visited_last_term = paired("Chen")
    HomeVisitFactory(student=visited_last_term, visited_on=term.starts_on - DAY)
    HomeVisitFactory(student=visited_last_term, visited_on=term.starts_on - 30 * DAY)
    never_visited = paired("Fang")
    also_never = paired("An")
    PairingFactory(student=StudentFactory(school=school, name="Aaa"))  # another teacher's
    left = paired("Abe")
    left.left_roster_on, left.left_roster_reason = TODAY, "moved_away"
    left.save()

    response = client_for(teacher).get(reverse("aid:my_students"))

    students = response.context["students"]
    assert [s.name for s in students] == ["An", "Chen", "Fang", "Bai", "Dai"]
    assert [s.due for s in students] == [True, True, True, False, False]
    last_visits = {s.name: s.last_visited_on for s in students}
    assert last_visits == {
        "An": None,
        "Chen": term.starts_on - DAY,
        "Fang": None,
        "Bai": term.starts_on,
        "Dai": TODAY - 3 * DAY,
    }
    assert response.context["due_count"] == 3
    page = response.content.decode()
    assert create_url(never_visited) in page and create_url(also_never) in page
    assert "13812345678" in page  # the guardian's phone, to call before going


def test_without_a_term_a_student_is_due_after_120_days(client_for, teacher, school):
    recent = StudentFactory(school=school, name="Recent")
    PairingFactory(teacher=teacher, student=recent)
    HomeVisitFactory(student=recent, visited_on=TODAY - 119 * DAY)
    old = StudentFactory(school=school, name="Old")
    PairingFactory(teacher=teacher, student=old)
    HomeVisitFactory(student=old, visited_on=TODAY - 120 * DAY)
    response = client_for(teacher).get(reverse("aid:my_students"))
    assert response.context["term"] is None
    due = [(s.name, s.due) for s in response.context["students"]]
    assert due == [("Old", True), ("Recent", False)]


@pytest.mark.parametrize("size", [3, 40])
def test_my_students_takes_a_fixed_number_of_queries(
    client_for, teacher, school, term, size, django_assert_max_num_queries
):
    for student in StudentFactory.create_batch(size, school=school):
        PairingFactory(teacher=teacher, student=student)
        HomeVisitFactory(student=student, visited_on=TODAY - DAY)
    client = client_for(teacher)
    # session, user, term, the count, the page, the due count, the top bar; the work lists:
    # the term, two lists of one
    with django_assert_max_num_queries(10):
        response = client.get(reverse("aid:my_students"))
    assert len(response.context["students"]) == min(size, 25)
    assert response.context["paginator"].count == size


def test_my_students_pages_keep_the_due_first_and_count_them_all(client_for, teacher, school, term):
    """A class teacher with 30 pupils: 25 on the first page, the due ones first, and the
    summary counts every due pupil, not only the page's."""
    names = [f"学生{n:02d}" for n in range(30)]
    for n, name in enumerate(names):
        student = PairingFactory(teacher=teacher, student=StudentFactory(school=school, name=name)).student
        if n % 3 == 0:  # 10 visited this term, the other 20 due
            HomeVisitFactory(student=student, visited_on=TODAY - DAY)
    due = [name for n, name in enumerate(names) if n % 3]
    visited = [name for n, name in enumerate(names) if n % 3 == 0]
    client = client_for(teacher)

    first = client.get(reverse("aid:my_students"))
    second = client.get(reverse("aid:my_students"), {"page": 2})

    assert [s.name for s in first.context["students"]] == due + visited[:5]
    assert [s.name for s in second.context["students"]] == visited[5:]
    assert first.context["due_count"] == second.context["due_count"] == 20
    assert "第 1 页，共 2 页" in first.content.decode()


@pytest.mark.parametrize("user_factory", [BureauAdminFactory, SchoolAdminFactory, ViewerFactory])
def test_my_students_is_for_teachers_only(client_for, user_factory):
    response = client_for(user_factory()).get(reverse("aid:my_students"))
    assert response.status_code == 302 and response["Location"] == reverse("students:student_list")


# ---------------------------------------------------------------------------------------
# The visit form and its checklist
# ---------------------------------------------------------------------------------------


def test_checklist_follows_stage_household_category_and_enrolment(client_for, school):
    """One line per active program that applies: by stage, by category, by enrolment."""
    AidProgramFactory(name="国家助学金", stages=["primary", "junior"])
    AidProgramFactory(name="高中免学费", stages=["senior"])
    AidProgramFactory(name="低保家庭补助", household_categories=[HouseholdCategory.DIBAO])
    AidProgramFactory(name="营养改善计划", requires_enrolment=True)
    AidProgramFactory(name="雨露计划", requires_enrolment=False)
    AidProgramFactory(name="已停止的项目", is_active=False)
    enrolled_poor = StudentFactory(school=school)
    dibao = StudentFactory(
        school=school, household=HouseholdFactory(category=HouseholdCategory.DIBAO)
    )
    suspended = StudentFactory(school=school, status=Status.SUSPENDED)
    client = client_for(SchoolAdminFactory(school=school))

    def checklist(student):
        response = client.get(create_url(student))
        programs = response.context["form"].programs
        assert response.content.decode().count("data-policy-line") == len(programs)
        return sorted(program.name for program in programs)

    assert checklist(enrolled_poor) == ["国家助学金", "营养改善计划", "雨露计划"]
    assert checklist(dibao) == ["低保家庭补助", "国家助学金", "营养改善计划", "雨露计划"]
    assert checklist(suspended) == ["雨露计划"]


def test_form_starts_with_today_and_zero_items_and_offers_colleagues(
    client_for, teacher, school, paired_student
):
    DeliveryItemFactory(name="书包")
    DeliveryItemFactory(name="旧校服", is_active=False)
    colleague = TeacherFactory(school=school, full_name="李老师", subject="数学")
    TeacherFactory(full_name="外校老师")  # another school
    TeacherFactory(school=school, full_name="已离职", is_active=False)
    response = client_for(teacher).get(create_url(paired_student))
    form = response.context["form"]
    assert form["visited_on"].value() == TODAY
    assert [item.name for item in form.delivery_items] == ["书包"]
    assert [field.value() for _item, field in form.item_lines()] == [0]
    assert list(form.fields["other_visitors"].queryset) == [colleague]
    page = response.content.decode()
    assert "李老师 · 数学" in page
    assert f'data-draft-key="visit-draft:{teacher.pk}:student:{paired_student.pk}"' in page
    assert "js/visit-draft.js" in page


def test_teacher_records_a_visit(client_for, teacher, school, paired_student):
    grant = AidProgramFactory(name="国家助学金")
    meals = AidProgramFactory(name="营养改善计划")
    bag = DeliveryItemFactory(name="书包")
    kit = DeliveryItemFactory(name="防疫礼包", unit="份")
    colleague = TeacherFactory(school=school, full_name="李老师")
    data = visit_data(
        mode="phone",
        family_concerns="希望继续享受营养餐",
        measures="联系学校食堂",
        dropout_risk="some",
        follow_up_needed="on",
        next_visit_on=(TODAY + 14 * DAY).isoformat(),
        other_visitors=[colleague.pk],
        **{
            f"policy_{grant.pk}": "yes",
            f"policy_{meals.pk}": "no",
            f"policy_{meals.pk}_reason": "学校尚未开餐",
            f"item_{bag.pk}": "2",
            f"item_{kit.pk}": "0",
        },
    )
    response = client_for(teacher).post(create_url(paired_student), data)

    visit = HomeVisit.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/aid/visits/{visit.pk}/"
    assert (visit.student, visit.author, visit.visited_on, visit.mode) == (
        paired_student, teacher, TODAY, "phone"
    )
    assert visit.study_situation == "作业按时完成，数学有进步"
    assert (visit.family_concerns, visit.measures) == ("希望继续享受营养餐", "联系学校食堂")
    assert (visit.dropout_risk, visit.follow_up_needed) == ("some", True)
    assert visit.next_visit_on == TODAY + 14 * DAY
    assert list(visit.other_visitors.all()) == [colleague]
    checks = {c.program.name: (c.delivered, c.reason) for c in visit.policy_checks.all()}
    assert checks == {"国家助学金": (True, ""), "营养改善计划": (False, "学校尚未开餐")}
    assert list(visit.deliveries.values_list("item__name", "quantity")) == [("书包", 2)]


def test_a_correction_of_the_checklist_items_and_visitors_shows_in_the_history(
    client_for, teacher, school, paired_student
):
    grant = AidProgramFactory(name="国家助学金")
    meals = AidProgramFactory(name="营养改善计划")
    bag = DeliveryItemFactory(name="书包")
    li = TeacherFactory(school=school, full_name="李老师")
    zhao = TeacherFactory(school=school, full_name="赵老师")
    first = visit_data(
        other_visitors=[li.pk],
        **{f"policy_{grant.pk}": "yes", f"policy_{meals.pk}": "no", f"policy_{meals.pk}_reason": "学校尚未开餐",
           f"item_{bag.pk}": "2"},
    )
    client_for(teacher).post(create_url(paired_student), first)
    visit = HomeVisit.objects.get()
    HomeVisit.objects.filter(pk=visit.pk).update(created_at=timezone.now() - 10 * DAY)
    admin = SchoolAdminFactory(school=school, full_name="钱校长")
    corrected = {
        **first,
        "other_visitors": [zhao.pk],
        f"policy_{meals.pk}": "yes",
        f"policy_{meals.pk}_reason": "",
        f"item_{bag.pk}": "3",
        "reason": "核对发放台账后更正",
    }

    client = client_for(admin)
    assert client.post(update_url(visit), corrected).status_code == 302
    latest = client.get(visit.get_absolute_url()).context["history"][0]

    assert latest["record"].history_change_reason == "核对发放台账后更正"
    assert [(str(c["field"]), c["old"], c["new"]) for c in latest["changes"]] == [
        ("其他家访人员", "李老师", "赵老师"),
        ("政策落实情况", "国家助学金：已落实、营养改善计划：未落实（学校尚未开餐）", "国家助学金：已落实、营养改善计划：已落实"),
        ("发放物品", "书包 2个", "书包 3个"),
    ]


def test_a_policy_not_delivered_needs_a_reason(client_for, teacher, paired_student):
    """The message sits beside that line, and everything typed comes back (status 400)."""
    grant = AidProgramFactory(name="国家助学金")
    meals = AidProgramFactory(name="营养改善计划")
    data = visit_data(
        mode="video",
        **{
            f"policy_{grant.pk}": "yes",
            f"policy_{meals.pk}": "no",
            f"policy_{meals.pk}_reason": " ",
        },
    )
    response = client_for(teacher).post(create_url(paired_student), data)
    assert response.status_code == 400
    form = response.context["form"]
    assert list(form.errors) == [f"policy_{meals.pk}"]
    assert form[f"policy_{grant.pk}"].value() == "yes" and form["mode"].value() == "video"
    assert "作业按时完成，数学有进步" in response.content.decode()
    assert HomeVisit.objects.count() == 0


def test_every_policy_line_must_be_answered(client_for, teacher, paired_student):
    grant = AidProgramFactory(name="国家助学金")
    response = client_for(teacher).post(create_url(paired_student), visit_data())
    assert response.status_code == 400
    assert list(response.context["form"].errors) == [f"policy_{grant.pk}"]
    assert HomeVisit.objects.count() == 0


def test_a_rejected_visit_comes_back_with_everything_typed(
    client_for, teacher, school, paired_student
):
    """A visit dated tomorrow is refused; the form returns filled in, with the error."""
    grant = AidProgramFactory(name="国家助学金")
    bag = DeliveryItemFactory(name="书包")
    colleague = TeacherFactory(school=school)
    data = visit_data(
        visited_on=(TODAY + DAY).isoformat(),
        mode="phone",
        living_situation="住房已改造",
        dropout_risk="high",
        follow_up_needed="on",
        other_visitors=[colleague.pk],
        **{
            f"policy_{grant.pk}": "no",
            f"policy_{grant.pk}_reason": "卡号错误",
            f"item_{bag.pk}": "3",
        },
    )
    response = client_for(teacher).post(create_url(paired_student), data)
    assert response.status_code == 400
    form = response.context["form"]
    assert list(form.errors) == ["visited_on"]
    page = response.content.decode()
    for typed in ("住房已改造", "作业按时完成，数学有进步", 'value="卡号错误"', 'value="3"'):
        assert typed in page
    assert form["mode"].value() == "phone" and form["dropout_risk"].value() == "high"
    assert form["other_visitors"].value() == [str(colleague.pk)]
    assert form["follow_up_needed"].value() is True
    assert "data-bound" in page  # the script does not put an older draft over it
    assert HomeVisit.objects.count() == 0


# ---------------------------------------------------------------------------------------
# Editing: the author for seven days, then a correction with a reason
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("age", "status"),
    [
        (datetime.timedelta(days=7), 200),
        (datetime.timedelta(days=7, microseconds=1), 403),
    ],
)
def test_author_edits_for_seven_days(client_for, teacher, paired_student, age, status):
    now = timezone.now()
    visit = HomeVisitFactory(student=paired_student, author=teacher, created_at=now - age)
    with mock.patch("django.utils.timezone.now", return_value=now):
        response = client_for(teacher).get(update_url(visit))
    assert response.status_code == status


def test_author_edit_within_seven_days_saves_without_a_reason(client_for, teacher, paired_student):
    visit = HomeVisitFactory(student=paired_student, author=teacher, visited_on=TODAY - DAY)
    client = client_for(teacher)
    assert "reason" not in client.get(update_url(visit)).context["form"].fields
    response = client.post(
        update_url(visit), visit_data(visited_on=(TODAY - DAY).isoformat(), measures="补交作业")
    )
    assert response.status_code == 302
    visit.refresh_from_db()
    assert visit.measures == "补交作业"
    assert visit.history.first().history_user == teacher


def test_a_correction_needs_a_reason_kept_in_the_history(
    client_for, teacher, school, paired_student
):
    visit = HomeVisitFactory(
        student=paired_student,
        author=teacher,
        visited_on=TODAY - 20 * DAY,
        created_at=timezone.now() - 10 * DAY,
    )
    admin = SchoolAdminFactory(school=school, full_name="赵校长")
    client = client_for(admin)
    data = visit_data(visited_on=(TODAY - 20 * DAY).isoformat(), study_situation="成绩中等")

    response = client.post(update_url(visit), data)
    assert response.status_code == 400
    assert list(response.context["form"].errors) == ["reason"]
    visit.refresh_from_db()
    assert visit.study_situation == "学习认真"

    response = client.post(update_url(visit), {**data, "reason": "家长更正了学习情况"})
    assert response.status_code == 302
    visit.refresh_from_db()
    assert visit.study_situation == "成绩中等"
    latest = visit.history.order_by("-history_date", "-history_id").first()
    assert (latest.history_user, latest.history_change_reason) == (admin, "家长更正了学习情况")
    page = client.get(visit.get_absolute_url()).content.decode()
    assert "家长更正了学习情况" in page and "赵校长" in page
    assert client_for(teacher).get(update_url(visit)).status_code == 403


def test_update_form_starts_from_the_saved_visit(client_for, teacher, school, paired_student):
    grant = AidProgramFactory(name="国家助学金")
    bag = DeliveryItemFactory(name="书包")
    colleague = TeacherFactory(school=school)
    visit = HomeVisitFactory(student=paired_student, author=teacher, visited_on=TODAY)
    visit.other_visitors.add(colleague)
    PolicyCheckFactory(visit=visit, program=grant, delivered=False, reason="未到账")
    VisitDeliveryFactory(visit=visit, item=bag, quantity=2)
    form = client_for(teacher).get(update_url(visit)).context["form"]
    assert form[f"policy_{grant.pk}"].value() == "no"
    assert form[f"policy_{grant.pk}_reason"].value() == "未到账"
    assert form[f"item_{bag.pk}"].value() == 2
    assert list(form["other_visitors"].value()) == [colleague.pk]


# ---------------------------------------------------------------------------------------
# The visit page
# ---------------------------------------------------------------------------------------


def test_visit_page_shows_everything_and_the_edit_button_to_its_author(
    client_for, teacher, school, paired_student
):
    visit = HomeVisitFactory(
        student=paired_student, author=teacher, visited_on=TODAY, measures="每周电话联系"
    )
    visit.other_visitors.add(TeacherFactory(school=school, full_name="李老师", subject="心理健康"))
    PolicyCheckFactory(visit=visit, program=AidProgramFactory(name="国家助学金"))
    PolicyCheckFactory(
        visit=visit, program=AidProgramFactory(name="营养改善计划"), delivered=False, reason="未开餐"
    )
    VisitDeliveryFactory(visit=visit, item=DeliveryItemFactory(name="书包"), quantity=2)
    page = client_for(teacher).get(visit.get_absolute_url()).content.decode()
    assert "每周电话联系" in page and "李老师 · 心理健康" in page and "书包 2个" in page
    not_delivered = page.split('class="policy-result not-delivered"')[1].split("</div>")[0]
    assert "营养改善计划" in not_delivered and "未开餐" in not_delivered
    assert page.count('class="policy-result not-delivered"') == 1
    assert update_url(visit) in page

    other_school_admin = client_for(SchoolAdminFactory(school=SchoolFactory()))
    assert other_school_admin.get(visit.get_absolute_url()).status_code == 404


# ---------------------------------------------------------------------------------------
# The visit list
# ---------------------------------------------------------------------------------------


@pytest.fixture
def three_visits(db):
    """Three visits at two schools of two townships, different in every filtered field."""
    school_a, school_b = SchoolFactory(), SchoolFactory()
    wang = TeacherFactory(school=school_a, full_name="王老师")
    li = TeacherFactory(school=school_b, full_name="李老师")
    first = HomeVisitFactory(
        student=StudentFactory(school=school_a), author=wang, visited_on=TODAY - 30 * DAY
    )
    PolicyCheckFactory(visit=first, delivered=True)
    second = HomeVisitFactory(
        student=StudentFactory(school=school_b), author=li, visited_on=TODAY - 20 * DAY,
        mode="phone", dropout_risk="high",
    )
    PolicyCheckFactory(visit=second, delivered=False, reason="未到账")
    third = HomeVisitFactory(
        student=StudentFactory(school=school_a), author=li, visited_on=TODAY - 10 * DAY,
        mode="video", dropout_risk="some",
    )
    return school_a, school_b, (first, second, third)


def listed(client, **query):
    response = client.get(reverse("aid:visit_list"), query)
    assert response.status_code == 200
    return [visit.pk for visit in response.context["visits"]]


def test_visit_list_filters(client_for, bureau_admin, three_visits):
    school_a, school_b, (first, second, third) = three_visits
    client = client_for(bureau_admin)
    assert listed(client) == [third.pk, second.pk, first.pk]  # newest first
    assert listed(client, o="date") == [first.pk, second.pk, third.pk]
    assert listed(client, visited_after=(TODAY - 25 * DAY).isoformat()) == [third.pk, second.pk]
    assert listed(client, visited_before=(TODAY - 20 * DAY).isoformat()) == [second.pk, first.pk]
    assert listed(client, mode="phone") == [second.pk]
    assert listed(client, school=school_a.pk) == [third.pk, first.pk]
    assert listed(client, township=school_b.region.code) == [second.pk]
    assert listed(client, teacher="李") == [third.pk, second.pk]
    assert listed(client, risk="some") == [third.pk]
    assert listed(client, undelivered="on") == [second.pk]


def test_visit_list_is_scoped(client_for, teacher, school, three_visits):
    _school_a, school_b, (first, second, third) = three_visits
    assert listed(client_for(SchoolAdminFactory(school=school_b))) == [second.pk]
    paired = PairingFactory(teacher=teacher, student=StudentFactory(school=school)).student
    mine = HomeVisitFactory(student=paired)
    assert listed(client_for(teacher)) == [mine.pk]


@pytest.mark.parametrize("size", [3, 40])
def test_visit_list_takes_a_fixed_number_of_queries(
    client_for, bureau_admin, school, size, django_assert_max_num_queries
):
    colleague = TeacherFactory(school=school)
    for visit in HomeVisitFactory.create_batch(size, student=StudentFactory(school=school)):
        visit.other_visitors.add(colleague)
        PolicyCheckFactory(visit=visit, delivered=False, reason="未到账")
    client = client_for(bureau_admin)
    # session, user, the user's region, count, the page's keys, the page, other visitors,
    # school and township choices
    with django_assert_max_num_queries(9):
        response = client.get(reverse("aid:visit_list"), {"undelivered": "on"})
    assert len(response.context["visits"]) == size


# ---------------------------------------------------------------------------------------
# The export
# ---------------------------------------------------------------------------------------

HEADERS = [
    "家访日期", "学生姓名", "身份证号", "学校", "乡镇", "家访方式", "记录人", "其他参与人员",
    "辍学风险", "未落实政策", "发放物品", "需要跟进", "下次家访日期",
]


def exported_rows(client, **query):
    response = client.get(reverse("aid:visit_export"), query, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    workbook = load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    return [list(row) for row in workbook.active.iter_rows(values_only=True)]


@pytest.fixture
def exported_visit(school):
    student = StudentFactory(school=school, name="孙晓雨")
    author = TeacherFactory(school=school, full_name="王老师")
    visit = HomeVisitFactory(
        student=student, author=author, visited_on=datetime.date(2026, 10, 12), mode="phone",
        dropout_risk="high", follow_up_needed=True, next_visit_on=datetime.date(2026, 11, 2),
    )
    visit.other_visitors.add(
        TeacherFactory(school=school, full_name="李老师"), TeacherFactory(school=school, full_name="赵老师")
    )
    PolicyCheckFactory(visit=visit, program=AidProgramFactory(name="国家助学金"))
    for name in ("营养改善计划", "交通补助"):
        PolicyCheckFactory(visit=visit, program=AidProgramFactory(name=name), delivered=False, reason="未到账")
    VisitDeliveryFactory(visit=visit, item=DeliveryItemFactory(name="书包"), quantity=2)
    VisitDeliveryFactory(visit=visit, item=DeliveryItemFactory(name="防疫礼包", unit="份"), quantity=1)
    HomeVisitFactory(student=StudentFactory(school=school), visited_on=datetime.date(2026, 9, 20))
    return visit


def test_export_has_the_filtered_rows_with_full_id_numbers_for_the_bureau(
    client_for, bureau_admin, school, exported_visit
):
    student = exported_visit.student
    rows = exported_rows(client_for(bureau_admin), mode="phone")
    assert rows[0] == HEADERS
    assert rows[1:] == [[
        datetime.datetime(2026, 10, 12), "孙晓雨", student.id_number, school.name,
        school.region.name, "Phone", "王老师", "李老师、赵老师", "High", "交通补助、营养改善计划",
        "书包2个、防疫礼包1份", "Yes", datetime.datetime(2026, 11, 2),
    ]]
    log = ExportLog.objects.get()
    assert (log.user, log.list_name, log.query, log.row_count) == (
        bureau_admin, "visits", "mode=phone", 1
    )


def test_export_masks_id_numbers_for_a_viewer_and_is_logged_as_masked(client_for, viewer, exported_visit):
    number = exported_visit.student.id_number
    rows = exported_rows(client_for(viewer))
    assert len(rows) == 3
    masked = number[:6] + "********" + number[-4:]
    assert [row[2] for row in rows[1:] if row[1] == "孙晓雨"] == [masked]
    log = ExportLog.objects.get()
    assert (log.user, log.list_name, log.row_count, log.id_numbers_masked) == (viewer, "visits", 2, True)


def test_a_teachers_export_is_logged_for_the_logins_it_carries(client_for, exported_visit):
    """Teachers see ID numbers masked, but colleagues' logins are mobile phone numbers."""
    rows = exported_rows(client_for(exported_visit.author))

    assert [row[1] for row in rows[1:]] == ["孙晓雨"]
    log = ExportLog.objects.get()
    assert (log.user, log.list_name, log.row_count) == (exported_visit.author, "visits", 1)
    assert (log.id_numbers_masked, log.phones_masked) == (True, False)


def test_export_keeps_the_scope(client_for, exported_visit, other_school):
    HomeVisitFactory(student=StudentFactory(school=other_school))
    rows = exported_rows(client_for(SchoolAdminFactory(school=other_school)))
    assert len(rows) == 2 and rows[1][3] == other_school.name


def test_visit_pages_are_newest_first_with_every_visit_once(client_for, bureau_admin, school):
    students = StudentFactory.create_batch(3, school=school)
    visits = [
        HomeVisitFactory(student=students[n % 3], visited_on=TODAY - (n % 7) * DAY) for n in range(55)
    ]
    expected = [v.pk for v in sorted(visits, key=lambda v: (v.visited_on, v.pk), reverse=True)]
    client = client_for(bureau_admin)
    pages = [client.get(reverse("aid:visit_list"), {"page": page}).context["visits"] for page in (1, 2)]
    assert [v.pk for page in pages for v in page] == expected
