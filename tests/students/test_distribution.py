"""The distribution table: page, export and student list must agree, computed independently."""
import datetime
import io
import random
from collections import Counter

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from students.choices import Stage, Status, grades_of_stage
from tests.factories import (
    RegionFactory,
    SchoolFactory,
    StudentFactory,
    TownshipFactory,
)

pytestmark = pytest.mark.django_db

STAGES = list(Stage.values)
IN_SCHOOL = {"enrolled", "home_taught"}


@pytest.fixture
def county():
    """Two townships, three schools, students of every stage and status, and some who left."""
    rng = random.Random(7)
    county = RegionFactory()
    north = TownshipFactory(parent=county, name="北镇", code="371324100")
    south = TownshipFactory(parent=county, name="南镇", code="371324101")
    schools = [
        SchoolFactory(region=north, name="北镇中心小学"),
        SchoolFactory(region=north, name="北镇初级中学"),
        SchoolFactory(region=south, name="南镇中学"),
    ]
    SchoolFactory(region=south, name="南镇空学校")  # no students: a row of zeros
    students = []
    for _ in range(120):
        stage = rng.choice(STAGES)
        left = rng.random() < 0.1
        students.append(
            StudentFactory(
                school=rng.choice(schools),
                stage=stage,
                grade=rng.choice(grades_of_stage(stage)),
                status=rng.choice(list(Status.values)),
                left_roster_on=datetime.date(2026, 1, 1) if left else None,
                left_roster_reason="other" if left else "",
            )
        )
    return {"county": county, "townships": [north, south], "schools": schools, "students": students}


def expected_counts(students):
    """(school name, stage, in school?) → count, from the objects the test created."""
    counter = Counter()
    for s in students:
        if s.left_roster_on is None:
            counter[(s.school.name, s.stage, s.status in IN_SCHOOL)] += 1
    return counter


def test_page_counts_match_independent_counts(client_for, bureau_admin, county):
    expected = expected_counts(county["students"])
    table = client_for(bureau_admin).get(reverse("students:distribution")).context["table"]
    for block in table.blocks:
        for row in block.schools:
            for stage in STAGES:
                assert row.cells[stage].in_school == expected[(row.label, stage, True)]
                assert row.cells[stage].not_in_school == expected[(row.label, stage, False)]
    on_roster = sum(expected.values())
    assert table.grand_total.total.total == on_roster
    north = table.blocks[0]
    assert north.subtotal.total.total == sum(
        n for (school, _stage, _in), n in expected.items() if school.startswith("北镇")
    )
    assert [row.label for row in table.blocks[1].schools] == ["南镇中学", "南镇空学校"]


def test_every_drill_down_link_lists_exactly_that_many_students(client_for, bureau_admin, county):
    client = client_for(bureau_admin)
    table = client.get(reverse("students:distribution")).context["table"]
    rows = [row for block in table.blocks for row in block.schools + [block.subtotal]]
    rows.append(table.grand_total)
    checked = 0
    for row in rows:
        for _stage, cell, links in row.columns():
            for key, value in (("total", cell.total), ("not_in_school", cell.not_in_school)):
                if value:
                    listed = client.get(links[key]).context["page_obj"].paginator.count
                    assert listed == value, (row.label, key, links[key])
                    checked += 1
    assert checked > 20


def test_region_filter_narrows_to_a_township(client_for, bureau_admin, county):
    response = client_for(bureau_admin).get(reverse("students:distribution"), {"region": "371324101"})
    table = response.context["table"]
    assert [block.township.name for block in table.blocks] == ["南镇"]
    expected = sum(
        1 for s in county["students"] if s.left_roster_on is None and s.school.region.name == "南镇"
    )
    assert table.grand_total.total.total == expected


def test_fixed_number_of_queries(client_for, bureau_admin, county, django_assert_max_num_queries):
    client = client_for(bureau_admin)
    with django_assert_max_num_queries(8):
        client.get(reverse("students:distribution"))
    for _ in range(5):
        SchoolFactory(region=county["townships"][0])
    StudentFactory.create_batch(30, school=county["schools"][0])
    with django_assert_max_num_queries(8):
        client.get(reverse("students:distribution"))


class TestExport:
    @pytest.fixture
    def sheet(self, client_for, bureau_admin, county):
        response = client_for(bureau_admin).get(reverse("students:distribution_export"))
        assert response["Content-Type"].startswith(
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        )
        assert "attachment" in response["Content-Disposition"]
        return load_workbook(io.BytesIO(response.content)).active

    def test_title_and_two_level_header(self, sheet):
        assert "兰陵县学校建档立卡学生分布表" == sheet["A1"].value
        assert sheet["A1"].font.bold
        merged = {str(r) for r in sheet.merged_cells.ranges}
        assert "A1:W1" in merged  # 2 + 7 groups × 3 columns = 23 columns
        assert {"A3:A4", "B3:B4", "C3:E3", "U3:W3"} <= merged
        assert [sheet.cell(3, c).value for c in (3, 6, 9, 12, 15, 18, 21)] == [
            "学前", "小学", "初中", "高中", "中职", "高校", "合计",
        ]
        assert [sheet.cell(4, c).value for c in (3, 4, 5)] == ["合计", "在校", "不在校"]

    def test_rows_and_totals_cell_by_cell(self, sheet, county):
        expected = expected_counts(county["students"])
        rows = {sheet.cell(r, 2).value: r for r in range(5, sheet.max_row + 1) if sheet.cell(r, 2).value}
        for school in county["schools"]:
            r = rows[school.name]
            for index, stage in enumerate(STAGES):
                column = 3 + 3 * index
                in_school = expected[(school.name, stage, True)]
                out = expected[(school.name, stage, False)]
                assert [sheet.cell(r, column + k).value for k in range(3)] == [in_school + out, in_school, out]
            total = sum(n for (name, _s, _i), n in expected.items() if name == school.name)
            assert sheet.cell(r, 21).value == total
        last = sheet.max_row
        assert sheet.cell(last, 1).value == "合计"
        assert sheet.cell(last, 21).value == sum(expected.values())
        assert sheet.cell(last, 21).font.bold
        subtotal_rows = [r for r in range(5, last) if (sheet.cell(r, 1).value or "").endswith("小计")]
        assert [sheet.cell(r, 1).value for r in subtotal_rows] == ["北镇小计", "南镇小计"]
        assert sum(sheet.cell(r, 21).value for r in subtotal_rows) == sheet.cell(last, 21).value

    def test_print_layout(self, sheet):
        assert sheet.freeze_panes == "C5"
        assert sheet.page_setup.orientation == "landscape"
        assert int(sheet.page_setup.paperSize) == int(sheet.PAPERSIZE_A4)
        assert sheet.print_title_rows == "$3:$4"
        assert sheet.cell(6, 3).number_format == "#,##0"
