"""Home-visit coverage (家访覆盖率): figures checked against counts made by hand."""
import datetime
import io

import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from aid.casework.coverage import coverage_for
from tests.exports import exported_file_name, exported_rows
from tests.factories import (
    BureauAdminFactory,
    HomeVisitFactory,
    PairingFactory,
    RegionFactory,
    SchoolAdminFactory,
    SchoolFactory,
    StudentFactory,
    TeacherFactory,
    TermFactory,
    TownshipFactory,
)

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()


def days(offset):
    return TODAY + datetime.timedelta(days=offset)


@pytest.fixture
def terms(db):
    return {
        "current": TermFactory(name="本学期", starts_on=days(-60), ends_on=days(60)),
        "previous": TermFactory(name="上学期", starts_on=days(-250), ends_on=days(-61)),
    }


@pytest.fixture
def county(terms):
    """Two townships of our county and one school of another county.

    School A: a1 visited in the term, a2 visited twice in the term, a3 visited only in the
    previous term, a4 never visited, a5 visited but off the roster.
    School B: b1 visited on the first day of the term, b2 visited the day after it ends.
    School C (second township): c1 not visited, c2 visited.
    School D (another county): d1 visited.
    """
    t1, t2 = TownshipFactory(name="一镇"), TownshipFactory(name="二镇")
    other_county = RegionFactory(code="371302", name="兰山区")
    t3 = TownshipFactory(code="371302100", name="外县镇", parent=other_county)
    schools = {
        "A": SchoolFactory(name="甲小学", region=t1),
        "B": SchoolFactory(name="乙小学", region=t1),
        "C": SchoolFactory(name="丙小学", region=t2),
        "D": SchoolFactory(name="丁小学", region=t3),
    }
    current = terms["current"]
    students = {}
    for name, school in [("a1", "A"), ("a2", "A"), ("a3", "A"), ("a4", "A"), ("a5", "A"),
                         ("b1", "B"), ("b2", "B"), ("c1", "C"), ("c2", "C"), ("d1", "D")]:
        students[name] = StudentFactory(name=name, school=schools[school])
    students["a5"].left_roster_on = days(-1)
    students["a5"].left_roster_reason = "moved_away"
    students["a5"].save()
    for name, visited_on in [
        ("a1", days(-5)), ("a2", days(-30)), ("a2", days(-3)), ("a3", days(-100)), ("a5", days(-10)),
        ("b1", current.starts_on), ("b2", current.ends_on + datetime.timedelta(days=1)),
        ("c2", days(-1)), ("d1", days(-2)),
    ]:
        HomeVisitFactory(student=students[name], visited_on=visited_on)
    return {"schools": schools, "students": students, "townships": (t1, t2), "other_county": other_county}


def figures(coverage):
    return {
        "schools": {
            row.school_name: (row.figure.total, row.figure.visited)
            for township in coverage.townships
            for row in township.schools
        },
        "townships": {township.name: (township.subtotal.total, township.subtotal.visited) for township in coverage.townships},
        "total": (coverage.total.total, coverage.total.visited),
    }


class TestFigures:
    def test_current_term_by_school_township_and_overall(self, county, terms, bureau_admin):
        result = figures(coverage_for(bureau_admin, terms["current"]))
        assert result == {
            "schools": {"甲小学": (4, 2), "乙小学": (2, 1), "丙小学": (2, 1)},
            "townships": {"一镇": (6, 3), "二镇": (2, 1)},
            "total": (8, 4),
        }
        assert coverage_for(bureau_admin, terms["current"]).total.share == 50

    def test_previous_term(self, county, terms, bureau_admin):
        result = figures(coverage_for(bureau_admin, terms["previous"]))
        assert result["schools"] == {"甲小学": (4, 1), "乙小学": (2, 0), "丙小学": (2, 0)}
        assert result["total"] == (8, 1)

    def test_scope_of_a_school_and_of_another_county(self, county, terms):
        school_admin = SchoolAdminFactory(school=county["schools"]["A"])
        assert figures(coverage_for(school_admin, terms["current"]))["total"] == (4, 2)
        other_bureau = BureauAdminFactory(region=county["other_county"])
        assert figures(coverage_for(other_bureau, terms["current"]))["schools"] == {"丁小学": (1, 1)}

    def test_a_teacher_sees_the_coverage_of_their_students(self, county, terms):
        pairing = PairingFactory(student=county["students"]["a4"])
        assert figures(coverage_for(pairing.teacher, terms["current"]))["total"] == (1, 0)


