"""The registry pages as staff use them."""
import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from students.choices import Status
from students.models import Household, Student
from tests.exports import exported_rows
from tests.factories import (
    BureauAdminFactory,
    HouseholdFactory,
    RegionFactory,
    SchoolAdminFactory,
    SchoolFactory,
    StudentFactory,
    TownshipFactory,
    id_number_for,
)
from tests.lists import listed_and_counted

pytestmark = pytest.mark.django_db


def student_post_data(school, **overrides):
    data = {
        "name": "张小明",
        "id_number": id_number_for(5000),
        "student_number": "",
        "school": school.pk,
        "stage": "primary",
        "grade": "P2",
        "class_name": "2班",
        "status": "enrolled",
        "note": "",
        "household-registration_number": "",
        "household-head_name": "张大山",
        "household-township": school.region_id,
        "household-village": "张庄村",
        "household-category": "registered_poor",
        "household-poverty_cause": "illness",
        "household-guardian_name": "张大山",
        "household-guardian_phone": "13912345678",
    }
    data.update(overrides)
    return data


def test_login_page_is_chinese_by_default(client):
    page = client.get(reverse("login")).content.decode()
    assert "登录" in page


def test_anonymous_user_is_sent_to_login(client):
    response = client.get(reverse("students:student_list"))
    assert response.status_code == 302 and reverse("login") in response["Location"]


def test_language_switch_to_english(client_for, bureau_admin):
    client = client_for(bureau_admin)
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    assert "Students on the roster" in client.get(reverse("home")).content.decode()


def test_404_page_is_chinese(client_for, bureau_admin):
    response = client_for(bureau_admin).get("/no-such-page/")
    assert response.status_code == 404
    assert "页面不存在" in response.content.decode()


def test_home_counts_for_the_scope(client_for, bureau_admin, school):
    StudentFactory.create_batch(3, school=school)
    StudentFactory(school=school, status=Status.DROPPED_OUT)
    board = client_for(bureau_admin).get(reverse("home")).context["board"]
    assert (board.total, board.in_school) == (4, 3)


def test_teacher_home_is_a_friendly_empty_page(client_for, teacher, student):
    """A teacher starts from "my students"; with nobody paired it says so kindly."""
    response = client_for(teacher).get(reverse("home"), follow=True)
    assert response.redirect_chain[-1][0] == reverse("aid:my_students")
    page = response.content.decode()
    assert "还没有与您结对的学生" in page
    assert student.name not in page


