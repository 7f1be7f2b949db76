"""City–rural school pairings (学校结对帮扶): the list, its paper-only flag, creation and activities."""
import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from aid.casework.models import ExchangeActivity, SchoolPairing
from tests.exports import exported_file_name, exported_rows
from tests.factories import (
    BureauAdminFactory,
    ExchangeActivityFactory,
    RegionFactory,
    SchoolAdminFactory,
    SchoolFactory,
    SchoolPairingFactory,
    TeacherFactory,
    TermFactory,
    TownshipFactory,
)

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()


def days(offset):
    return TODAY + datetime.timedelta(days=offset)


def midnight(day):
    """A date as a spreadsheet gives it back."""
    return datetime.datetime.combine(day, datetime.time())


@pytest.fixture
def term(db):
    return TermFactory(name="本学期", starts_on=days(-60), ends_on=days(60))


@pytest.fixture
def pairings(term):
    """One-to-one with two activities this term; one-to-many with one only last term."""
    city, city2 = SchoolFactory(name="城区实验小学", is_urban=True), SchoolFactory(name="城区第二小学", is_urban=True)
    weak, poor, remote = SchoolFactory(name="山村小学"), SchoolFactory(name="贫困村小学"), SchoolFactory(name="偏远小学")
    active = SchoolPairingFactory(lead_school=city, supported_schools=[weak])
    ExchangeActivityFactory(pairing=active, held_on=days(-10))
    ExchangeActivityFactory(pairing=active, held_on=days(-1), kind=ExchangeActivity.Kind.DONATION)
    paper = SchoolPairingFactory(lead_school=city2, supported_schools=[poor, remote])
    ExchangeActivityFactory(pairing=paper, held_on=days(-100))
    return {"active": active, "paper": paper, "schools": {"city": city, "weak": weak, "poor": poor, "remote": remote}}


