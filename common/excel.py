"""Spreadsheets that leave the app, whatever their content: cell styles and number formats,
streamed list exports with bounded memory (formula-like text kept as text), .xlsx
responses, and the printable-table helpers (title, facts row, header, A4 layout)."""
import datetime
import io
import math
import re
import tempfile
import zipfile
from dataclasses import dataclass, replace
from decimal import Decimal
from urllib.parse import quote

from django.http import FileResponse, HttpResponse
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, TIME_FORMATS
from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.utils import get_column_letter
from openpyxl.utils.datetime import WINDOWS_EPOCH, to_excel
from openpyxl.utils.exceptions import IllegalCharacterError
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
    return xlsx_content_response(buffer.getvalue(), file_name)


def xlsx_content_response(content, file_name):
    """A download of an .xlsx file's bytes."""
    response = HttpResponse(content, content_type=XLSX_CONTENT_TYPE)
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
    """Write rows (plain values in column order) to `file` as one sheet under a bold header;
    returns the number of rows. `on_progress(rows_done)` is called every `every` rows
    (background exports show it).

    openpyxl writes the workbook around the rows (styles, column widths, the frozen header);
    the rows themselves go through `SheetRows`, which writes each value straight as XML
    instead of making a cell object for it. Text that a spreadsheet would run as a formula is
    written as text (quote-prefixed).
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
    body = SheetRows(sheet, [CellStyle(number_format=column.number_format) for column in columns])
    return save_with_rows(
        workbook, sheet, file,
        lambda stream: body.write(stream, rows, first_row=2, on_progress=on_progress, every=every),
    )


def text_cell(sheet, value):
    """A cell that holds `value` as text even though it looks like a formula."""
    cell = WriteOnlyCell(sheet, value=value)
    cell.data_type = "s"
    cell.quotePrefix = True  # Excel keeps it text when the cell is edited, too
    return cell



TITLE_FONT = Font(bold=True, size=16)

LEFT = Alignment(horizontal="left", vertical="center", wrap_text=True)

RIGHT = Alignment(horizontal="right", vertical="center")


def choice_labels(model, field_name):
    """{value: label} of a choice field, translated once (get_FOO_display() translates the
    whole list of choices at each call, which on a long export is most of its time)."""
    return {value: str(label) for value, label in model._meta.get_field(field_name).flatchoices}



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



# ---------------------------------------------------------------------------------------
# The printed layout in write-only mode (title, facts row, header), for long tables
# ---------------------------------------------------------------------------------------


def merge(sheet, row, first_column, last_column):
    sheet.merged_cells.add(
        f"{get_column_letter(first_column)}{row}:{get_column_letter(last_column)}{row}"
    )


def append_title(sheet, text, last_column):
    """Row 1 of a write-only sheet: the title in large bold, merged across the table."""
    sheet.row_dimensions[1].height = 30
    title = WriteOnlyCell(sheet, value=text)
    title.font = TITLE_FONT
    title.alignment = CENTER
    sheet.append([title])
    merge(sheet, 1, 1, last_column)


def facts_row(sheet, row, parts):
    """A write-only row of (first column, last column, text) parts, each merged across its columns."""
    cells = [None] * parts[-1][1]
    for first, last, text in parts:
        cell = WriteOnlyCell(sheet, value=text)
        cell.alignment = LEFT
        cells[first - 1] = cell
        merge(sheet, row, first, last)
    return cells


def append_header(sheet, columns):
    """The bold, centred, bordered header row of a write-only sheet."""
    header = []
    for column in columns:
        cell = WriteOnlyCell(sheet, value=column.header)
        cell.font = BOLD
        cell.alignment = CENTER
        cell.border = BORDER
        header.append(cell)
    sheet.append(header)


def table_style(column, font=None):
    """A bordered table cell of `column`: numbers and dates right-aligned in its format,
    text left-aligned and wrapped (as style_table styles a normal-mode sheet)."""
    if column.number_format:
        return CellStyle(font=font, border=BORDER, alignment=RIGHT, number_format=column.number_format)
    return CellStyle(font=font, border=BORDER, alignment=LEFT)


# ---------------------------------------------------------------------------------------
# Rows written straight as worksheet XML
# ---------------------------------------------------------------------------------------
# openpyxl makes a cell object for every value it writes, and styling one looks its style up
# by hashing it: about 10 µs a cell, 15 µs styled. For sheets of thousands of rows the rows
# are written here as the XML openpyxl would write for them (inline strings, numbers as
# "%.16g", dates as serial numbers in a date format, the same checks on text), while openpyxl
# still writes everything around them: the workbook, the styles, the columns and the page.


@dataclass(frozen=True)
class CellStyle:
    """How the cells of one column look (None: openpyxl's default)."""
    font: Font | None = None
    border: Border | None = None
    alignment: Alignment | None = None
    number_format: str = ""


def style_id(sheet, style, *, number_format=None, quote_prefix=False):
    """The index of `style` among the workbook's cell formats (0 is the default), registered
    with openpyxl so that it writes the format into the workbook's styles."""
    cell = WriteOnlyCell(sheet)
    if style.font is not None:
        cell.font = style.font
    if style.border is not None:
        cell.border = style.border
    if style.alignment is not None:
        cell.alignment = style.alignment
    number_format = number_format or style.number_format
    if number_format:
        cell.number_format = number_format
    if quote_prefix:
        cell.quotePrefix = True
    return cell.style_id if cell.has_style else 0


MAX_TEXT = 32767  # characters in a cell; openpyxl cuts longer text there
EXCEL_DAY_ZERO = WINDOWS_EPOCH.toordinal()  # 1899-12-30: dates are days since
MAX_EXACT = 10**15  # integers below this are written alike by str() and by openpyxl's "%.16g"
XML_SPACE = (" ", "\t", "\n", "\r")
ROWS_PER_WRITE = 500


def _style_attribute(index):
    return f' s="{index}"' if index else ""


def _xml_text(value):
    """An inline string's <is> element, as openpyxl writes it."""
    if len(value) > MAX_TEXT:
        value = value[:MAX_TEXT]
    if "&" in value or "<" in value or ">" in value:
        value = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    if value[0] in XML_SPACE or value[-1] in XML_SPACE:
        if value.strip():
            return f'<is><t xml:space="preserve">{value}</t></is>'
    return f"<is><t>{value}</t></is>"


def _number(value):
    """A number as openpyxl writes it; NaN and infinities as an empty value."""
    if math.isfinite(value):
        return "%.16g" % value
    return ""


class SheetRows:
    """Rows of plain values (None or "" for an empty cell) as the <row> elements of a sheet.

    Each column has its CellStyle; text starting like a formula gets it with a quote prefix
    (and no number format),
    and a date or time in a column without a number format gets openpyxl's default format
    for its type. `height` sets every row's height in points; `styled_blanks` writes empty
    cells of a styled column too (so that borders run round an empty signature box).
    The styles are registered when this is made, so make it before the workbook is saved.
    """

    def __init__(self, sheet, styles, *, height=None, styled_blanks=False):
        self.epoch = sheet.parent.epoch
        self.windows_epoch = self.epoch == WINDOWS_EPOCH
        self.row_attributes = f' ht="{height}" customHeight="1"' if height else ""
        self.columns = []
        for index, style in enumerate(styles, start=1):
            base = style_id(sheet, style)
            times = {
                kind: base if style.number_format else style_id(sheet, style, number_format=TIME_FORMATS[kind])
                for kind in (datetime.datetime, datetime.date, datetime.time, datetime.timedelta)
            }
            self.columns.append((
                get_column_letter(index),
                _style_attribute(base),
                _style_attribute(style_id(sheet, replace(style, number_format=""), quote_prefix=True)),
                {kind: _style_attribute(value) for kind, value in times.items()},
                styled_blanks and base != 0,
            ))

    def row(self, number, values):
        """One <row> element: row `number` holding `values` in column order."""
        parts = [f'<row r="{number}"{self.row_attributes}>']
        append = parts.append
        windows_epoch = self.windows_epoch
        for value, (letter, style, quoted, time_styles, blank) in zip(values, self.columns):
            kind = type(value)
            if kind is str:
                if not value:
                    if blank:
                        append(f'<c r="{letter}{number}"{style}/>')
                    continue
                if value.startswith(FORMULA_STARTS):
                    style = quoted
                if (
                    len(value) > MAX_TEXT or "&" in value or "<" in value or ">" in value
                    or value[0] in XML_SPACE or value[-1] in XML_SPACE
                ):
                    append(f'<c r="{letter}{number}"{style} t="inlineStr">{_xml_text(value)}</c>')
                else:
                    append(f'<c r="{letter}{number}"{style} t="inlineStr"><is><t>{value}</t></is></c>')
            elif value is None:
                if blank:
                    append(f'<c r="{letter}{number}"{style}/>')
            elif kind is int and -MAX_EXACT < value < MAX_EXACT:
                append(f'<c r="{letter}{number}"{style} t="n"><v>{value}</v></c>')
            elif kind is Decimal or kind is float:
                append(f'<c r="{letter}{number}"{style} t="n"><v>{_number(value)}</v></c>')
            elif kind is datetime.date and windows_epoch:
                days = value.toordinal() - EXCEL_DAY_ZERO
                if 0 < days <= 60:  # to_excel's correction for Excel's 29 February 1900
                    days -= 1
                append(f'<c r="{letter}{number}"{time_styles[kind]} t="n"><v>{days}</v></c>')
            else:
                append(self.other(letter, number, value, style, quoted, time_styles))
        append("</row>")
        return "".join(parts)

    def other(self, letter, number, value, style, quoted, time_styles):
        """A cell of any type but plain str, int, Decimal and float."""
        reference = f"{letter}{number}"
        if isinstance(value, bool):
            return f'<c r="{reference}"{style} t="b"><v>{int(value)}</v></c>'
        if isinstance(value, (int, float, Decimal)):
            return f'<c r="{reference}"{style} t="n"><v>{_number(value)}</v></c>'
        if isinstance(value, str):
            if value.startswith(FORMULA_STARTS):
                style = quoted
            return f'<c r="{reference}"{style} t="inlineStr">{_xml_text(str(value))}</c>'
        for kind in (datetime.datetime, datetime.date, datetime.time, datetime.timedelta):
            if isinstance(value, kind):
                if getattr(value, "tzinfo", None) is not None:
                    raise TypeError("Excel does not support timezones in datetimes.")
                return f'<c r="{reference}"{time_styles[kind]} t="n"><v>{_number(to_excel(value, self.epoch))}</v></c>'
        raise ValueError(f"Cannot convert {value!r} to Excel")

    def write(self, stream, rows, *, first_row, on_progress=None, every=1000):
        """Write `rows` (from row number `first_row` on) to the binary `stream`; returns how
        many. Text holding a character XML cannot carry raises IllegalCharacterError, as
        openpyxl does."""
        count = 0
        number = first_row
        batch = []
        for values in rows:
            batch.append(self.row(number, values))
            number += 1
            count += 1
            if count % ROWS_PER_WRITE == 0:
                self._flush(stream, batch)
                batch = []
            if on_progress is not None and count % every == 0:
                on_progress(count)
        self._flush(stream, batch)
        return count

    @staticmethod
    def _flush(stream, batch):
        text = "".join(batch)
        if ILLEGAL_CHARACTERS_RE.search(text):
            raise IllegalCharacterError("Text with a control character cannot be written to a worksheet.")
        stream.write(text.encode())


SHEET_DATA_ENDS = (b"</sheetData>", b"<sheetData />", b"<sheetData/>")


def save_with_rows(workbook, sheet, file, write_rows, *, compresslevel=None):
    """Save `workbook` (write-only, its rows so far appended) to `file`, with
    `write_rows(stream)` writing further <row> elements at the end of `sheet`'s data.
    Returns what write_rows returns. The rows are written straight into the compressed
    file, so memory stays flat however many there are. `compresslevel` is zlib's (1 is
    about four times as fast as the default 6, for a file about a fifth larger)."""
    skeleton = io.BytesIO()
    workbook.save(skeleton)
    sheet_path = sheet.path[1:]
    result = None
    with zipfile.ZipFile(skeleton) as source, zipfile.ZipFile(
        file, "w", zipfile.ZIP_DEFLATED, compresslevel=compresslevel
    ) as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename != sheet_path:
                target.writestr(info, data)
                continue
            end = next(end for end in SHEET_DATA_ENDS if end in data)
            before, after = data.split(end, 1)
            with target.open(sheet_path, "w", force_zip64=True) as stream:
                stream.write(before + (b"" if end == b"</sheetData>" else b"<sheetData>"))
                result = write_rows(stream)
                stream.write(b"</sheetData>" + after)
    return result
