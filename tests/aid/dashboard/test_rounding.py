"""One rounding rule for every share: one decimal, ties rounded up, on Decimals.

13 of 16 students is 81.25 %: a clerk writes 81.3 %, and so must the page, the coverage
export, the county summary and the charts (round() on a float would give 81.2).
"""
import io
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from aid.dashboard.charts import charts_for
from aid.dashboard.exports import county_summary_workbook
from aid.dashboard.selectors import dashboard_for
from common.figures import percent
from tests.factories import (
    BureauAdminFactory,
    HomeVisitFactory,
    PairingFactory,
    SchoolFactory,
    StudentFactory,
    TermFactory,
)

pytestmark = pytest.mark.django_db

TIE = Decimal("81.3")  # 13 / 16 = 0.8125, by hand; the tie goes up


@pytest.fixture
def bureau(db):
    TermFactory()
    school = SchoolFactory()
    students = [StudentFactory(school=school) for _n in range(16)]
    for student in students[:13]:
        PairingFactory(student=student)
        HomeVisitFactory(student=student)
    return BureauAdminFactory()


@pytest.mark.parametrize(
    ("part", "whole", "share"),
    [(13, 16, "81.3"), (1, 8, "12.5"), (1, 16, "6.3"), (3, 16, "18.8"), (2, 3, "66.7"), (1, 3, "33.3"), (0, 5, "0.0")],
)
def test_percent_rounds_ties_up(part, whole, share):
    assert percent(part, whole) == Decimal(share)


def test_percent_of_nothing_is_none():
    assert percent(0, 0) is None


def test_the_coverage_page_and_its_export_agree(client_for, bureau):
    client = client_for(bureau)
    page = client.get(reverse("aid:coverage"))
    assert page.context["coverage"].total.share == TIE
    assert "81.3%" in page.content.decode()
    sheet = load_workbook(io.BytesIO(client.get(reverse("aid:coverage"), {"export": "xlsx"}).content)).active
    total_row = [cell.value for cell in sheet[sheet.max_row]]
    assert total_row[0] == "合计" and total_row[2:] == [16, 13, 3, float(TIE)]


def test_the_home_page_the_summary_and_the_charts_agree(client_for, bureau):
    page = client_for(bureau).get(reverse("home"))
    board = page.context["board"]
    assert (board.paired_share, board.visited_share) == (TIE, TIE)
    assert page.content.decode().count("81.3%") >= 2

    buffer = io.BytesIO()
    county_summary_workbook(dashboard_for(bureau), scope="兰陵县", today=timezone.localdate()).save(buffer)
    workbook = load_workbook(buffer)
    pairing = workbook["结对帮扶"]
    assert [cell.value for cell in pairing[4]] == [16, 13, 3, float(TIE)]
    visits = workbook["家访"]
    assert visits.cell(visits.max_row, 6).value == float(TIE)

    coverage_chart = next(chart for chart in charts_for(board, bureau) if chart["id"] == "chart-coverage")
    [(_township, [(shown, _link)])] = coverage_chart["rows"]
    assert shown == TIE