class TestList:
    def test_activities_this_term_and_paper_only_pairings(self, client_for, bureau_admin, pairings):
        response = client_for(bureau_admin).get(reverse("aid:school_pairing_list"))
        rows = {pairing.pk: pairing for pairing in response.context["pairings"]}
        assert rows[pairings["active"].pk].term_activities == 2
        assert rows[pairings["paper"].pk].term_activities == 0
        assert rows[pairings["paper"].pk].last_activity_on == days(-100)
        page = response.content.decode()
        assert page.count("badge bad") == 1  # the paper-only pairing
        assert "贫困村小学" in page and "偏远小学" in page and "山村小学" in page

    def test_filter_by_a_supported_school(self, client_for, bureau_admin, pairings):
        response = client_for(bureau_admin).get(
            reverse("aid:school_pairing_list"), {"school": pairings["schools"]["remote"].pk}
        )
        assert list(response.context["pairings"]) == [pairings["paper"]]

    def test_school_staff_see_the_pairings_of_their_school(self, client_for, pairings):
        admin = SchoolAdminFactory(school=pairings["schools"]["weak"])
        assert list(client_for(admin).get(reverse("aid:school_pairing_list")).context["pairings"]) == [pairings["active"]]
        outsider = SchoolAdminFactory(school=SchoolFactory())
        assert list(client_for(outsider).get(reverse("aid:school_pairing_list")).context["pairings"]) == []

    def test_another_county_sees_nothing(self, client_for, pairings):
        admin = BureauAdminFactory(region=RegionFactory(code="371302", name="兰山区"))
        assert list(client_for(admin).get(reverse("aid:school_pairing_list")).context["pairings"]) == []

    @pytest.mark.parametrize("count", [1, 25])
    def test_fixed_number_of_queries(self, client_for, bureau_admin, term, count, django_assert_max_num_queries):
        for index in range(count):
            pairing = SchoolPairingFactory(supported_schools=[SchoolFactory(), SchoolFactory()])
            ExchangeActivityFactory(pairing=pairing, held_on=days(-index))
        client = client_for(bureau_admin)
        with django_assert_max_num_queries(9):
            response = client.get(reverse("aid:school_pairing_list"))
        assert len(response.context["pairings"]) == count

    def test_export_has_the_filtered_pairings_of_the_scope(self, client_for, school_admin, school, other_school, term):
        city = SchoolFactory(name="第一实验小学", is_urban=True)
        supported = SchoolPairingFactory(
            lead_school=city, supported_schools=[school, SchoolFactory(name="偏远小学")],
            started_on=datetime.date(2025, 3, 1),
        )
        ExchangeActivityFactory(pairing=supported, held_on=days(-10))
        ExchangeActivityFactory(pairing=supported, held_on=days(-1))
        supporting = SchoolPairingFactory(
            lead_school=school, supported_schools=[SchoolFactory(name="山村小学")],
            started_on=datetime.date(2024, 3, 1), ended_on=datetime.date(2025, 7, 1),
        )
        ExchangeActivityFactory(pairing=supporting, held_on=datetime.date(2025, 6, 1))
        SchoolPairingFactory(lead_school=city, supported_schools=[other_school])

        response = client_for(school_admin).get(
            reverse("aid:school_pairing_list"), {"school": school.pk, "export": "xlsx"}, HTTP_ACCEPT_LANGUAGE="en"
        )

        assert exported_rows(response) == [
            ("Supporting school", "Township", "Supported schools", "Started on", "Ended on",
             "Activities this term", "Last activity"),
            (school.name, school.region.name, "山村小学", datetime.datetime(2024, 3, 1), datetime.datetime(2025, 7, 1),
             0, datetime.datetime(2025, 6, 1)),
            ("第一实验小学", city.region.name, f"{school.name}、偏远小学", datetime.datetime(2025, 3, 1), None,
             2, midnight(days(-1))),
        ]
        assert exported_file_name(response).startswith(f"School pairings（{term.name}）_")

    def test_a_term_name_with_a_slash_makes_a_valid_sheet_title(self, client_for, bureau_admin, term):
        term.name = "2026/2027 学年第一学期"
        term.save()
        SchoolPairingFactory(started_on=datetime.date(2026, 3, 1))

        response = client_for(bureau_admin).get(reverse("aid:school_pairing_list"), {"export": "xlsx"})

        assert exported_file_name(response).startswith("学校结对帮扶（2026-2027 学年第一学期）_")
        assert len(exported_rows(response)) == 2

    def test_export_without_a_term_leaves_the_activities_empty(self, client_for, bureau_admin):
        pairing = SchoolPairingFactory(started_on=datetime.date(2026, 3, 1))
        ExchangeActivityFactory(pairing=pairing, held_on=datetime.date(2026, 4, 8))

        rows = exported_rows(client_for(bureau_admin).get(reverse("aid:school_pairing_list"), {"export": "xlsx"}))

        lead, supported = pairing.lead_school, pairing.supported_schools.get()
        assert rows[1:] == [
            (lead.name, lead.region.name, supported.name, datetime.datetime(2026, 3, 1), None, None,
             datetime.datetime(2026, 4, 8)),
        ]

    def test_export_takes_a_fixed_number_of_queries(self, client_for, bureau_admin, term, django_assert_max_num_queries):
        for index in range(12):
            pairing = SchoolPairingFactory(supported_schools=[SchoolFactory(), SchoolFactory()])
            ExchangeActivityFactory(pairing=pairing, held_on=days(-index))
        client = client_for(bureau_admin)

        with django_assert_max_num_queries(7):
            response = client.get(reverse("aid:school_pairing_list"), {"export": "xlsx"})

        assert len(exported_rows(response)) == 13

    def test_the_list_links_its_export_with_the_filter(self, client_for, school_admin, school):
        response = client_for(school_admin).get(reverse("aid:school_pairing_list"), {"school": school.pk, "page": "1"})

        assert f'href="?school={school.pk}&amp;export=xlsx" id="export-school-pairings"' in response.content.decode()


class TestDetail:
    def test_activities_are_listed(self, client_for, bureau_admin, pairings):
        response = client_for(bureau_admin).get(reverse("aid:school_pairing_detail", args=[pairings["active"].pk]))
        assert len(response.context["activities"]) == 2 and response.context["term_activity_count"] == 2
        assert reverse("aid:activity_create", args=[pairings["active"].pk]) in response.content.decode()

    def test_outside_the_scope_is_not_found(self, client_for, pairings):
        outsider = SchoolAdminFactory(school=SchoolFactory())
        url = reverse("aid:school_pairing_detail", args=[pairings["active"].pk])
        assert client_for(outsider).get(url).status_code == 404

    def test_teachers_of_a_paired_school_read_it_without_recording(self, client_for, pairings):
        teacher = TeacherFactory(school=pairings["schools"]["weak"])
        response = client_for(teacher).get(reverse("aid:school_pairing_detail", args=[pairings["active"].pk]))
        assert response.status_code == 200 and not response.context["may_record"]


