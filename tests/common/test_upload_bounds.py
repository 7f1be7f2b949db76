"""An upload's columns, cells and DTDs are bounded before any heavy work, and the refusals
stay fast and small (crafted workbooks, built here in memory). No database is needed."""
import io
import json
import random
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import openpyxl
import pytest
import xlwt
from django.utils import translation

from common import spreadsheets
from common.spreadsheets import SpreadsheetRefused, read_table

ROOT = Path(__file__).resolve().parents[2]
SHEET = "xl/worksheets/sheet1.xml"
COLUMNS = "The sheet has more than {} columns."
CELLS = "The sheet has more than {} cells."
DAMAGED = "The file is damaged or not a complete Excel workbook."


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


def refusal(data, filename="花名册.xlsx", **limits):
    with pytest.raises(SpreadsheetRefused) as caught:
        read_table(io.BytesIO(data), filename, **limits)
    return caught.value.message


def workbook_with_sheet(sheet_data, before_root=b""):
    """A real workbook whose first sheet's XML is replaced: `sheet_data` inside <sheetData>."""
    workbook = openpyxl.Workbook()
    workbook.active["A1"] = "姓名"
    buffer = io.BytesIO()
    workbook.save(buffer)
    source = zipfile.ZipFile(io.BytesIO(buffer.getvalue()))
    sheet = (
        b'<?xml version="1.0" encoding="UTF-8"?>' + before_root
        + b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        + b'<dimension ref="A1"/><sheetData>' + sheet_data + b"</sheetData></worksheet>"
    )
    output = io.BytesIO()
    with zipfile.ZipFile(output, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            target.writestr(info.filename, sheet if info.filename == SHEET else source.read(info))
    return output.getvalue()


def wide_row(cells):
    """One row of `cells` numbers without cell references (each cell's column is implied),
    random so that the file does not compress absurdly and pass the ratio check."""
    rng = random.Random(1)
    return b'<row r="1">' + b"".join(b"<c><v>%d</v></c>" % rng.randrange(10**9) for _ in range(cells)) + b"</row>"


def child_measure(data, limits):
    """Read `data` in a fresh Python process; its seconds, peak resident MB and message."""
    script = f"""
import io, json, sys, time
sys.path.insert(0, {str(ROOT)!r})
from django.conf import settings
settings.configure(USE_I18N=False)
from common.spreadsheets import SpreadsheetRefused, read_table
data = sys.stdin.buffer.read()
start = time.perf_counter()
try:
    read_table(io.BytesIO(data), "花名册.xlsx", **{limits!r})
    message = ""
except SpreadsheetRefused as refused:
    message = refused.message
seconds = time.perf_counter() - start
peak = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:")) / 1024
print(json.dumps({{"seconds": seconds, "peak_mb": peak, "message": message}}))
"""
    completed = subprocess.run([sys.executable, "-c", script], input=data, capture_output=True, check=True)
    return json.loads(completed.stdout)


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="peak memory is read from /proc")
def test_one_row_of_a_million_cells_is_refused_fast_and_small():
    data = workbook_with_sheet(wide_row(1_000_000))
    assert len(data) < 20 * 1024 * 1024  # within the size limit: the cells are what is refused

    measured = child_measure(data, {})

    assert measured["message"] == COLUMNS.format(200)
    assert measured["seconds"] < 2
    assert measured["peak_mb"] < 300


def test_a_row_wider_than_the_bound_is_refused_and_one_at_it_is_read():
    assert refusal(workbook_with_sheet(wide_row(31)), max_columns=30) == COLUMNS.format(30)
    table = read_table(io.BytesIO(workbook_with_sheet(wide_row(30))), "花名册.xlsx", max_columns=30)
    assert len(table.rows[0].values) == 30


@pytest.mark.parametrize(
    "row",
    [
        b'<row r="1"><c r="XFD1"><v>1</v></c></row>',
        b'<row r="1"><c s="0" r="XFD1"><v>1</v></c></row>',  # the reference not first
        b"<row r='1'><c r='$XFD$1'><v>1</v></c></row>",
        b'<x:row r="1"><x:c r="XFD1"><x:v>1</x:v></x:c></x:row>',  # a namespace prefix
        b'<row r="1"><c r="A1"><v>1</v></c><c s="0" r="XFD1"><v>1</v></c></row>',  # one of two
    ],
)
def test_a_single_cell_far_to_the_right_is_refused(row):
    assert refusal(workbook_with_sheet(row)) == COLUMNS.format(200)


