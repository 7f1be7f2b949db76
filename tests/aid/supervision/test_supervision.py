"""Grid supervision (网格督导) and school improvement projects: grid scope, inspections with
their checklist, rectification items followed to the deadline, project totals and export.

The factories of these models live here (tests/factories.py is shared by everyone).
"""
import datetime
import io
from decimal import Decimal

import factory
import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation
from openpyxl import load_workbook

from aid.reference.models import ChecklistItem
from aid.supervision import services as supervision
from aid.supervision.models import (
    ChecklistAnswer,
    GridGroup,
    Inspection,
    Rectification,
    SchoolProject,
)
from config.navigation import menu_for
from students.choices import Role
from tests.exports import exported_rows
from tests.factories import (
    BureauAdminFactory,
    RegionFactory,
    SchoolAdminFactory,
    SchoolFactory,
    TeacherFactory,
    TownshipFactory,
    UserFactory,
    ViewerFactory,
)

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()
Status = Rectification.Status


def days(offset):
    return TODAY + datetime.timedelta(days=offset)


def read_back(day):
    """A date as openpyxl reads it from a date cell."""
    return datetime.datetime.combine(day, datetime.time())


# ---------------------------------------------------------------------------------------
# Factories
# ---------------------------------------------------------------------------------------


class GridLeaderFactory(UserFactory):
    role = Role.GRID_LEADER
    region = factory.SubFactory(RegionFactory)


class GridGroupFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = GridGroup
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"第{n}网格组")
    region = factory.SubFactory(RegionFactory)
    leader = factory.SubFactory(GridLeaderFactory, region=factory.SelfAttribute("..region"))

    @factory.post_generation
    def townships(obj, create, extracted, **kwargs):
        if create:
            obj.townships.set(extracted if extracted is not None else [TownshipFactory(parent=obj.region)])

    @factory.post_generation
    def members(obj, create, extracted, **kwargs):
        if create and extracted:
            obj.members.set(extracted)


class ChecklistItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ChecklistItem

    text = factory.Sequence(lambda n: f"检查项目{n}")
    position = factory.Sequence(lambda n: n)


class InspectionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Inspection
        skip_postgeneration_save = True

    grid = factory.SubFactory(GridGroupFactory)
    school = factory.LazyAttribute(lambda o: SchoolFactory(region=o.grid.townships.first()))
    inspected_on = factory.LazyFunction(lambda: days(-30))
    findings = "资助政策宣传不到位"
    recorded_by = factory.SelfAttribute("grid.leader")

    @factory.post_generation
    def inspectors(obj, create, extracted, **kwargs):
        if create:
            obj.inspectors.set(extracted or [obj.grid.leader])


class RectificationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Rectification

    inspection = factory.SubFactory(InspectionFactory)
    school = factory.SelfAttribute("inspection.school")
    description = "补齐资助发放台账"
    deadline = factory.LazyFunction(lambda: days(10))


class SchoolProjectFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SchoolProject

    school = factory.SubFactory(SchoolFactory)
    name = factory.Sequence(lambda n: f"校舍改造工程{n}")
    type = SchoolProject.Type.BUILDING
    investment = Decimal("1000000.00")
    funding_source = "county"
    status = SchoolProject.Status.PLANNED


DEFAULT_CHECKLIST = ["资助政策宣传", "资助发放台账", "家访记录", "结对帮扶", "控辍保学", "办学条件"]


# ---------------------------------------------------------------------------------------
# Fixtures: Lanling with two grids over three townships, and Feixian next door
# ---------------------------------------------------------------------------------------


@pytest.fixture
def place(db):
    county = RegionFactory()
    towns = [TownshipFactory(parent=county) for _ in range(3)]
    schools = [SchoolFactory(region=town) for town in towns]
    feixian = RegionFactory(code="371325", name="费县")
    feixian_town = TownshipFactory(code="371325100", name="费城街道", parent=feixian)
    return {
        "county": county,
        "towns": towns,
        "schools": schools,
        "feixian": feixian,
        "feixian_town": feixian_town,
        "feixian_school": SchoolFactory(region=feixian_town),
    }


@pytest.fixture
def grids(place):
    """Grid one covers townships 0 and 1 (a leader and a member); grid two township 2."""
    county, towns = place["county"], place["towns"]
    member = GridLeaderFactory(region=county, full_name="组员甲")
    one = GridGroupFactory(region=county, townships=towns[:2], members=[member], name="第一网格组")
    two = GridGroupFactory(region=county, townships=[towns[2]], name="第二网格组")
    return {"one": one, "two": two, "member": member}


@pytest.fixture
def checklist(db):
    ChecklistItemFactory(text="已停用的项目", is_active=False)
    return [ChecklistItemFactory(text=text) for text in DEFAULT_CHECKLIST]


@pytest.fixture
def records(place, grids):
    """An inspection with one rectification item and one project at each Lanling school,
    and the same in Feixian."""
    feixian_grid = GridGroupFactory(region=place["feixian"], townships=[place["feixian_town"]])
    result = {"inspections": [], "rectifications": [], "projects": []}
    for school, grid in zip(
        place["schools"] + [place["feixian_school"]],
        [grids["one"], grids["one"], grids["two"], feixian_grid],
    ):
        inspection = InspectionFactory(school=school, grid=grid)
        result["inspections"].append(inspection)
        result["rectifications"].append(RectificationFactory(inspection=inspection))
        result["projects"].append(SchoolProjectFactory(school=school))
    return result


def listed(response, name):
    return {obj.pk for obj in response.context[name]}


def pks(objects):
    return {obj.pk for obj in objects}


def export(client, url_name, query):
    return client.get(reverse(url_name), {**query, "export": "xlsx"}, HTTP_ACCEPT_LANGUAGE="en")


# ---------------------------------------------------------------------------------------
# Scope and roles
# ---------------------------------------------------------------------------------------


class TestGridScope:
    @pytest.mark.parametrize("who", ["leader", "member"])
    def test_a_grid_leader_or_member_sees_only_the_grids_townships(self, client_for, grids, records, who):
        user = grids["one"].leader if who == "leader" else grids["member"]
        client = client_for(user)
        inside = slice(0, 2)  # the schools of townships 0 and 1
        assert listed(client.get(reverse("aid:inspection_list")), "inspections") == pks(records["inspections"][inside])
        assert listed(client.get(reverse("aid:rectification_list")), "rectifications") == pks(
            records["rectifications"][inside]
        )
        assert listed(client.get(reverse("aid:project_list")), "projects") == pks(records["projects"][inside])
        assert listed(client.get(reverse("aid:grid_list")), "grids") == {grids["one"].pk}

    def test_a_grid_leader_gets_404_outside_the_townships(self, client_for, grids, records, place):
        client = client_for(grids["one"].leader)
        outside_inspection = records["inspections"][2]
        outside_item = records["rectifications"][2]
        for url in (
            reverse("aid:inspection_detail", args=[outside_inspection.pk]),
            reverse("aid:rectification_update", args=[outside_item.pk]),
            reverse("aid:grid_detail", args=[grids["two"].pk]),
            reverse("aid:inspection_create") + f"?school={place['schools'][2].pk}",
            reverse("students:school_detail", args=[place["schools"][2].pk]),
        ):
            assert client.get(url).status_code == 404, url
        inside = records["rectifications"][0]
        assert client.get(reverse("aid:rectification_update", args=[inside.pk])).status_code == 200
        assert client.get(reverse("aid:inspection_detail", args=[records["inspections"][1].pk])).status_code == 200

    def test_the_export_keeps_the_grid_scope(self, client_for, grids, records):
        response = client_for(grids["one"].leader).get(reverse("aid:project_export"))
        sheet = load_workbook(io.BytesIO(response.content)).worksheets[0]
        assert {row[2] for row in sheet.iter_rows(min_row=2, values_only=True)} == {
            project.name for project in records["projects"][:2]
        }