class TestStudentList:
    def test_filters_by_stage_status_and_search(self, client_for, bureau_admin, school):
        junior = StudentFactory(school=school, stage="junior", grade="J1", name="李初一")
        StudentFactory(school=school, name="王小二")
        client = client_for(bureau_admin)
        names = lambda response: [s.name for s in response.context["students"]]  # noqa: E731
        assert names(client.get(reverse("students:student_list"), {"stage": "junior"})) == ["李初一"]
        assert names(client.get(reverse("students:student_list"), {"q": "小二"})) == ["王小二"]
        assert names(client.get(reverse("students:student_list"), {"q": junior.id_number[-6:]})) == [
            "李初一"
        ]

    def test_students_who_left_are_hidden_unless_asked_for(self, client_for, bureau_admin, school):
        StudentFactory(school=school, name="在册")
        StudentFactory(
            school=school, name="离册", left_roster_on=datetime.date(2026, 9, 1), left_roster_reason="other"
        )
        client = client_for(bureau_admin)
        default = {s.name for s in client.get(reverse("students:student_list")).context["students"]}
        everyone = {
            s.name for s in client.get(reverse("students:student_list"), {"roster": "all"}).context["students"]
        }
        assert default == {"在册"} and everyone == {"在册", "离册"}

    def test_the_count_is_of_the_students_listed_whatever_the_filter(self, client_for, bureau_admin, school, other_school):
        """The count comes from the roster tallies where the filters are ones they keep
        (region, school, stage, status, in school) and from the rows where not: the same."""
        StudentFactory(school=school, name="甲")
        StudentFactory(school=school, name="乙", stage="junior", grade="J1")
        StudentFactory(school=school, name="丙", status=Status.SUSPENDED)
        StudentFactory(school=school, name="丁", left_roster_on=datetime.date(2026, 9, 1), left_roster_reason="other")
        StudentFactory(school=other_school, name="戊", grade="P4")
        feixian = TownshipFactory(code="371325100", parent=RegionFactory(code="371325", name="费县"))
        StudentFactory(school=SchoolFactory(region=feixian), name="外县")
        client = client_for(bureau_admin)
        expected = {
            "": {"甲", "乙", "丙", "戊"},
            "o=-name": {"甲", "乙", "丙", "戊"},
            f"school={school.pk}": {"甲", "乙", "丙"},
            f"region={other_school.region.code}": {"戊"},
            "stage=primary&status=enrolled": {"甲", "戊"},
            "in_school=true": {"甲", "乙", "戊"},
            "in_school=false": {"丙"},
            "roster=all": {"甲", "乙", "丙", "丁", "戊"},
            "roster=left": {"丁"},
            "grade=P4": {"戊"},
            "q=甲": {"甲"},
        }
        tallied = {"", "o=-name", f"school={school.pk}", f"region={other_school.region.code}",
                   "stage=primary&status=enrolled", "in_school=true", "in_school=false"}
        for query, names in expected.items():
            listed, count, counted = listed_and_counted(client, reverse("students:student_list") + "?" + query)
            assert (listed, count, counted) == (names, len(names), query not in tallied), query

    def test_sorting_by_name_descending(self, client_for, bureau_admin, school):
        for name in ("甲", "乙", "丙"):
            StudentFactory(school=school, name=name)
        response = client_for(bureau_admin).get(reverse("students:student_list"), {"o": "-name"})
        names = [s.name for s in response.context["students"]]
        assert names == sorted(names, reverse=True)

    def test_fifty_a_page_and_the_filter_stays_in_the_page_links(self, client_for, bureau_admin, school):
        StudentFactory.create_batch(55, school=school)
        response = client_for(bureau_admin).get(reverse("students:student_list"), {"stage": "primary"})
        assert len(response.context["students"]) == 50
        assert "stage=primary&amp;page=2" in response.content.decode()

    @pytest.mark.parametrize("count", [3, 60])
    def test_query_count_is_fixed_whatever_the_size(
        self, client_for, bureau_admin, school, count, django_assert_max_num_queries
    ):
        StudentFactory.create_batch(count, school=school)
        client = client_for(bureau_admin)
        with django_assert_max_num_queries(9):
            response = client.get(reverse("students:student_list"), {"stage": "primary", "o": "name"})
        assert response.status_code == 200