class TestCoverageView:
    def test_page_with_links_to_the_unvisited(self, client_for, county, terms, bureau_admin):
        response = client_for(bureau_admin).get(reverse("aid:coverage"))
        assert response.context["term"] == terms["current"]
        page = response.content.decode()
        unvisited = reverse("aid:unvisited")
        term = terms["current"].pk
        assert f'{unvisited}?term={term}&amp;school={county["schools"]["A"].pk}' in page
        assert f'{unvisited}?term={term}&amp;region={county["townships"][0].code}' in page
        assert "50.0%" in page and "丁小学" not in page

    def test_export_is_the_table_with_subtotals_and_total(
        self, client_for, county, terms, bureau_admin, django_assert_max_num_queries
    ):
        client = client_for(bureau_admin)
        page = client.get(reverse("aid:coverage")).content.decode()
        term = terms["current"]
        assert f'href="?term={term.pk}&amp;export=xlsx" id="export-coverage"' in page

        with django_assert_max_num_queries(7):
            response = client.get(reverse("aid:coverage"), {"term": term.pk, "export": "xlsx"})

        sheet = load_workbook(io.BytesIO(response.content)).active
        rows = [row for row in sheet.iter_rows(min_row=3, values_only=True)]
        assert rows == [
            ("乡镇（街道）", "学校", "在册学生", "已家访", "未家访", "覆盖率（%）"),
            ("一镇", "乙小学", 2, 1, 1, 50.0),
            ("一镇", "甲小学", 4, 2, 2, 50.0),
            ("一镇小计", None, 6, 3, 3, 50.0),
            ("二镇", "丙小学", 2, 1, 1, 50.0),
            ("二镇小计", None, 2, 1, 1, 50.0),
            ("合计", None, 8, 4, 4, 50.0),
        ]
        assert sheet["A1"].value == "家访覆盖率（本学期）"
        assert [sheet.cell(9, column).font.bold for column in range(1, 7)] == [True] * 6
        assert exported_file_name(response).startswith("家访覆盖率（本学期）_")

    def test_export_keeps_a_school_admin_to_their_school(self, client_for, county, terms):
        admin = SchoolAdminFactory(school=county["schools"]["C"])
        response = client_for(admin).get(reverse("aid:coverage"), {"export": "xlsx"})

        sheet = load_workbook(io.BytesIO(response.content)).active
        assert [row[1] for row in sheet.iter_rows(min_row=4, values_only=True)] == ["丙小学", None, None]

    def test_choose_another_term(self, client_for, county, terms, bureau_admin):
        response = client_for(bureau_admin).get(reverse("aid:coverage"), {"term": terms["previous"].pk})
        assert response.context["coverage"].total.visited == 1

    def test_without_any_term(self, client_for, bureau_admin, student):
        response = client_for(bureau_admin).get(reverse("aid:coverage"))
        assert response.status_code == 200 and "coverage" not in response.context

    def test_viewers_may_read_it_within_their_region(self, client_for, county, viewer):
        response = client_for(viewer).get(reverse("aid:coverage"))
        assert response.status_code == 200 and "丁小学" not in response.content.decode()

    def test_school_admin_of_another_school_sees_only_theirs(self, client_for, county):
        admin = SchoolAdminFactory(school=county["schools"]["C"])
        page = client_for(admin).get(reverse("aid:coverage")).content.decode()
        assert "丙小学" in page and "甲小学" not in page

    @pytest.mark.parametrize("count", [2, 40])
    def test_fixed_number_of_queries(self, client_for, terms, bureau_admin, count, django_assert_max_num_queries):
        for index in range(count):
            student = StudentFactory(school=SchoolFactory())
            HomeVisitFactory(student=student, visited_on=days(-index % 50))
        client = client_for(bureau_admin)
        with django_assert_max_num_queries(8):
            response = client.get(reverse("aid:coverage"))
        assert response.context["coverage"].total.total == count