def detail_urls(records, grids, place):
    return [
        reverse("aid:grid_detail", args=[grids["one"].pk]),
        reverse("aid:grid_update", args=[grids["one"].pk]),
        reverse("aid:inspection_detail", args=[records["inspections"][0].pk]),
        reverse("aid:inspection_create") + f"?school={place['schools'][0].pk}",
        reverse("aid:rectification_update", args=[records["rectifications"][0].pk]),
        reverse("aid:project_update", args=[records["projects"][0].pk]),
    ]


LIST_URLS = [
    ("aid:grid_list", "grids"),
    ("aid:inspection_list", "inspections"),
    ("aid:rectification_list", "rectifications"),
    ("aid:project_list", "projects"),
]


class TestOtherCountyAndSchool:
    def test_a_bureau_admin_of_another_county_sees_nothing_and_gets_404(self, client_for, records, grids, place):
        client = client_for(BureauAdminFactory(region=place["feixian"]))
        lanling = {
            "grids": {grids["one"].pk, grids["two"].pk},
            "inspections": pks(records["inspections"][:3]),
            "rectifications": pks(records["rectifications"][:3]),
            "projects": pks(records["projects"][:3]),
        }
        for name, key in LIST_URLS:
            assert not listed(client.get(reverse(name)), key) & lanling[key], name
        for url in detail_urls(records, grids, place):
            assert client.get(url).status_code == 404, url
        sheet = load_workbook(io.BytesIO(client.get(reverse("aid:project_export")).content)).worksheets[0]
        assert [row[2] for row in sheet.iter_rows(min_row=2, values_only=True)] == [records["projects"][3].name]

    def test_a_school_admin_sees_their_school_only(self, client_for, records, place):
        client = client_for(SchoolAdminFactory(school=place["schools"][1]))
        assert listed(client.get(reverse("aid:inspection_list")), "inspections") == {records["inspections"][1].pk}
        assert listed(client.get(reverse("aid:rectification_list")), "rectifications") == {
            records["rectifications"][1].pk
        }
        assert listed(client.get(reverse("aid:project_list")), "projects") == {records["projects"][1].pk}
        assert listed(client.get(reverse("aid:grid_list")), "grids") == set()
        for obj, name in (
            (records["inspections"][0], "aid:inspection_detail"),
            (records["rectifications"][0], "aid:rectification_update"),
        ):
            assert client.get(reverse(name, args=[obj.pk])).status_code == 404


class TestRoles:
    def test_teachers_get_403_everywhere(self, client_for, records, grids, place):
        client = client_for(TeacherFactory(school=place["schools"][0]))
        urls = [reverse(name) for name, _key in LIST_URLS] + detail_urls(records, grids, place)
        urls += [reverse("aid:grid_create"), reverse("aid:project_create"), reverse("aid:project_export")]
        for url in urls:
            assert client.get(url).status_code == 403, url

    def test_viewers_read_but_change_nothing(self, client_for, records, grids, place):
        client = client_for(ViewerFactory(region=place["county"]))
        for name, key in LIST_URLS:
            assert client.get(reverse(name)).status_code == 200
        for obj, name in (
            (grids["one"], "aid:grid_detail"),
            (records["inspections"][0], "aid:inspection_detail"),
            (records["rectifications"][0], "aid:rectification_update"),
        ):
            assert client.get(reverse(name, args=[obj.pk])).status_code == 200
        for url in (
            reverse("aid:grid_create"),
            reverse("aid:grid_update", args=[grids["one"].pk]),
            reverse("aid:project_create"),
            reverse("aid:project_update", args=[records["projects"][0].pk]),
            reverse("aid:inspection_create") + f"?school={place['schools'][0].pk}",
        ):
            assert client.get(url).status_code == 403, url
        item = records["rectifications"][0]
        response = client.post(reverse("aid:rectification_update", args=[item.pk]), {"action": "close"})
        assert response.status_code == 403
        page = client.get(reverse("aid:rectification_update", args=[item.pk])).content.decode()
        assert 'name="action"' not in page

    def test_grid_leaders_and_school_admins_manage_neither_grids_nor_projects(self, client_for, grids, place):
        for user in (grids["one"].leader, SchoolAdminFactory(school=place["schools"][0])):
            client = client_for(user)
            assert client.get(reverse("aid:grid_create")).status_code == 403
            assert client.get(reverse("aid:project_create")).status_code == 403

    def test_school_admins_do_not_record_inspections(self, client_for, place, grids):
        client = client_for(SchoolAdminFactory(school=place["schools"][0]))
        assert client.get(reverse("aid:inspection_create") + f"?school={place['schools'][0].pk}").status_code == 403

    def test_the_menu_follows_the_same_rule(self, grids, place):
        def has_supervision(user):
            return any(group == "Supervision" for group, _links in menu_for(user))

        with translation.override("en"):
            assert has_supervision(grids["member"]) and has_supervision(ViewerFactory())
            assert not has_supervision(TeacherFactory(school=place["schools"][0]))
            assert not has_supervision(UserFactory())  # an account without a role

    def test_anonymous_users_are_sent_to_login(self, client, grids):
        response = client.get(reverse("aid:grid_list"))
        assert response.status_code == 302 and reverse("login") in response["Location"]


# ---------------------------------------------------------------------------------------
# Overdue: not closed and the deadline has passed; the deadline day itself is not late
# ---------------------------------------------------------------------------------------


