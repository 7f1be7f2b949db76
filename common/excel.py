"""Spreadsheets that leave the app, whatever their content: cell styles and number formats,
streamed list exports with bounded memory (formula-like text kept as text), .xlsx
responses, and the printable-table helpers (title, facts row, header, A4 layout)."""
import io
import re
import tempfile
from dataclasses import dataclass
from urllib.parse import quote

from django.http import FileResponse, HttpResponse
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import Cell
from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

THIN = Side(style="thin", color="000000")

BORDER = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)

CENTER = Alignment(horizontal="center", vertical="center", wrap_text=True)

BOLD = Font(bold=True)

# Number formats of exported cells.
COUNT_FORMAT = "#,##0"

WHOLE_NUMBER = "0"

MONEY_FORMAT = "#,##0.00"

DATE_FORMAT = "yyyy-mm-dd"

DATETIME_FORMAT = "yyyy-mm-dd hh:mm"

SHEET_TITLE_LENGTH = 31  # Excel's limit

NOT_IN_SHEET_TITLES = re.compile(r"[\[\]:*?/\\]")



def sheet_safe(text):
    """Text fit for a sheet title or a file name: / \\ [ ] : * ? become dashes (a term
    named 2026/2027, say)."""
    return NOT_IN_SHEET_TITLES.sub("-", text)



def xlsx_response(workbook, file_name):
    buffer = io.BytesIO()
    workbook.save(buffer)
    response = HttpResponse(buffer.getvalue(), content_type=XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = attachment_header(file_name)
    return response



# Values starting with these would be read as formulas (or DDE) by spreadsheet programs.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")



@dataclass(frozen=True)
class ExportColumn:
    header: str
    width: int = 12
    number_format: str = ""  # e.g. "#,##0.00" for money; dates get a date format



def stream_xlsx(file_name, sheet_title, columns, rows):
    """Write rows (tuples in column order) to a temporary file and stream it back, so memory
    stays flat however many rows there are. The response's `row_count` says how many."""
    temporary = tempfile.NamedTemporaryFile(suffix=".xlsx")
    row_count = write_xlsx(temporary, sheet_title, columns, rows)
    temporary.seek(0)
    response = FileResponse(temporary, content_type=XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = attachment_header(file_name)
    response.row_count = row_count
    return response


def attachment_header(file_name):
    return f"attachment; filename*=UTF-8''{quote(file_name)}"


def write_xlsx(file, sheet_title, columns, rows, on_progress=None, every=1000):
    """Write rows with openpyxl's write-only mode to `file`; returns the number of rows.
    `on_progress(rows_done)` is called every `every` rows (background exports show it).

    Text that a spreadsheet would run as a formula is written as text (quote-prefixed).
    """
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(sheet_title)
    for index, column in enumerate(columns, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = column.width
    sheet.freeze_panes = "A2"
    header_cells = []
    for column in columns:
        cell = WriteOnlyCell(sheet, value=column.header)
        cell.font = BOLD
        header_cells.append(cell)
    sheet.append(header_cells)
    formatted = [index for index, column in enumerate(columns) if column.number_format]
    row_count = 0
    for row in rows:
        values = list(row)
        for index, value in enumerate(values):
            if isinstance(value, str) and value.startswith(FORMULA_STARTS):
                values[index] = text_cell(sheet, value)
        for index in formatted:
            if values[index] is not None and not isinstance(values[index], Cell):
                cell = WriteOnlyCell(sheet, value=values[index])
                cell.number_format = columns[index].number_format
                values[index] = cell
        sheet.append(values)
        row_count += 1
        if on_progress is not None and row_count % every == 0:
            on_progress(row_count)
    workbook.save(file)
    return row_count


def text_cell(sheet, value):
    """A cell that holds `value` as text even though it looks like a formula."""
    cell = WriteOnlyCell(sheet, value=value)
    cell.data_type = "s"
    cell.quotePrefix = True  # Excel keeps it text when the cell is edited, too
    return cell



TITLE_FONT = Font(bold=True, size=16)

LEFT = Alignment(horizontal="left", vertical="center", wrap_text=True)

RIGHT = Alignment(horizontal="right", vertical="center")



def put_cell(sheet, row, column, value):
    """Write a value (an empty text leaves the cell empty); text that a spreadsheet would
    run as a formula stays text."""
    cell = sheet.cell(row, column)
    cell.value = None if value == "" else value
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        cell.data_type = "s"
        cell.quotePrefix = True
    return cell



def write_title(sheet, text, last_column):
    cell = put_cell(sheet, 1, 1, text)
    cell.font = TITLE_FONT
    cell.alignment = CENTER
    sheet.merge_cells(start_row=1, end_row=1, start_column=1, end_column=last_column)
    sheet.row_dimensions[1].height = 30



def write_facts_row(sheet, row, parts):
    """(first column, last column, text) parts, each merged across its columns."""
    for first, last, text in parts:
        put_cell(sheet, row, first, text).alignment = LEFT
        sheet.merge_cells(start_row=row, end_row=row, start_column=first, end_column=last)



def write_header(sheet, row, columns):
    for index, column in enumerate(columns, start=1):
        cell = put_cell(sheet, row, index, column.header)
        cell.font = BOLD
        cell.alignment = CENTER
        cell.border = BORDER



def style_table(sheet, first_row, last_row, columns):
    """Borders on every cell; numbers right-aligned in their format, text wrapped left."""
    for cells in sheet.iter_rows(min_row=first_row, max_row=last_row, max_col=len(columns)):
        for cell, column in zip(cells, columns):
            cell.border = BORDER
            if column.number_format:
                cell.number_format = column.number_format
                cell.alignment = RIGHT
            else:
                cell.alignment = LEFT



def set_a4_print(sheet, columns, *, title_rows, orientation):
    """Column widths, header rows repeated on every page, A4 fitted to the page width."""
    for index, column in enumerate(columns, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = column.width
    sheet.print_title_rows = title_rows
    sheet.page_setup.orientation = orientation
    sheet.page_setup.paperSize = Worksheet.PAPERSIZE_A4  # a write-only sheet has no PAPERSIZE_A4
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.print_options.horizontalCentered = True
    sheet.page_margins.left = sheet.page_margins.right = 0.4
    sheet.page_margins.top = sheet.page_margins.bottom = 0.5