class TestUnvisitedList:
    def names(self, response):
        return sorted(student.name for student in response.context["students"])

    def test_by_school_region_and_overall(self, client_for, county, terms, bureau_admin):
        client = client_for(bureau_admin)
        url = reverse("aid:unvisited")
        term = terms["current"].pk
        assert self.names(client.get(url, {"term": term, "school": county["schools"]["A"].pk})) == ["a3", "a4"]
        assert self.names(client.get(url, {"term": term, "region": county["townships"][0].code})) == ["a3", "a4", "b2"]
        assert self.names(client.get(url, {"term": term})) == ["a3", "a4", "b2", "c1"]
        assert self.names(client.get(url, {"term": terms["previous"].pk, "school": county["schools"]["A"].pk})) == [
            "a1", "a2", "a4",
        ]

    def test_the_current_term_by_default(self, client_for, county, terms, bureau_admin):
        response = client_for(bureau_admin).get(reverse("aid:unvisited"))
        assert response.context["term"] == terms["current"]
        assert self.names(response) == ["a3", "a4", "b2", "c1"]

    def test_shows_the_pairing_teacher_and_the_last_visit(self, client_for, county, terms, bureau_admin):
        pairing = PairingFactory(student=county["students"]["a3"])
        response = client_for(bureau_admin).get(reverse("aid:unvisited"), {"school": county["schools"]["A"].pk})
        rows = {student.name: student for student in response.context["students"]}
        assert rows["a3"].teacher_name == pairing.teacher.full_name and rows["a3"].last_visited_on == days(-100)
        assert rows["a4"].teacher_name is None and rows["a4"].last_visited_on is None

    def test_without_any_term_nothing_is_listed(self, client_for, bureau_admin, student):
        response = client_for(bureau_admin).get(reverse("aid:unvisited"))
        assert response.status_code == 200 and list(response.context["students"]) == []

    def test_scope_of_another_school(self, client_for, county, terms):
        admin = SchoolAdminFactory(school=county["schools"]["C"])
        response = client_for(admin).get(reverse("aid:unvisited"), {"school": county["schools"]["A"].pk})
        assert self.names(response) == []
        assert self.names(client_for(admin).get(reverse("aid:unvisited"))) == ["c1"]

    @pytest.mark.parametrize("count", [2, 60])
    def test_fixed_number_of_queries(self, client_for, terms, bureau_admin, count, django_assert_max_num_queries):
        for index in range(count):
            school = SchoolFactory()
            PairingFactory(student=StudentFactory(school=school))
            StudentFactory(school=school)
        client = client_for(bureau_admin)
        with django_assert_max_num_queries(12):
            response = client.get(reverse("aid:unvisited"))
        assert response.context["paginator"].count == 2 * count

    def test_export_has_the_unvisited_students_of_the_scope(self, client_for, school_admin, school, other_school):
        term = TermFactory(name="2025 秋季学期", starts_on=datetime.date(2025, 9, 1), ends_on=datetime.date(2026, 1, 20))
        paired = StudentFactory(school=school, name="学生1", grade="P4", class_name="2班")
        PairingFactory(student=paired, teacher=TeacherFactory(school=school, full_name="王老师"))
        HomeVisitFactory(student=paired, visited_on=datetime.date(2025, 6, 10))
        StudentFactory(school=school, name="学生2", grade="P5", class_name="1班")
        HomeVisitFactory(student=StudentFactory(school=school, name="学生3"), visited_on=datetime.date(2025, 10, 8))
        StudentFactory(school=other_school, name="外校生")

        response = client_for(school_admin).get(
            reverse("aid:unvisited"), {"term": term.pk, "export": "xlsx"}, HTTP_ACCEPT_LANGUAGE="en"
        )

        town = school.region.name
        assert exported_rows(response) == [
            ("Name", "School", "Township", "Grade", "Class", "Pairing teacher", "Last visit"),
            ("学生1", school.name, town, "Grade 4", "2班", "王老师", datetime.datetime(2025, 6, 10)),
            ("学生2", school.name, town, "Grade 5", "1班", "Not paired", None),  # never visited
        ]
        assert exported_file_name(response).startswith("Students not visited（2025 秋季学期）_")

    def test_export_takes_a_fixed_number_of_queries(self, client_for, terms, bureau_admin, django_assert_max_num_queries):
        for _ in range(6):
            school = SchoolFactory()
            PairingFactory(student=StudentFactory(school=school))
            StudentFactory(school=school)
        client = client_for(bureau_admin)

        with django_assert_max_num_queries(8):  # with the export log's row
            response = client.get(reverse("aid:unvisited"), {"export": "xlsx"})

        assert len(exported_rows(response)) == 13

    def test_the_list_links_its_export_with_the_filter(self, client_for, terms, school_admin, school):
        response = client_for(school_admin).get(reverse("aid:unvisited"), {"school": school.pk, "page": "1"})

        assert f'href="?school={school.pk}&amp;export=xlsx" id="export-unvisited"' in response.content.decode()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_coverage_pages_fit_a_phone_screen(browser, live_server, artifacts):
    """The coverage table and the unvisited list never scroll sideways at 360 px."""
    term = TermFactory(name="本学期", starts_on=days(-60), ends_on=days(60))
    school = SchoolFactory(name="兰陵县向城镇中心小学")
    HomeVisitFactory(student=StudentFactory(school=school), visited_on=days(-1))
    StudentFactory.create_batch(2, school=school)
    BureauAdminFactory(username="phone")
    context = browser.new_context(viewport={"width": 360, "height": 740}, locale="zh-CN")
    page = context.new_page()
    page.goto(f"{live_server.url}/login/")
    page.fill("input[name=username]", "phone")
    page.fill("input[name=password]", "pass12345")
    page.click("#login-form button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    for name, url in [("coverage", reverse("aid:coverage")), ("unvisited", f'{reverse("aid:unvisited")}?term={term.pk}')]:
        page.goto(f"{live_server.url}{url}")
        assert page.evaluate("document.documentElement.scrollWidth") <= 360, name
        page.screenshot(path=str(artifacts / f"{name}-phone.png"), full_page=True)
    context.close()