class TestOverdue:
    @pytest.mark.parametrize(
        "deadline_offset, status, overdue_days",
        [
            (-1, Status.OPEN, 1),
            (0, Status.OPEN, 0),
            (1, Status.OPEN, 0),
            (-1, Status.CLOSED, 0),
            (-1, Status.REPORTED, 1),
            (-1, Status.REOPENED, 1),
            (-5, Status.OPEN, 5),
        ],
    )
    def test_boundaries(self, client_for, bureau_admin, grids, deadline_offset, status, overdue_days):
        inspection = InspectionFactory(grid=grids["one"], inspected_on=days(-20))
        item = RectificationFactory(inspection=inspection, deadline=days(deadline_offset), status=status)
        assert item.is_overdue() is bool(overdue_days)
        assert supervision.days_overdue(item) == overdue_days
        assert Rectification.objects.overdue().filter(pk=item.pk).exists() is bool(overdue_days)

        client = client_for(bureau_admin)
        overdue_only = client.get(reverse("aid:rectification_list"), {"overdue": "on"})
        assert listed(overdue_only, "rectifications") == ({item.pk} if overdue_days else set())
        for url in (
            reverse("aid:rectification_list"),
            reverse("aid:rectification_update", args=[item.pk]),
            reverse("aid:inspection_detail", args=[inspection.pk]),
        ):
            page = client.get(url).content.decode()
            if overdue_days:
                assert f'class="badge bad overdue" data-days="{overdue_days}"' in page, url
            else:
                assert "badge bad overdue" not in page, url
        school_row = client.get(reverse("aid:grid_detail", args=[grids["one"].pk])).context["schools"].get(
            pk=inspection.school_id
        )
        assert school_row.overdue_count == (1 if overdue_days else 0)
        assert school_row.open_count == (0 if status == Status.CLOSED else 1)


# ---------------------------------------------------------------------------------------
# Inspections
# ---------------------------------------------------------------------------------------


def inspection_data(checklist, grid, inspectors, *, inspected_on=None, answers=None, rectifications=()):
    """A complete POST of the inspection form: every item satisfactory unless `answers`
    says otherwise ({item: note} marks it not satisfactory)."""
    answers = answers or {}
    data = {
        "grid": grid.pk,
        "inspected_on": (inspected_on or days(-1)).isoformat(),
        "inspectors": [person.pk for person in inspectors],
        "findings": "台账基本齐全，宣传不到位。",
        "rectifications-TOTAL_FORMS": str(supervision.MAX_RECTIFICATIONS),
        "rectifications-INITIAL_FORMS": "0",
        "rectifications-MIN_NUM_FORMS": "0",
        "rectifications-MAX_NUM_FORMS": str(supervision.MAX_RECTIFICATIONS),
    }
    for item in checklist:
        data[f"answer_{item.pk}"] = "no" if item in answers else "yes"
        data[f"note_{item.pk}"] = answers.get(item, "")
    for index, (description, deadline) in enumerate(rectifications):
        data[f"rectifications-{index}-description"] = description
        data[f"rectifications-{index}-deadline"] = deadline.isoformat()
    return data


def nothing_written():
    return (
        Inspection.objects.count() == 0
        and ChecklistAnswer.objects.count() == 0
        and Rectification.objects.count() == 0
    )