class TestCreate:
    def test_bureau_pairs_one_school_with_several(self, client_for, bureau_admin, term):
        city, weak, poor = SchoolFactory(is_urban=True), SchoolFactory(is_weak=True), SchoolFactory(is_poor_village=True)
        response = client_for(bureau_admin).post(
            reverse("aid:school_pairing_create"),
            {"lead_school": city.pk, "supported_schools": [weak.pk, poor.pk], "started_on": TODAY.isoformat(), "goals": "送教下乡"},
        )
        pairing = SchoolPairing.objects.get()
        assert response.status_code == 302 and response["Location"] == pairing.get_absolute_url()
        assert pairing.lead_school == city and set(pairing.supported_schools.all()) == {weak, poor}

    def test_a_school_cannot_support_itself(self, client_for, bureau_admin):
        school = SchoolFactory()
        response = client_for(bureau_admin).post(
            reverse("aid:school_pairing_create"),
            {"lead_school": school.pk, "supported_schools": [school.pk], "started_on": TODAY.isoformat()},
        )
        assert response.status_code == 400 and response.context["form"].non_field_errors()
        assert not SchoolPairing.objects.exists()

    def test_schools_of_another_county_are_not_offered(self, client_for, bureau_admin):
        town = TownshipFactory(code="371302100", parent=RegionFactory(code="371302", name="兰山区"))
        theirs, ours = SchoolFactory(region=town), SchoolFactory()
        response = client_for(bureau_admin).post(
            reverse("aid:school_pairing_create"),
            {"lead_school": ours.pk, "supported_schools": [theirs.pk], "started_on": TODAY.isoformat()},
        )
        assert response.status_code == 400 and "supported_schools" in response.context["form"].errors

    def test_only_the_bureau_creates(self, client_for, school_admin, viewer, teacher):
        for user in (school_admin, viewer, teacher):
            assert client_for(user).get(reverse("aid:school_pairing_create")).status_code == 403


class TestActivities:
    def post(self, client, pairing, **changes):
        data = {"kind": "teaching", "held_on": TODAY.isoformat(), "participants": "数学组", "summary": "送教下乡公开课"}
        return client.post(reverse("aid:activity_create", args=[pairing.pk]), {**data, **changes})

    def test_admin_of_a_supported_school_records_one(self, client_for, pairings):
        admin = SchoolAdminFactory(school=pairings["schools"]["remote"])
        response = self.post(client_for(admin), pairings["paper"])
        assert response.status_code == 302
        activity = pairings["paper"].activities.get(held_on=TODAY)
        assert activity.recorded_by == admin and activity.summary == "送教下乡公开课"

    def test_bureau_records_one_and_future_dates_are_refused(self, client_for, bureau_admin, pairings):
        client = client_for(bureau_admin)
        response = self.post(client, pairings["active"], held_on=days(1).isoformat())
        assert response.status_code == 400 and "held_on" in response.context["form"].errors
        assert self.post(client, pairings["active"]).status_code == 302

    def test_scope_and_roles(self, client_for, viewer, pairings):
        outsider = SchoolAdminFactory(school=SchoolFactory())
        assert self.post(client_for(outsider), pairings["active"]).status_code == 404
        assert self.post(client_for(viewer), pairings["active"]).status_code == 403
        teacher = TeacherFactory(school=pairings["schools"]["weak"])
        assert self.post(client_for(teacher), pairings["active"]).status_code == 403
        assert pairings["active"].activities.count() == 2


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_school_pairing_pages_fit_a_phone_screen(browser, live_server, artifacts):
    """The list, the detail and the activity form never scroll sideways at 360 px."""
    TermFactory(name="本学期", starts_on=days(-60), ends_on=days(60))
    pairing = SchoolPairingFactory(
        lead_school=SchoolFactory(name="临沂第一实验小学", is_urban=True),
        supported_schools=[SchoolFactory(name="兰陵县下村乡中心小学"), SchoolFactory(name="兰陵县车辋镇中心小学")],
    )
    ExchangeActivityFactory(pairing=pairing, held_on=days(-100))
    BureauAdminFactory(username="phone")
    context = browser.new_context(viewport={"width": 360, "height": 740}, locale="zh-CN")
    page = context.new_page()
    page.goto(f"{live_server.url}/login/")
    page.fill("input[name=username]", "phone")
    page.fill("input[name=password]", "pass12345")
    page.click("#login-form button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    for name, url in [
        ("school-pairing-list", reverse("aid:school_pairing_list")),
        ("school-pairing-detail", reverse("aid:school_pairing_detail", args=[pairing.pk])),
        ("school-pairing-create", reverse("aid:school_pairing_create")),
        ("activity-create", reverse("aid:activity_create", args=[pairing.pk])),
    ]:
        page.goto(f"{live_server.url}{url}")
        assert page.evaluate("document.documentElement.scrollWidth") <= 360, name
        page.screenshot(path=str(artifacts / f"{name}-phone.png"), full_page=True)
    context.close()
