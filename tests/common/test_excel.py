"""The list export's writer (common.excel.write_xlsx and SheetRows): the rows it writes as XML
read back exactly as the same values written cell by cell through openpyxl, in openpyxl and in
python-calamine (which the importer reads with)."""
import datetime
import io
from decimal import Decimal

import openpyxl
import pytest
from openpyxl.cell import WriteOnlyCell
from openpyxl.utils.exceptions import IllegalCharacterError
from python_calamine import CalamineWorkbook

from common.excel import BOLD, FORMULA_STARTS, ExportColumn, write_xlsx

COLUMNS = [
    ExportColumn("text", 10),
    ExportColumn("money", 12, "#,##0.00"),
    ExportColumn("plain", 12),
    ExportColumn("date", 10, "yyyy-mm-dd"),
    ExportColumn("count", 8, "0"),
]

ROWS = [
    ["张三 & <李四>", Decimal("1.50"), datetime.date(2012, 5, 3), datetime.date(2020, 1, 2), 7],
    ["=1+1", 3, datetime.datetime(2020, 1, 2, 3, 4, 5), None, datetime.datetime(2020, 1, 2, 12)],
    ["  leading spaces", 2.5, "", "-3", 12345678901234567],
    ["", None, " ", "@x", datetime.time(12, 30)],
    ["#N/A", "a\nb", True, " padded ", Decimal("0.10")],
    ["+86 138", Decimal("-0.01"), False, "中文", -42],
    # Before 1 March 1900 Excel counts a 29 February 1900 that never was.
    [None, None, datetime.date(1900, 2, 28), datetime.date(1900, 1, 1), datetime.date(1900, 3, 1)],
    [None, None, datetime.date(1899, 12, 31), datetime.datetime(1900, 2, 1, 6), datetime.date(2100, 12, 31)],
]


def openpyxl_cell_by_cell(file, sheet_title, columns, rows):
    """The same sheet written the way openpyxl's write-only mode is meant to be used: a cell
    object for every value, with its number format (what write_xlsx did before)."""
    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet(sheet_title)
    header = []
    for column in columns:
        cell = WriteOnlyCell(sheet, value=column.header)
        cell.font = BOLD
        header.append(cell)
    sheet.append(header)
    for row in rows:
        cells = []
        for column, value in zip(columns, row):
            cell = WriteOnlyCell(sheet, value=value)
            if isinstance(value, str) and value.startswith(FORMULA_STARTS):
                cell.data_type = "s"
                cell.quotePrefix = True
            elif column.number_format and value is not None:
                cell.number_format = column.number_format
            cells.append(cell)
        sheet.append(cells)
    workbook.save(file)


def cells(content):
    sheet = openpyxl.load_workbook(io.BytesIO(content)).worksheets[0]
    return [
        [(cell.value, cell.number_format if cell.value is not None else None, cell.quotePrefix, cell.font.b)
         for cell in row]
        for row in sheet.iter_rows(max_col=len(COLUMNS))
    ]


def written(rows=ROWS, **options):
    buffer = io.BytesIO()
    count = write_xlsx(buffer, "学生", COLUMNS, rows, **options)
    return buffer.getvalue(), count


def test_rows_read_back_as_the_same_values_written_cell_by_cell():
    content, count = written()
    expected = io.BytesIO()
    openpyxl_cell_by_cell(expected, "学生", COLUMNS, ROWS)
    assert count == len(ROWS)
    assert cells(content) == cells(expected.getvalue())


def test_values_types_and_formats_as_a_spreadsheet_reads_them():
    content, _count = written()
    sheet = openpyxl.load_workbook(io.BytesIO(content)).worksheets[0]
    assert sheet.title == "学生" and sheet.freeze_panes == "A2"
    assert [cell.value for cell in sheet[1]] == [column.header for column in COLUMNS]
    assert all(cell.font.b for cell in sheet[1])
    assert sheet.column_dimensions["B"].width == 12
    assert sheet["A2"].value == "张三 & <李四>"
    assert (sheet["B2"].value, sheet["B2"].number_format) == (1.5, "#,##0.00")
    assert (sheet["C2"].value, sheet["C2"].number_format) == (datetime.datetime(2012, 5, 3), "yyyy-mm-dd")
    assert (sheet["C3"].value, sheet["C3"].number_format) == (datetime.datetime(2020, 1, 2, 3, 4, 5), "yyyy-mm-dd h:mm:ss")
    # A date in a column of another number format is written in that format, as before.
    assert (sheet["E3"].value, sheet["E3"].number_format) == (43832.5, "0")
    # Text that a spreadsheet would run as a formula stays text, and stays so when edited.
    assert (sheet["A3"].value, sheet["A3"].data_type, sheet["A3"].quotePrefix) == ("=1+1", "s", True)
    assert sheet["D4"].value == "-3" and sheet["D4"].quotePrefix and sheet["A7"].quotePrefix
    assert sheet["A4"].value == "  leading spaces" and sheet["D6"].value == " padded "
    assert sheet["A5"].value is None and sheet["C4"].value is None  # "" is an empty cell
    assert sheet["C6"].value is True and sheet["C7"].value is False
    assert sheet["E7"].value == -42 and sheet["B7"].value == -0.01
    assert sheet["A6"].value == "#N/A" and sheet["B6"].value == "a\nb"


def test_calamine_reads_the_rows_as_the_importer_does():
    content, _count = written()
    rows = CalamineWorkbook.from_filelike(io.BytesIO(content)).get_sheet_by_index(0).to_python()
    assert rows[1][:4] == ["张三 & <李四>", 1.5, datetime.date(2012, 5, 3), datetime.date(2020, 1, 2)]
    assert rows[2][0] == "=1+1" and rows[3][0] == "  leading spaces"
    assert rows[6][3] == "中文"


def test_text_holding_a_control_character_is_refused_as_openpyxl_refuses_it():
    with pytest.raises(IllegalCharacterError):
        written([["bell\x07", None, None, None, None]])
    with pytest.raises(IllegalCharacterError):
        WriteOnlyCell(openpyxl.Workbook(write_only=True).create_sheet("x"), value="bell\x07")


def test_text_longer_than_a_cell_holds_is_cut_as_openpyxl_cuts_it():
    content, _count = written([["字" * 40000, None, None, None, None]])
    assert cells(content)[1][0][0] == "字" * 32767


def test_a_timezone_aware_datetime_is_refused():
    aware = datetime.datetime(2020, 1, 2, tzinfo=datetime.timezone.utc)
    with pytest.raises(TypeError):
        written([[None, None, aware, None, None]])


def test_progress_is_reported_every_so_many_rows_and_many_rows_stay_in_order():
    seen = []
    rows = ([f"学生{index}", Decimal(index) / 100, None, None, index] for index in range(2345))
    content, count = written(rows, on_progress=seen.append, every=1000)
    assert count == 2345 and seen == [1000, 2000]
    sheet = openpyxl.load_workbook(io.BytesIO(content), read_only=True).worksheets[0]
    values = [row for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert len(values) == 2345
    assert [row[0] for row in values] == [f"学生{index}" for index in range(2345)]
    assert values[-1][4] == 2344 and values[1234][1] == 12.34


def test_an_export_of_no_rows_is_the_header_alone():
    content, count = written([])
    assert count == 0
    assert [row for row in cells(content)] == [[(c.header, "General", False, True) for c in COLUMNS]]