class TestInspectionForm:
    def test_a_member_records_a_whole_inspection(self, client_for, grids, place, checklist):
        member, grid, school = grids["member"], grids["one"], place["schools"][0]
        url = reverse("aid:inspection_create") + f"?school={school.pk}"
        client = client_for(member)
        page = client.get(url)
        assert page.status_code == 200
        assert [item for item, _answer, _note in page.context["form"].checklist()] == checklist
        assert "已停用的项目" not in page.content.decode()
        data = inspection_data(
            checklist, grid, [member, grid.leader],
            answers={checklist[0]: "宣传栏未更新"},
            rectifications=[("更新资助政策宣传栏", days(14)), ("补齐家访记录", days(30))],
        )
        response = client.post(url, data)
        inspection = Inspection.objects.get()
        assert response.status_code == 302 and response["Location"] == inspection.get_absolute_url()
        assert (inspection.school, inspection.grid, inspection.recorded_by) == (school, grid, member)
        assert inspection.inspected_on == days(-1)
        assert pks(inspection.inspectors.all()) == {member.pk, grid.leader.pk}
        answers = {answer.item_id: answer for answer in inspection.answers.all()}
        assert set(answers) == pks(checklist)
        assert not answers[checklist[0].pk].satisfactory and answers[checklist[0].pk].note == "宣传栏未更新"
        assert all(answers[item.pk].satisfactory for item in checklist[1:])
        items = list(inspection.rectifications.order_by("deadline"))
        assert [(item.description, item.deadline, item.school, item.status) for item in items] == [
            ("更新资助政策宣传栏", days(14), school, Status.OPEN),
            ("补齐家访记录", days(30), school, Status.OPEN),
        ]
        assert items[0].history.get().history_user == member
        detail = client.get(response["Location"]).content.decode()
        assert "宣传栏未更新" in detail and "补齐家访记录" in detail

    def test_a_bad_rectification_deadline_writes_nothing(self, client_for, grids, place, checklist):
        """The second item's deadline is the inspection day itself: the whole inspection is
        refused, the page comes back with everything typed and the message on that line."""
        grid, school = grids["one"], place["schools"][0]
        url = reverse("aid:inspection_create") + f"?school={school.pk}"
        data = inspection_data(
            checklist, grid, [grid.leader], inspected_on=days(-3),
            answers={checklist[1]: "台账缺少签字"},
            rectifications=[("补签台账", days(7)), ("完善宣传", days(-3))],
        )
        response = client_for(grid.leader).post(url, data)
        assert response.status_code == 400
        assert nothing_written()
        form = response.context["form"]
        rows = form.rectifications.forms
        assert "deadline" in rows[1].errors and not rows[0].errors
        page = response.content.decode()
        assert "补签台账" in page and "完善宣传" in page and "台账缺少签字" in page
        assert 'id="rectification-2"' in page and "<details class=\"more-items\" open>" in page

    def test_the_service_writes_all_or_nothing(self, grids, place, checklist):
        grid = grids["one"]
        answers = [supervision.Answer(item, True) for item in checklist]
        with pytest.raises(ValidationError) as caught:
            supervision.inspection_record(
                actor=grid.leader, school=place["schools"][0], grid=grid, inspected_on=days(-2),
                inspectors=[grid.leader], answers=answers,
                rectifications=[
                    supervision.RectificationItem("整改一", days(5)),
                    supervision.RectificationItem("整改二", days(-2)),
                ],
            )
        assert "rectifications" in caught.value.message_dict
        assert nothing_written()

    def test_a_note_is_required_when_not_satisfactory(self, client_for, grids, place, checklist):
        grid = grids["one"]
        url = reverse("aid:inspection_create") + f"?school={place['schools'][1].pk}"
        data = inspection_data(checklist, grid, [grid.leader], answers={checklist[2]: ""})
        response = client_for(grid.leader).post(url, data)
        assert response.status_code == 400
        assert list(response.context["form"].errors) == [f"note_{checklist[2].pk}"]
        assert nothing_written()

    def test_every_active_item_must_be_answered(self, client_for, grids, place, checklist):
        grid = grids["one"]
        data = inspection_data(checklist, grid, [grid.leader])
        del data[f"answer_{checklist[4].pk}"]
        response = client_for(grid.leader).post(
            reverse("aid:inspection_create") + f"?school={place['schools'][0].pk}", data
        )
        assert response.status_code == 400
        assert f"answer_{checklist[4].pk}" in response.context["form"].errors
        with pytest.raises(ValidationError):
            supervision.inspection_record(
                actor=grid.leader, school=place["schools"][0], grid=grid, inspected_on=days(-1),
                inspectors=[grid.leader], answers=[supervision.Answer(checklist[0], True)],
            )
        assert nothing_written()

    def test_inspectors_are_the_grids_people_and_the_date_is_not_in_the_future(self, grids, place, checklist):
        grid = grids["one"]
        answers = [supervision.Answer(item, True) for item in checklist]
        record = dict(actor=grid.leader, school=place["schools"][0], grid=grid, answers=answers)
        with pytest.raises(ValidationError) as caught:
            supervision.inspection_record(**record, inspected_on=days(-1), inspectors=[grids["two"].leader])
        assert "inspectors" in caught.value.message_dict
        with pytest.raises(ValidationError) as caught:
            supervision.inspection_record(**record, inspected_on=days(1), inspectors=[grid.leader])
        assert "inspected_on" in caught.value.message_dict
        assert nothing_written()

    def test_a_grid_inspects_only_in_its_townships_and_the_bureau_anywhere(self, grids, place, checklist):
        answers = [supervision.Answer(item, True) for item in checklist]
        outside = place["schools"][2]  # township of grid two
        with pytest.raises(PermissionDenied):
            supervision.inspection_record(
                actor=grids["member"], school=outside, grid=grids["one"], inspected_on=days(-1),
                inspectors=[grids["member"]], answers=answers,
            )
        admin = BureauAdminFactory(region=place["county"])
        inspection = supervision.inspection_record(
            actor=admin, school=outside, grid=grids["two"], inspected_on=days(-1),
            inspectors=[grids["two"].leader], answers=answers,
        )
        assert inspection.recorded_by == admin

    def test_the_bureau_is_told_when_no_grid_covers_the_school(self, client_for, bureau_admin, place, grids):
        uncovered = SchoolFactory(region=TownshipFactory(parent=place["county"]))
        response = client_for(bureau_admin).get(reverse("aid:inspection_create") + f"?school={uncovered.pk}")
        assert response.status_code == 200 and 'id="no-grid"' in response.content.decode()

    def test_without_a_school_the_page_offers_the_grids_schools(self, client_for, grids, place):
        response = client_for(grids["one"].leader).get(reverse("aid:inspection_create"))
        assert pks(response.context["schools"]) == pks(place["schools"][:2])

    def test_inspection_list_filters(self, client_for, bureau_admin, grids, place):
        old = InspectionFactory(grid=grids["one"], school=place["schools"][0], inspected_on=days(-60))
        recent = InspectionFactory(grid=grids["one"], school=place["schools"][1], inspected_on=days(-5))
        other = InspectionFactory(grid=grids["two"], school=place["schools"][2], inspected_on=days(-5))
        client = client_for(bureau_admin)
        url = reverse("aid:inspection_list")
        assert listed(client.get(url, {"grid": grids["one"].pk}), "inspections") == {old.pk, recent.pk}
        assert listed(client.get(url, {"school": place["schools"][2].pk}), "inspections") == {other.pk}
        assert listed(
            client.get(url, {"inspected_after": days(-10).isoformat(), "inspected_before": days(0).isoformat()}),
            "inspections",
        ) == {recent.pk, other.pk}

    def test_export_has_the_filtered_inspections_of_the_grid(self, client_for, grids, place):
        leader, member = grids["one"].leader, grids["member"]
        leader.full_name = "王组长"
        leader.save()
        schools, towns = place["schools"], place["towns"]
        earlier = InspectionFactory(
            grid=grids["one"], school=schools[0], inspected_on=days(-10), inspectors=[leader, member],
            findings="宣传栏未更新",
        )
        for satisfactory in (True, False):
            ChecklistAnswer.objects.create(
                inspection=earlier, item=ChecklistItemFactory(), satisfactory=satisfactory, note="x"
            )
        RectificationFactory(inspection=earlier, deadline=days(-2))
        RectificationFactory(inspection=earlier, deadline=days(5))
        RectificationFactory(inspection=earlier, deadline=days(-2), status=Status.CLOSED)
        InspectionFactory(grid=grids["one"], school=schools[1], inspected_on=days(-3), inspectors=[member], findings="")
        InspectionFactory(grid=grids["one"], school=schools[0], inspected_on=days(-60))  # before the filter
        InspectionFactory(grid=grids["two"], school=schools[2], inspected_on=days(-3))  # outside the grid

        rows = exported_rows(export(client_for(leader), "aid:inspection_list", {"inspected_after": days(-40)}))

        assert rows == [
            (
                "Date", "School", "Township", "Grid group", "Inspectors", "Not satisfactory",
                "Items to rectify", "Rectification items", "Overdue", "Findings",
            ),
            (read_back(days(-3)), schools[1].name, towns[1].name, "第一网格组", "组员甲", 0, 0, 0, 0, None),
            (read_back(days(-10)), schools[0].name, towns[0].name, "第一网格组", "王组长、组员甲", 1, 2, 3, 1, "宣传栏未更新"),
        ]

    def test_the_inspection_list_links_its_export_with_the_filter(self, client_for, bureau_admin, grids):
        response = client_for(bureau_admin).get(reverse("aid:inspection_list"), {"grid": grids["one"].pk, "page": "1"})

        assert f'href="?grid={grids["one"].pk}&amp;export=xlsx" id="export-inspections"' in response.content.decode()


# ---------------------------------------------------------------------------------------
# Rectification items: report → close, or reopen with a reason, all in the history
# ---------------------------------------------------------------------------------------