class TestStudentEditing:
    def test_create_derives_birth_date_and_gender_and_records_history(
        self, client_for, school_admin, school
    ):
        response = client_for(school_admin).post(reverse("students:student_create"), student_post_data(school))
        student = Student.objects.get(name="张小明")
        assert response.status_code == 302
        assert student.birth_date == datetime.date(2012, 5, 13)  # id_number_for(5000): 5000 // 400 days later
        assert student.gender == "M"
        assert student.household.head_name == "张大山"
        record = student.history.get()
        assert record.history_user == school_admin and record.history_type == "+"

    def test_invalid_id_number_names_the_check_and_keeps_what_was_typed(
        self, client_for, school_admin, school
    ):
        bad = id_number_for(5000)[:-1] + ("0" if id_number_for(5000)[-1] != "0" else "1")
        response = client_for(school_admin).post(
            reverse("students:student_create"), student_post_data(school, id_number=bad)
        )
        assert response.status_code == 400
        page = response.content.decode()
        assert "校验码错误" in page
        assert 'value="张小明"' in page and 'value="张庄村"' in page
        assert not Student.objects.exists()

    def test_duplicate_id_number_links_to_the_existing_student(self, client_for, school_admin, student, school):
        response = client_for(school_admin).post(
            reverse("students:student_create"), student_post_data(school, id_number=student.id_number)
        )
        assert response.status_code == 400
        assert reverse("students:student_detail", args=[student.pk]) in response.content.decode()

    def test_new_sibling_joins_the_registered_household(self, client_for, school_admin, school):
        household = HouseholdFactory(registration_number="3713240009999", township=school.region)
        StudentFactory(school=school, household=household)
        client_for(school_admin).post(
            reverse("students:student_create"),
            student_post_data(school, **{"household-registration_number": "3713240009999"}),
        )
        assert Student.objects.get(name="张小明").household == household
        assert Household.objects.count() == 1

    def test_edit_keeps_who_changed_what(self, client_for, school_admin, student, school):
        client = client_for(school_admin)
        data = student_post_data(
            school,
            name=student.name,
            id_number=student.id_number,
            status="suspended",
            **{"household-township": student.household.township_id, "household-head_name": student.household.head_name},
        )
        assert client.post(reverse("students:student_update", args=[student.pk]), data).status_code == 302
        page = client.get(reverse("students:student_detail", args=[student.pk])).content.decode()
        assert "在校 → 休学" in page
        assert str(school_admin) in page

    def test_leave_roster_and_return(self, client_for, school_admin, student):
        client = client_for(school_admin)
        url = reverse("students:student_leave", args=[student.pk])
        left_on = timezone.localdate() - datetime.timedelta(days=30)
        response = client.post(url, {"on": left_on.isoformat(), "reason": "moved_away", "note": ""})
        assert response.status_code == 302
        student.refresh_from_db()
        assert student.left_roster_on == left_on
        assert Student.objects.filter(pk=student.pk).exists()  # never deleted
        client.post(url, {"return": "1"})
        student.refresh_from_db()
        assert student.on_roster

    def test_leave_roster_other_reason_needs_an_explanation(self, client_for, school_admin, student):
        response = client_for(school_admin).post(
            reverse("students:student_leave", args=[student.pk]), {"on": "2020-09-01", "reason": "other"}
        )
        assert response.status_code == 400
        assert "请说明" in response.content.decode()

    def test_viewer_is_read_only(self, client_for, viewer, student):
        client = client_for(viewer)
        assert client.get(reverse("students:student_detail", args=[student.pk])).status_code == 200
        assert client.get(reverse("students:student_update", args=[student.pk])).status_code == 403
        assert client.post(reverse("students:student_create"), {}).status_code == 403


class TestMasking:
    def test_bureau_and_school_admins_see_full_numbers(self, client_for, bureau_admin, school_admin, student):
        for user in (bureau_admin, school_admin):
            page = client_for(user).get(reverse("students:student_detail", args=[student.pk])).content.decode()
            assert student.id_number in page
            assert student.household.guardian_phone in page

    def test_viewer_sees_masked_numbers_everywhere(self, client_for, viewer, student):
        client = client_for(viewer)
        masked_id = student.id_number[:6] + "********" + student.id_number[-4:]
        for url in (
            reverse("students:student_detail", args=[student.pk]),
            reverse("students:student_list"),
            reverse("students:household_detail", args=[student.household_id]),
        ):
            page = client.get(url).content.decode()
            assert student.id_number not in page
            assert student.household.guardian_phone not in page
        assert masked_id in client.get(reverse("students:student_list")).content.decode()
        assert "138****5678" in client.get(
            reverse("students:household_detail", args=[student.household_id])
        ).content.decode()