def test_a_cell_far_down_and_right_is_refused_for_the_rectangle_it_spans():
    """A1 and GR1048576: two cells, but a reader lays out 200 × 1,048,576 of them."""
    sheet = b'<row r="1"><c r="A1"><v>1</v></c></row><row r="1048576"><c r="GR1048576"><v>1</v></c></row>'
    assert refusal(workbook_with_sheet(sheet)) == CELLS.format("2,000,000")


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="peak memory is read from /proc")
def test_cells_without_references_far_down_are_refused_for_their_rectangle_fast_and_small():
    """200 cells without references in row 1,048,576: a reader lays out 200 × 1,048,576 cells
    (8 GB and 40 s before this was checked)."""
    sheet = b'<row r="1"><c r="A1"><v>1</v></c></row><row r="1048576">' + b"<c><v>1</v></c>" * 200 + b"</row>"

    measured = child_measure(workbook_with_sheet(sheet), {})

    assert measured["message"] == CELLS.format("2,000,000")
    assert measured["seconds"] < 2
    assert measured["peak_mb"] < 300


def test_rows_without_references_count_for_the_rectangle(monkeypatch):
    """A row without a reference follows the one before: 99 empty rows, then 10 cells, lay
    out 100 × 10 cells, refused before the workbook is parsed."""
    rows = b"<row/>" * 99 + b"<row>" + b"<c><v>1</v></c>" * 10 + b"</row>"
    workbook = workbook_with_sheet(rows)
    table = read_table(io.BytesIO(workbook), "花名册.xlsx", max_cells=1000)
    assert [(row.number, len(row.values)) for row in table.rows] == [(100, 10)]

    def parse(*args):
        raise AssertionError("parsed before the bounds were checked")

    monkeypatch.setattr(spreadsheets.python_calamine.CalamineWorkbook, "from_filelike", parse)
    assert refusal(workbook, max_cells=999) == CELLS.format(999)


def test_the_total_of_cells_is_bounded():
    rows = b"".join(b'<row r="%d">' % n + b"<c><v>1</v></c>" * 10 + b"</row>" for n in range(1, 101))
    assert refusal(workbook_with_sheet(rows), max_cells=999) == CELLS.format(999)
    assert len(read_table(io.BytesIO(workbook_with_sheet(rows)), "花名册.xlsx", max_cells=1000).rows) == 100


@pytest.mark.parametrize(
    "before_root, inside",
    [
        (b" " * 100_000 + b'<!DOCTYPE x [<!ENTITY a "a">]>', b""),  # whitespace padding
        (b"<!--" + b"x" * 10_000 + b"-->" + b'<!DOCTYPE x [<!ENTITY a "a">]>', b""),  # a long comment
        (b"", b'<row r="1"><c t="inlineStr"><is><t>a</t></is></c></row><!DOCTYPE x>'),  # after the root
    ],
    ids=["after padding", "after a comment", "inside the sheet"],
)
def test_a_dtd_anywhere_in_a_part_is_refused(before_root, inside):
    assert refusal(workbook_with_sheet(inside, before_root=before_root)) == DAMAGED


def test_a_dtd_across_two_read_blocks_is_found():
    """The part is read a megabyte at a time; a DTD cut in two by a block's end is still found."""
    declaration = len(b'<?xml version="1.0" encoding="UTF-8"?>')
    rng = random.Random(2)
    letters = bytes(rng.choice(b"abcdefghij") for _ in range(1024 * 1024 - 4 - declaration - 7))
    padding = b"<!--" + letters + b"-->"  # random, so that it compresses as a real part does
    assert declaration + len(padding) == 1024 * 1024 - 4
    assert refusal(workbook_with_sheet(b"", before_root=padding + b"<!DOCTYPE x>")) == DAMAGED


def test_csv_row_wider_than_the_bound_is_refused():
    data = ("姓名," * 300 + "\n").encode()
    assert refusal(data, "花名册.csv") == COLUMNS.format(200)


def test_csv_cells_are_bounded():
    data = "".join("张三,1,2,3\n" for _ in range(300)).encode()
    assert refusal(data, "花名册.csv", max_cells=1000) == CELLS.format("1,000")


def test_xls_wider_than_the_bound_is_refused():
    book = xlwt.Workbook(encoding="utf-8")
    sheet = book.add_sheet("花名册")
    for column in range(40):
        sheet.write(0, column, "姓名")
    buffer = io.BytesIO()
    book.save(buffer)
    assert refusal(buffer.getvalue(), "花名册.xls", max_columns=30) == COLUMNS.format(30)


def test_a_normal_roster_reads_quickly():
    workbook = openpyxl.Workbook()
    for number in range(2000):
        workbook.active.append([number, "张三", "371324201205035019", "兰陵县第一中学"] + ["x"] * 26)
    buffer = io.BytesIO()
    workbook.save(buffer)
    start = time.perf_counter()
    table = read_table(io.BytesIO(buffer.getvalue()), "花名册.xlsx")
    assert len(table.rows) == 2000 and len(table.rows[0].values) == 30
    assert time.perf_counter() - start < 2