class TestRectificationFlow:
    def test_report_close_reopen_with_history(self, client_for, grids, place):
        grid, school = grids["one"], place["schools"][0]
        item = RectificationFactory(inspection=InspectionFactory(grid=grid, school=school), deadline=days(3))
        url = reverse("aid:rectification_update", args=[item.pk])
        school_admin = SchoolAdminFactory(school=school)

        page = client_for(school_admin).get(url)
        assert list(page.context["action_forms"]) == ["report"]
        response = client_for(school_admin).post(url, {"action": "report", "report": "已更新宣传栏并拍照存档"})
        assert response.status_code == 302
        item.refresh_from_db()
        assert item.status == Status.REPORTED and item.school_report == "已更新宣传栏并拍照存档"
        assert item.reported_at is not None

        assert list(client_for(grids["member"]).get(url).context["action_forms"]) == ["close", "reopen"]
        response = client_for(grids["member"]).post(url, {"action": "reopen", "reason": "照片不清楚，需现场核实", "deadline": days(20).isoformat()})
        assert response.status_code == 302
        item.refresh_from_db()
        assert (item.status, item.deadline) == (Status.REOPENED, days(20))

        client_for(school_admin).post(url, {"action": "report", "report": "已现场整改完毕"})
        response = client_for(grid.leader).post(url, {"action": "close", "note": "现场核实通过"})
        assert response.status_code == 302
        item.refresh_from_db()
        assert (item.status, item.closed_on) == (Status.CLOSED, TODAY)

        history = list(item.history.order_by("history_date", "history_id"))
        assert [(record.status, record.history_user) for record in history[1:]] == [
            (Status.REPORTED, school_admin),
            (Status.REOPENED, grids["member"]),
            (Status.REPORTED, school_admin),
            (Status.CLOSED, grid.leader),
        ]
        assert history[2].history_change_reason == "照片不清楚，需现场核实"
        page = client_for(grids["member"]).get(url)
        entries = page.context["history"]
        assert len(entries) == 5
        assert entries[0]["record"].history_user == grid.leader
        content = page.content.decode()
        assert "照片不清楚，需现场核实" in content and str(grids["member"]) in content

    def test_a_closed_item_can_be_reopened_by_the_bureau(self, bureau_admin, grids, place):
        item = RectificationFactory(
            inspection=InspectionFactory(grid=grids["one"], school=place["schools"][0]),
            status=Status.CLOSED, closed_on=days(-1), deadline=days(-3),
        )
        reopened = supervision.rectification_reopen(actor=bureau_admin, rectification=item, reason="复查发现问题反弹")
        assert (reopened.status, reopened.closed_on) == (Status.REOPENED, None)
        assert reopened.is_overdue()  # the old deadline stands when no new one is given
        assert reopened.history.latest().history_change_reason == "复查发现问题反弹"

    def test_reopening_needs_a_reason(self, client_for, grids, place):
        item = RectificationFactory(
            inspection=InspectionFactory(grid=grids["one"], school=place["schools"][0]), status=Status.REPORTED
        )
        response = client_for(grids["one"].leader).post(
            reverse("aid:rectification_update", args=[item.pk]), {"action": "reopen", "reason": " "}
        )
        assert response.status_code == 400
        assert "reason" in response.context["action_forms"]["reopen"].errors
        item.refresh_from_db()
        assert item.status == Status.REPORTED and item.history.count() == 1
        with pytest.raises(ValidationError):
            supervision.rectification_reopen(actor=grids["one"].leader, rectification=item, reason="")

    def test_moves_the_status_does_not_allow_are_refused(self, client_for, grids, place):
        item = RectificationFactory(inspection=InspectionFactory(grid=grids["one"], school=place["schools"][0]))
        url = reverse("aid:rectification_update", args=[item.pk])
        response = client_for(grids["one"].leader).post(url, {"action": "close"})
        assert response.status_code == 400
        assert response.context["action_forms"]["close"].non_field_errors()
        supervision.rectification_report(
            actor=SchoolAdminFactory(school=place["schools"][0]), rectification=item, report="已整改"
        )
        with pytest.raises(ValidationError):
            supervision.rectification_report(
                actor=SchoolAdminFactory(school=place["schools"][0]), rectification=item, report="再次上报"
            )
        item.refresh_from_db()
        assert item.status == Status.REPORTED
        assert client_for(grids["one"].leader).post(url, {"action": "archive"}).status_code == 400

    def test_who_may_act(self, client_for, bureau_admin, grids, place):
        school = place["schools"][0]
        item = RectificationFactory(
            inspection=InspectionFactory(grid=grids["one"], school=school), status=Status.REPORTED
        )
        url = reverse("aid:rectification_update", args=[item.pk])
        # The school reports but does not close; another grid does not even see the item.
        assert client_for(SchoolAdminFactory(school=school)).post(url, {"action": "close"}).status_code == 403
        assert client_for(grids["two"].leader).post(url, {"action": "close"}).status_code == 404
        assert client_for(TeacherFactory(school=school)).post(url, {"action": "close"}).status_code == 403
        assert client_for(SchoolAdminFactory(school=place["schools"][1])).post(
            url, {"action": "report", "report": "x"}
        ).status_code == 404
        # A grid leader of the township's grid may not report for the school.
        with pytest.raises(PermissionDenied):
            supervision.rectification_report(actor=grids["one"].leader, rectification=item, report="代报")
        assert client_for(bureau_admin).post(url, {"action": "close"}).status_code == 302
        item.refresh_from_db()
        assert item.status == Status.CLOSED

    def test_rectification_list_filters(self, client_for, bureau_admin, grids, place):
        one = InspectionFactory(grid=grids["one"], school=place["schools"][0])
        two = InspectionFactory(grid=grids["two"], school=place["schools"][2])
        late = RectificationFactory(inspection=one, deadline=days(-2))
        reported = RectificationFactory(inspection=one, status=Status.REPORTED)
        other = RectificationFactory(inspection=two)
        client = client_for(bureau_admin)
        url = reverse("aid:rectification_list")
        assert listed(client.get(url, {"grid": grids["one"].pk}), "rectifications") == {late.pk, reported.pk}
        assert listed(client.get(url, {"status": "reported"}), "rectifications") == {reported.pk}
        assert listed(client.get(url, {"school": place["schools"][2].pk}), "rectifications") == {other.pk}
        assert listed(client.get(url, {"overdue": "on"}), "rectifications") == {late.pk}

    def test_export_has_the_filtered_items_of_the_grid_with_days_overdue(self, client_for, grids, place):
        schools, towns = place["schools"], place["towns"]
        inspection = InspectionFactory(grid=grids["one"], school=schools[0], inspected_on=days(-30))
        RectificationFactory(inspection=inspection, description="补齐家访记录", deadline=days(5))
        RectificationFactory(inspection=inspection, description="补齐资助发放台账", deadline=days(-2))
        RectificationFactory(inspection=inspection, description="今天到期", deadline=days(0))
        RectificationFactory(inspection=inspection, deadline=days(-9), status=Status.CLOSED, closed_on=days(-1))
        outside = InspectionFactory(grid=grids["two"], school=schools[2])
        RectificationFactory(inspection=outside, deadline=days(-2))

        rows = exported_rows(export(client_for(grids["one"].leader), "aid:rectification_list", {"status": "open"}))

        assert rows == [
            (
                "School", "Township", "What must be put right", "Deadline", "Days overdue", "Status",
                "Closed on", "Inspection date", "Grid group",
            ),
            (schools[0].name, towns[0].name, "补齐资助发放台账", read_back(days(-2)), 2, "Open", None, read_back(days(-30)), "第一网格组"),
            (schools[0].name, towns[0].name, "今天到期", read_back(days(0)), None, "Open", None, read_back(days(-30)), "第一网格组"),
            (schools[0].name, towns[0].name, "补齐家访记录", read_back(days(5)), None, "Open", None, read_back(days(-30)), "第一网格组"),
        ]

    def test_the_rectification_list_links_its_export_with_the_filter(self, client_for, bureau_admin, grids):
        response = client_for(bureau_admin).get(reverse("aid:rectification_list"), {"overdue": "on", "page": "1"})

        assert 'href="?overdue=on&amp;export=xlsx" id="export-rectifications"' in response.content.decode()