def test_school_and_household_pages(client_for, bureau_admin, student):
    client = client_for(bureau_admin)
    school_page = client.get(reverse("students:school_detail", args=[student.school_id])).content.decode()
    assert student.school.name in school_page
    household_page = client.get(reverse("students:household_detail", args=[student.household_id])).content.decode()
    assert student.name in household_page
    schools = client.get(reverse("students:school_list"))
    assert schools.context["schools"][0].student_count == 1


def test_bureau_admin_of_another_county_gets_404(client_for, student):
    from tests.factories import RegionFactory

    stranger = BureauAdminFactory(region=RegionFactory(code="371325", name="费县"))
    assert client_for(stranger).get(reverse("students:student_detail", args=[student.pk])).status_code == 404


def test_school_without_students_is_listed_with_zero(client_for, bureau_admin):
    SchoolFactory(name="空学校")
    response = client_for(bureau_admin).get(reverse("students:school_list"))
    assert response.context["schools"][0].student_count == 0


class TestSchoolList:
    @pytest.fixture
    def schools(self):
        town = TownshipFactory(name="向城镇")
        other_town = TownshipFactory(name="庄坞镇")
        return {
            "junior": SchoolFactory(name="向城镇初级中学", region=town, stages=["junior"], is_weak=True, code="3713240001"),
            "primary": SchoolFactory(name="向城镇中心小学", region=town, stages=["primary"], is_poor_village=True),
            "urban": SchoolFactory(name="兰陵县第一中学", region=other_town, stages=["junior", "senior"], is_urban=True),
        }

    def test_filters_by_region_stage_kind_and_name(self, client_for, bureau_admin, schools):
        client = client_for(bureau_admin)

        def names(**query):
            return [school.name for school in client.get(reverse("students:school_list"), query).context["schools"]]

        town = schools["junior"].region
        assert names(region=town.code) == ["向城镇中心小学", "向城镇初级中学"]
        assert names(stage="junior") == ["向城镇初级中学", "兰陵县第一中学"]
        assert names(kind="urban") == ["兰陵县第一中学"]
        assert names(kind="rural", q="小学") == ["向城镇中心小学"]
        assert names(kind="weak") == ["向城镇初级中学"]
        assert names(kind="poor_village") == ["向城镇中心小学"]

    def test_export_has_the_filtered_schools_with_their_counts(
        self, client_for, bureau_admin, schools, django_assert_max_num_queries
    ):
        junior = schools["junior"]
        StudentFactory.create_batch(2, school=junior, stage="junior", grade="J1")
        StudentFactory(school=junior, stage="junior", grade="J1", status="dropped_out")
        StudentFactory(school=junior, stage="junior", grade="J2", left_roster_on=datetime.date(2026, 9, 1),
                       left_roster_reason="graduated")
        client = client_for(bureau_admin)

        with django_assert_max_num_queries(8):
            response = client.get(
                reverse("students:school_list"), {"region": junior.region.code, "export": "xlsx"},
                HTTP_ACCEPT_LANGUAGE="en",
            )

        assert exported_rows(response) == [
            ("School", "School code", "Township", "Stages taught", "Urban or rural", "Weak school",
             "Poor village", "Students on the roster", "In school", "Address"),
            ("向城镇中心小学", None, "向城镇", "Primary", "Rural", None, "Yes", 0, 0, None),
            ("向城镇初级中学", "3713240001", "向城镇", "Junior secondary", "Rural", "Yes", None, 3, 2, None),
        ]

    def test_a_school_admin_exports_only_their_school(self, client_for, schools):
        admin = SchoolAdminFactory(school=schools["primary"])

        rows = exported_rows(client_for(admin).get(reverse("students:school_list"), {"export": "xlsx"}))

        assert [row[0] for row in rows[1:]] == ["向城镇中心小学"]

    def test_the_list_links_its_export_with_the_filter(self, client_for, bureau_admin, schools):
        response = client_for(bureau_admin).get(reverse("students:school_list"), {"kind": "weak"})

        assert 'href="?kind=weak&amp;export=xlsx" id="export-schools"' in response.content.decode()