# ---------------------------------------------------------------------------------------
# Grid groups
# ---------------------------------------------------------------------------------------


class TestGrids:
    def test_the_bureau_creates_and_edits_a_grid(self, client_for, bureau_admin, place):
        county, towns = place["county"], place["towns"]
        leader = GridLeaderFactory(region=county)
        member = GridLeaderFactory(region=county)
        colleague = BureauAdminFactory(region=county)
        GridLeaderFactory(region=place["feixian"], full_name="费县组长")
        client = client_for(bureau_admin)
        page = client.get(reverse("aid:grid_create"))
        offered = pks(page.context["form"].fields["leader"].queryset)
        assert {leader.pk, member.pk, colleague.pk, bureau_admin.pk} == offered
        assert pks(page.context["form"].fields["townships"].queryset) == pks(towns)

        response = client.post(
            reverse("aid:grid_create"),
            {"name": "第三网格组", "leader": leader.pk, "members": [member.pk, colleague.pk], "townships": [towns[0].pk, towns[1].pk]},
        )
        grid = GridGroup.objects.get(name="第三网格组")
        assert response.status_code == 302 and response["Location"] == reverse("aid:grid_detail", args=[grid.pk])
        assert (grid.region, grid.leader) == (county, leader)
        assert pks(grid.members.all()) == {member.pk, colleague.pk}
        assert pks(grid.townships.all()) == {towns[0].pk, towns[1].pk}

        response = client.post(
            reverse("aid:grid_update", args=[grid.pk]),
            {"name": "第三网格组", "leader": member.pk, "members": [leader.pk], "townships": [towns[1].pk, towns[2].pk]},
        )
        assert response.status_code == 302
        grid.refresh_from_db()
        assert grid.leader == member and pks(grid.townships.all()) == {towns[1].pk, towns[2].pk}
        # The grid's leader now sees the schools of its new townships only.
        assert pks(supervision.inspectable_schools(member)) == pks(place["schools"][1:])

    def test_a_township_belongs_to_one_grid(self, client_for, bureau_admin, grids, place):
        response = client_for(bureau_admin).post(
            reverse("aid:grid_create"),
            {"name": "重复网格组", "leader": grids["member"].pk, "townships": [place["towns"][0].pk]},
        )
        assert response.status_code == 400
        assert "townships" in response.context["form"].errors
        assert not GridGroup.objects.filter(name="重复网格组").exists()

    def test_the_database_keeps_a_township_in_one_grid_and_a_name_once_per_county(self, grids, place):
        from django.db import IntegrityError, transaction

        from aid.supervision.models import GridTownship

        with pytest.raises(IntegrityError), transaction.atomic():
            GridTownship.objects.create(gridgroup=grids["two"], region=place["towns"][0])
        with pytest.raises(IntegrityError), transaction.atomic():
            GridGroup.objects.create(region=place["county"], name="第一网格组", leader=grids["member"])

    def test_a_grid_written_meanwhile_is_explained_not_crashed_on(self, bureau_admin, grids, place, monkeypatch):
        """Another administrator saves a grid with the same township between the check and the write."""
        town = TownshipFactory(parent=place["county"])
        real_check = supervision._check_grid

        def check_then_race(actor, **kwargs):
            county = real_check(actor, **kwargs)
            if not GridGroup.objects.filter(name="抢先网格组").exists():
                rival = GridGroup.objects.create(region=county, name="抢先网格组", leader=grids["member"])
                rival.townships.set([town])
            return county

        monkeypatch.setattr(supervision, "_check_grid", check_then_race)
        with pytest.raises(ValidationError) as caught:
            supervision.grid_create(actor=bureau_admin, name="新网格组", leader=grids["member"], townships=[town])

        assert set(caught.value.message_dict) == {"townships"}
        assert not GridGroup.objects.filter(name="新网格组").exists()

    def test_people_and_townships_of_another_county_are_refused(self, bureau_admin, place, grids):
        outsider = GridLeaderFactory(region=place["feixian"])
        teacher = TeacherFactory(school=place["schools"][0])
        with pytest.raises(ValidationError) as caught:
            supervision.grid_create(
                actor=bureau_admin, name="新网格", leader=outsider, members=[teacher],
                townships=[TownshipFactory(parent=place["county"])],
            )
        assert set(caught.value.message_dict) == {"leader", "members"}
        with pytest.raises(ValidationError) as caught:
            supervision.grid_create(
                actor=bureau_admin, name="新网格", leader=grids["member"], townships=[place["feixian_town"]]
            )
        assert set(caught.value.message_dict) == {"townships"}
        with pytest.raises(PermissionDenied):
            supervision.grid_create(
                actor=grids["member"], name="新网格", leader=grids["member"],
                townships=[TownshipFactory(parent=place["county"])],
            )

    def test_grid_detail_shows_each_schools_last_inspection_and_items(self, client_for, grids, place):
        grid = grids["one"]
        first, second = place["schools"][:2]
        InspectionFactory(grid=grid, school=first, inspected_on=days(-40))
        latest = InspectionFactory(grid=grid, school=first, inspected_on=days(-4))
        RectificationFactory(inspection=latest, deadline=days(-1))
        RectificationFactory(inspection=latest, deadline=days(5))
        RectificationFactory(inspection=latest, deadline=days(-9), status=Status.CLOSED)
        response = client_for(grids["member"]).get(reverse("aid:grid_detail", args=[grid.pk]))
        rows = {school.pk: school for school in response.context["schools"]}
        assert set(rows) == {first.pk, second.pk}
        assert (rows[first.pk].last_inspected_on, rows[first.pk].open_count, rows[first.pk].overdue_count) == (
            days(-4), 2, 1,
        )
        assert (rows[second.pk].last_inspected_on, rows[second.pk].open_count) == (None, 0)
        assert response.context["may_record"] and not response.context["may_manage"]


# ---------------------------------------------------------------------------------------
# School improvement projects
# ---------------------------------------------------------------------------------------


    def test_export_has_the_grids_of_the_leader_with_their_items(self, client_for, grids, place):
        leader = grids["one"].leader
        leader.full_name = "王组长"
        leader.save()
        inspection = InspectionFactory(grid=grids["one"], school=place["schools"][0])
        RectificationFactory(inspection=inspection, deadline=days(-3))
        RectificationFactory(inspection=inspection, deadline=days(5))
        RectificationFactory(inspection=inspection, deadline=days(-3), status=Status.CLOSED)
        RectificationFactory(inspection=InspectionFactory(grid=grids["two"], school=place["schools"][2]))
        towns = place["towns"]

        rows = exported_rows(export(client_for(leader), "aid:grid_list", {}))

        assert rows == [
            ("Grid group", "Grid leader", "Members", "Townships covered", "Items to rectify", "Overdue"),
            ("第一网格组", "王组长", "组员甲", f"{towns[0].name}、{towns[1].name}", 2, 1),
        ]

    def test_the_grid_list_links_its_export(self, client_for, bureau_admin, grids):
        response = client_for(bureau_admin).get(reverse("aid:grid_list"), {"page": "1"})

        assert 'href="?export=xlsx" id="export-grids"' in response.content.decode()


@pytest.fixture
def projects(place):
    """Zichuan-like figures with fen, across types and townships, and one in Feixian."""
    schools = place["schools"]
    specs = [
        (schools[0], "building", "3210000.55"),
        (schools[0], "playground", "1466666.67"),
        (schools[1], "building", "2899999.99"),
        (schools[1], "it", "120000.10"),
        (schools[2], "playground", "1466666.66"),
        (schools[2], "toilet", "0.00"),
        (schools[2], "building", "0.01"),
    ]
    made = [SchoolProjectFactory(school=school, type=kind, investment=Decimal(amount)) for school, kind, amount in specs]
    SchoolProjectFactory(school=place["feixian_school"], investment=Decimal("999.99"))
    return made


def expected_totals(projects, key):
    sums = {}
    for project in projects:
        count, total = sums.get(key(project), (0, Decimal("0")))
        sums[key(project)] = (count + 1, total + project.investment)
    return sums


class TestProjects:
    def test_totals_per_type_and_township_agree_to_the_fen(self, client_for, bureau_admin, projects):
        response = client_for(bureau_admin).get(reverse("aid:project_list"))
        totals = response.context["totals"]
        assert {row["type"]: (row["count"], row["investment"]) for row in totals.by_type} == expected_totals(
            projects, lambda project: project.type
        )
        assert {row["township_code"]: (row["count"], row["investment"]) for row in totals.by_township} == expected_totals(
            projects, lambda project: project.school.region.code
        )
        assert totals.count == len(projects)
        assert totals.investment == sum((project.investment for project in projects), Decimal("0"))
        assert totals.investment == Decimal("9163333.98")

    def test_totals_follow_the_filters(self, client_for, bureau_admin, projects, place):
        client = client_for(bureau_admin)
        response = client.get(reverse("aid:project_list"), {"type": "playground"})
        totals = response.context["totals"]
        assert (totals.count, totals.investment) == (2, Decimal("2933333.33"))
        town = place["towns"][2]
        response = client.get(reverse("aid:project_list"), {"region": town.code})
        in_town = [project for project in projects if project.school.region_id == town.pk]
        assert listed(response, "projects") == pks(in_town)
        assert response.context["totals"].investment == sum((p.investment for p in in_town), Decimal("0"))
        response = client.get(reverse("aid:project_list"), {"status": "completed"})
        assert response.context["totals"].count == 0 and response.context["totals"].investment == Decimal("0")

    def test_export_has_the_filtered_list_and_the_totals_as_numbers(self, client_for, bureau_admin, projects):
        response = client_for(bureau_admin).get(reverse("aid:project_export"), {"type": "building"})
        assert response.status_code == 200
        workbook = load_workbook(io.BytesIO(response.content))
        listing, summary = workbook.worksheets
        rows = list(listing.iter_rows(min_row=2))
        buildings = [project for project in projects if project.type == "building"]
        assert sorted(row[2].value for row in rows) == sorted(project.name for project in buildings)
        for row in rows:
            assert isinstance(row[4].value, (int, float)) and row[4].number_format == "#,##0.00"
        assert sum(Decimal(str(row[4].value)) for row in rows) == Decimal("6110000.55")
        cells = [row for row in summary.iter_rows() if row[0].value is not None]
        money = [row[2] for row in cells if isinstance(row[2].value, (int, float))]
        assert money and all(cell.number_format == "#,##0.00" for cell in money)
        assert Decimal(str(money[-1].value)) == Decimal("6110000.55")  # the last total row

    def test_the_bureau_creates_and_edits_a_project(self, client_for, bureau_admin, place):
        client = client_for(bureau_admin)
        data = {
            "school": place["schools"][0].pk, "name": "塑胶运动场", "type": "playground",
            "investment": "1466666.67", "funding_source": "county", "status": "underway",
            "started_on": days(-30).isoformat(), "completed_on": "",
        }
        offered = client.get(reverse("aid:project_create")).context["form"].fields["school"].queryset
        assert pks(offered) == pks(place["schools"])
        assert client.post(reverse("aid:project_create"), data).status_code == 302
        project = SchoolProject.objects.get(name="塑胶运动场")
        assert project.investment == Decimal("1466666.67")
        page = client.get(reverse("aid:project_update", args=[project.pk]))
        assert page.status_code == 200 and page.context["form"].initial["name"] == "塑胶运动场"
        data.update(status="completed", completed_on=days(-1).isoformat())
        assert client.post(reverse("aid:project_update", args=[project.pk]), data).status_code == 302
        project.refresh_from_db()
        assert (project.status, project.completed_on) == ("completed", days(-1))

    @pytest.mark.parametrize(
        "change, field",
        [
            ({"investment": "-1"}, "investment"),
            ({"status": "completed"}, "completed_on"),
            ({"completed_on": "2020-01-01"}, "status"),
        ],
    )
    def test_bad_projects_are_refused(self, client_for, bureau_admin, place, change, field):
        data = {
            "school": place["schools"][0].pk, "name": "厕所改造", "type": "toilet", "investment": "80000",
            "funding_source": "county", "status": "planned", "started_on": "", "completed_on": "",
            **change,
        }
        response = client_for(bureau_admin).post(reverse("aid:project_create"), data)
        assert response.status_code == 400
        assert field in response.context["form"].errors
        assert not SchoolProject.objects.exists()

    def test_schools_outside_the_county_are_not_offered(self, client_for, bureau_admin, place):
        response = client_for(bureau_admin).post(
            reverse("aid:project_create"),
            {"school": place["feixian_school"].pk, "name": "越界", "type": "it", "investment": "1",
             "funding_source": "county", "status": "planned"},
        )
        assert response.status_code == 400 and "school" in response.context["form"].errors

    def test_the_service_keeps_money_exact(self, bureau_admin, place):
        fields = dict(
            actor=bureau_admin, school=place["schools"][0], name="信息化设备", type="it",
            funding_source="central", status="planned",
        )
        for bad in (0.1, Decimal("1.005"), Decimal("-0.01"), "100"):
            with pytest.raises(ValidationError) as caught:
                supervision.project_save(**fields, investment=bad)
            assert "investment" in caught.value.message_dict
        assert supervision.project_save(**fields, investment=120000).investment == Decimal("120000.00")
        with pytest.raises(ValidationError):
            supervision.project_save(**fields, investment=Decimal("1"), completed_on=days(-1))
        with pytest.raises(PermissionDenied):
            supervision.project_save(**{**fields, "actor": ViewerFactory()}, investment=Decimal("1"))
        with pytest.raises(ValidationError) as caught:
            supervision.project_save(**{**fields, "school": place["feixian_school"]}, investment=Decimal("1"))
        assert "school" in caught.value.message_dict


# ---------------------------------------------------------------------------------------
# Lists take a fixed number of queries, whatever the number of rows
# ---------------------------------------------------------------------------------------


def many_records(place, grids, count):
    checklist = ChecklistItemFactory.create_batch(3)
    people = [GridLeaderFactory(region=place["county"]) for _ in range(2)]
    for index in range(count):
        school = place["schools"][index % 2]
        inspection = InspectionFactory(grid=grids["one"], school=school, inspectors=people, inspected_on=days(-index))
        for item in checklist:
            ChecklistAnswer.objects.create(inspection=inspection, item=item, satisfactory=index % 2 == 0, note="x")
        RectificationFactory(inspection=inspection, deadline=days(index - 5))
        RectificationFactory(inspection=inspection, status=Status.CLOSED)
        SchoolProjectFactory(school=school)


@pytest.mark.parametrize("count", [1, 30])
@pytest.mark.parametrize(
    "url_name, max_queries",
    [
        ("aid:grid_list", 7),
        ("aid:inspection_list", 8),
        ("aid:rectification_list", 7),
        ("aid:project_list", 10),
        ("aid:project_export", 7),
    ],
)
def test_lists_take_a_fixed_number_of_queries(
    client_for, bureau_admin, place, grids, count, url_name, max_queries, django_assert_max_num_queries
):
    many_records(place, grids, count)
    client = client_for(bureau_admin)
    with django_assert_max_num_queries(max_queries):
        response = client.get(reverse(url_name))
    assert response.status_code == 200


@pytest.mark.parametrize("count", [1, 30])
@pytest.mark.parametrize(
    "url_name, model, max_queries",
    [
        ("aid:grid_list", GridGroup, 7),
        ("aid:inspection_list", Inspection, 6),
        ("aid:rectification_list", Rectification, 5),
    ],
)
def test_exports_take_a_fixed_number_of_queries(
    client_for, bureau_admin, place, grids, count, url_name, model, max_queries, django_assert_max_num_queries
):
    many_records(place, grids, count)
    client = client_for(bureau_admin)
    with django_assert_max_num_queries(max_queries):
        response = export(client, url_name, {})
    assert len(exported_rows(response)) == 1 + model.objects.count()


@pytest.mark.parametrize("count", [1, 30])
def test_grid_detail_takes_a_fixed_number_of_queries(
    client_for, bureau_admin, place, grids, count, django_assert_max_num_queries
):
    many_records(place, grids, count)
    for index in range(count):
        SchoolFactory(region=place["towns"][index % 2])
    client = client_for(bureau_admin)
    with django_assert_max_num_queries(7):
        response = client.get(reverse("aid:grid_detail", args=[grids["one"].pk]))
    assert len(response.context["schools"]) == count + 2


# ---------------------------------------------------------------------------------------
# On a 360-px phone, in a real browser
# ---------------------------------------------------------------------------------------

PHONE = {"width": 360, "height": 740}


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_member_records_an_inspection_on_a_phone(browser, live_server, artifacts):
    """Every supervision page fits the phone's width; the member taps through the checklist,
    adds an item to rectify, and sees the overdue item of an earlier inspection in red."""
    county = RegionFactory()
    town = TownshipFactory(parent=county, name="向城镇")
    school = SchoolFactory(region=town, name="向城镇中心小学")
    member = GridLeaderFactory(region=county, username="member", full_name="组员王")
    grid = GridGroupFactory(region=county, townships=[town], members=[member], name="第一网格组")
    checklist = [ChecklistItemFactory(text=text) for text in DEFAULT_CHECKLIST]
    earlier = InspectionFactory(grid=grid, school=school, inspected_on=days(-30))
    late = RectificationFactory(inspection=earlier, deadline=days(-3), description="完善控辍保学台账")
    SchoolProjectFactory(school=school, name="塑胶运动场改造", type="playground", investment=Decimal("1466666.67"))

    context = browser.new_context(viewport=PHONE, locale="zh-CN", is_mobile=True, has_touch=True)
    page = context.new_page()
    page.goto(f"{live_server.url}/login/")
    page.fill("input[name=username]", "member")
    page.fill("input[name=password]", "pass12345")
    page.click("#login-form button[type=submit]")
    page.wait_for_url("**/")

    def fits(path, name):
        page.goto(f"{live_server.url}{path}")
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], path
        page.screenshot(path=str(artifacts / f"supervision-{name}-phone.png"), full_page=True)

    fits(reverse("aid:grid_detail", args=[grid.pk]), "grid")
    fits(reverse("aid:rectification_list"), "rectifications")
    assert page.locator(f"#rectification-{late.pk} .badge.overdue").inner_text().strip() != ""
    fits(reverse("aid:project_list"), "projects")
    fits(reverse("aid:inspection_create") + f"?school={school.pk}", "inspection-form")

    for item in checklist[1:]:
        page.click(f"#item-{item.pk} label.choice-yes")
    page.click(f"#item-{checklist[0].pk} label.choice-no")
    page.fill(f"input[name=note_{checklist[0].pk}]", "宣传栏内容过期")
    page.fill("textarea[name=rectifications-0-description]", "更新资助政策宣传栏")
    page.fill("input[name=rectifications-0-deadline]", days(10).isoformat())
    page.click("#inspection-form button[type=submit]")
    page.wait_for_url("**/aid/inspections/*/")
    inspection = Inspection.objects.exclude(pk=earlier.pk).get()
    assert list(inspection.rectifications.values_list("description", flat=True)) == ["更新资助政策宣传栏"]
    assert inspection.answers.filter(satisfactory=False).get().note == "宣传栏内容过期"
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    fits(reverse("aid:rectification_update", args=[late.pk]), "rectification")
    context.close()


def test_two_people_following_up_one_item_the_later_is_refused_with_the_earlier_change(grids):
    """The leader sends the item back with a new deadline while the member, on a page
    opened before, closes it: the close is refused, saying what the leader changed."""
    grid = grids["one"]
    item = RectificationFactory(
        inspection=InspectionFactory(grid=grid), status=Status.REPORTED, school_report="已整改", deadline=days(3)
    )
    url = reverse("aid:rectification_update", args=[item.pk])
    leader, member = Client(), Client()
    leader.force_login(grid.leader)
    member.force_login(grids["member"])
    seen = {name: client.get(url).context["action_forms"]["close"]["seen"].value() for name, client in (("leader", leader), ("member", member))}

    reopened = leader.post(url, {"action": "reopen", "reason": "照片不清楚", "deadline": days(20).isoformat(), "seen": seen["leader"]})
    assert reopened.status_code == 302
    response = member.post(url, {"action": "close", "note": "现场核实通过", "seen": seen["member"]})

    assert response.status_code == 409
    form = response.context["action_forms"]["close"]
    [message] = form.non_field_errors()
    assert str(grid.leader) in message and days(20).isoformat() in message
    assert form["note"].value() == "现场核实通过"
    item.refresh_from_db()
    assert (item.status, item.closed_on, item.deadline) == (Status.REOPENED, None, days(20))
