"""Uploaded roster files (.xlsx, .xls, .csv) read into plain rows, safely.

This module knows nothing about students or headers: it turns the first visible
sheet of a workbook, or a CSV text, into numbered rows of cleaned values, and
refuses files that are not spreadsheets, are password-protected, damaged, or
too big (including zip bombs). The importer maps headers and validates values.
"""
import codecs
import contextlib
import csv
import datetime
import io
import json
import logging
import re
import zipfile
from dataclasses import dataclass, field

import python_calamine
import xlrd
from defusedxml import DTDForbidden
from django.utils.translation import gettext as _

logger = logging.getLogger(__name__)

MB = 1024 * 1024
XLSX_MAGIC = b"PK\x03\x04"
OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
# An encrypted .xlsx is an OLE2 container holding the real workbook in this stream.
ENCRYPTED_PACKAGE = "EncryptedPackage".encode("utf-16-le")
# Formats that may decode as GB18030 text but are certainly not rosters.
OTHER_MAGICS = (
    b"%PDF",
    b"\x89PNG",
    b"\xff\xd8\xff",  # JPEG
    b"GIF8",
    b"Rar!",
    b"7z\xbc\xaf",
    b"\x1f\x8b",  # gzip
    b"{\\rtf",
)
SPREADSHEET_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".et", ".ett")
# Zip members above this size must not expand more than MAX_RATIO times.
RATIO_CHECK_SIZE = 1 * MB
MAX_RATIO = 100
# The whole-number rule stops here so an 18-digit ID number that Excel stored as
# a number (and so lost its last digits) stays a float the importer can detect.
LARGEST_INT_FLOAT = 1e15
# Every Unicode space (U+3000 and U+00A0 included) and the zero-width characters
# that come along with text pasted from web pages and WeChat.
ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff"
BLANKS = "".join(chr(code) for code in range(0x3001) if chr(code).isspace()) + ZERO_WIDTH
# A DTD opens with "<!DOCTYPE", in the encodings an XML part can have (ASCII-compatible ones
# and UTF-16); in text it would be escaped (&lt;), so these bytes are markup.
DTD_OPENINGS = tuple("<!DOCTYPE".encode(encoding) for encoding in ("ascii", "utf-16-le", "utf-16-be"))
PART_READ_SIZE = 1 * MB
# The start of a row or a cell element in a worksheet (with or without a namespace prefix),
# and a cell's reference (r="AB12").
ROW_START = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?row[\s/>]")
CELL_START = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?c[\s/>]")
CELL_COLUMN = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?c\s[^>]*?\br\s*=\s*[\"']\$?([A-Za-z]{1,3})")
CELL_ROW = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?c\s[^>]*?\br\s*=\s*[\"']\$?[A-Za-z]{1,3}\$?([0-9]{1,7})")
ROW_NUMBER = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?row\s[^>]*?\br\s*=\s*[\"']([0-9]{1,7})")
# The same as every writer of workbooks we have met writes them: no prefix, the reference the
# first attribute. A third of the cost of the patterns above; used where they find the same.
PREFIXED_ROW_OR_CELL = re.compile(rb":(?:row|c)[\s/>]")
PLAIN_ROW_START = re.compile(rb"<row[\s/>]")
PLAIN_CELL_START = re.compile(rb"<c[\s/>]")
PLAIN_CELL_COLUMN = re.compile(rb'<c r="([A-Z]{1,3})')
PLAIN_CELL_ROW = re.compile(rb'<c r="[A-Z]{1,3}([0-9]{1,7})"')
PLAIN_ROW_NUMBER = re.compile(rb'<row r="([0-9]{1,7})"')
WORKSHEET_PART = re.compile(r"xl/worksheets/[^/]+\.xml")
CSV_DELIMITERS = ",\t;"
CSV_SNIFF_CHARS = 16 * 1024


class SpreadsheetRefused(Exception):
    """The file itself cannot be read; .message is a translated sentence for the user."""

    def __init__(self, message):
        super().__init__(message)
        self.message = message


@dataclass
class RawRow:
    number: int  # as Excel/WPS shows it (1-based); for CSV the 1-based record number
    values: list  # str (stripped), int, float, date/datetime, bool; None for empty


@dataclass
class RawTable:
    format: str  # "xlsx", "xls" or "csv"
    encoding: str  # for csv: "utf-8", "utf-8-sig" or "gb18030"; "" otherwise
    sheet_name: str  # first visible sheet's name ("" for csv)
    rows: list[RawRow]  # every non-blank row in order
    # What a reader computed from these rows, kept with them so that reading the table again
    # in the same process can reuse it (the importer keeps its cleaned rows here).
    derived: dict = field(default_factory=dict, repr=False, compare=False)


def table_to_json(table):
    """The table as JSON text, to keep and read back with table_from_json (dates tagged)."""
    return json.dumps(
        {
            "format": table.format,
            "encoding": table.encoding,
            "sheet_name": table.sheet_name,
            "rows": [[row.number, row.values] for row in table.rows],
        },
        default=_tagged,
        ensure_ascii=False,
    )


def table_from_json(text):
    data = json.loads(text, object_hook=_untagged)
    rows = [RawRow(number, values) for number, values in data["rows"]]
    return RawTable(format=data["format"], encoding=data["encoding"], sheet_name=data["sheet_name"], rows=rows)


def _tagged(value):
    if isinstance(value, datetime.datetime):
        return {"datetime": value.isoformat()}
    if isinstance(value, datetime.date):
        return {"date": value.isoformat()}
    return str(value)  # a time of day or a duration: the importer reads it as its text anyway


def _untagged(tagged):
    if "datetime" in tagged:
        return datetime.datetime.fromisoformat(tagged["datetime"])
    if "date" in tagged:
        return datetime.date.fromisoformat(tagged["date"])
    return tagged


@dataclass(frozen=True)
class Bounds:
    """How much of a sheet is read at most: non-blank rows, columns (the furthest cell of
    any row, and the cells in one row), and cells (in all, and the rectangle from A1 to the
    furthest row and column, which a reader lays out in memory)."""

    rows: int = 50_000
    columns: int = 200
    cells: int = 2_000_000

    def check_columns(self, count):
        if count > self.columns:
            raise SpreadsheetRefused(
                _("The sheet has more than %(limit)s columns.") % {"limit": f"{self.columns:,}"}
            )

    def check_cells(self, count):
        if count > self.cells:
            raise SpreadsheetRefused(_("The sheet has more than %(limit)s cells.") % {"limit": f"{self.cells:,}"})


def read_table(
    fileobj, filename, *, max_bytes=20 * MB, max_rows=50_000, max_inflated_bytes=200 * MB,
    max_columns=200, max_cells=2_000_000,
):
    """Read a binary file object (a Django UploadedFile or an open file) into a RawTable.

    The format comes from the content; `filename` only chooses between "damaged"
    and "not a spreadsheet" when the content is unreadable. Raises SpreadsheetRefused.
    Every bound is checked before the work it protects: the size before reading, the zip's
    sizes and every part's DTD and every worksheet's rows, columns and cells before parsing.
    """
    bounds = Bounds(rows=max_rows, columns=max_columns, cells=max_cells)
    data = _read_bytes(fileobj, max_bytes)
    if not data:
        raise SpreadsheetRefused(_("The file is empty."))
    if data.startswith(XLSX_MAGIC):
        return _read_xlsx(data, filename, bounds, max_inflated_bytes)
    if data.startswith(OLE2_MAGIC):
        return _read_xls(data, bounds)
    return _read_csv(data, filename, bounds)


def _read_bytes(fileobj, max_bytes):
    """Check the size by seeking before reading anything, then read the file once."""
    fileobj.seek(0, io.SEEK_END)
    size = fileobj.tell()
    if size > max_bytes:
        raise SpreadsheetRefused(_("The file is larger than %(limit)d MB.") % {"limit": max_bytes // MB})
    fileobj.seek(0)
    return fileobj.read(size)


def _not_a_spreadsheet(filename):
    """Unreadable content under a spreadsheet's name is more likely damaged than foreign."""
    if filename.lower().endswith(SPREADSHEET_SUFFIXES):
        return _damaged()
    return _foreign()


def _foreign():
    return SpreadsheetRefused(_("This file is not a spreadsheet. Upload an .xlsx, .xls or .csv file."))


def _damaged():
    return SpreadsheetRefused(_("The file is damaged or not a complete Excel workbook."))


def _password_protected():
    return SpreadsheetRefused(
        _("The file is password-protected. Open it in Excel or WPS, remove the password and save it again.")
    )


@contextlib.contextmanager
def _refuse_parser_errors():
    """Turn any parser failure into the "damaged" refusal.

    calamine and xlrd raise all kinds of exceptions on corrupt input (CalamineError,
    XmlError, KeyError, struct.error...), so nothing narrower works.
    """
    try:
        yield
    except SpreadsheetRefused:
        raise
    except Exception as error:
        logger.info("Unreadable spreadsheet refused", exc_info=True)
        raise _damaged() from error


def _collect(value_rows, bounds):
    """Number the rows from 1, trim trailing empty cells, drop blank rows, and
    enforce the bounds row by row (a reader that produces rows one at a time stops at the
    first row past them)."""
    rows = []
    cells = 0
    for number, values in enumerate(value_rows, start=1):
        bounds.check_columns(len(values))
        cells += len(values)
        bounds.check_cells(cells)
        while values and values[-1] is None:
            values.pop()
        if values:
            if len(rows) == bounds.rows:
                raise SpreadsheetRefused(_("The file has more than %(limit)s rows.") % {"limit": bounds.rows})
            rows.append(RawRow(number, values))
    return rows


def _clean(value):
    """One cell value as the importer gets it (see RawRow.values)."""
    kind = type(value)
    if kind is str:
        return value.strip(BLANKS) or None
    if kind is float:
        return int(value) if value.is_integer() and abs(value) < LARGEST_INT_FLOAT else value
    if kind is datetime.datetime:
        return value.date() if value.time() == datetime.time() else value
    return value


# --- xlsx -------------------------------------------------------------------


def _read_xlsx(data, filename, bounds, max_inflated_bytes):
    _check_zip(io.BytesIO(data), filename, bounds, max_inflated_bytes)
    with _refuse_parser_errors():
        workbook = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
    try:
        with _refuse_parser_errors():
            index = _first_visible(
                enumerate(workbook.sheets_metadata),
                lambda entry: entry[1].visible == python_calamine.SheetVisibleEnum.Visible,
            )[0]
            sheet = workbook.get_sheet_by_index(index)
            # From A1, so rows and columns are numbered as Excel shows them; calamine reads
            # to the last cell whatever the sheet's <dimension> says.
            value_rows = ([_clean(value) for value in row] for row in sheet.to_python(skip_empty_area=False))
            rows = _collect(value_rows, bounds)
    finally:
        workbook.close()
    return RawTable(format="xlsx", encoding="", sheet_name=sheet.name, rows=rows)


def _check_zip(buffer, filename, bounds, max_inflated_bytes):
    """Refuse zips that are not workbooks, would inflate absurdly, hold a DTD anywhere, or
    hold a worksheet past the bounds; all before any XML is parsed.

    The declared sizes can be trusted as a bound: zipfile never inflates a
    member beyond its declared file_size (a lie ends in a CRC error).
    """
    try:
        with zipfile.ZipFile(buffer) as archive:
            members = archive.infolist()
            _check_members(members, filename, max_inflated_bytes)
            for member in members:
                _check_part(archive, member, bounds)
    except (zipfile.BadZipFile, ValueError, EOFError, NotImplementedError, RuntimeError) as error:
        raise _damaged() from error


def _check_members(members, filename, max_inflated_bytes):
    if "xl/workbook.xml" not in {member.filename for member in members}:
        raise _not_a_spreadsheet(filename)
    if sum(member.file_size for member in members) > max_inflated_bytes:
        raise SpreadsheetRefused(
            _("The file expands to more than %(limit)d MB when unpacked and was refused.")
            % {"limit": max_inflated_bytes // MB}
        )
    if any(m.file_size > RATIO_CHECK_SIZE and m.file_size > MAX_RATIO * m.compress_size for m in members):
        raise SpreadsheetRefused(
            _(
                "The file is packed in an unusual way and was refused for safety. "
                "Open it in Excel or WPS and save it again."
            )
        )


def _check_part(archive, member, bounds):
    """Read one part to its end, in blocks: refuse a DTD anywhere in it (entity bombs,
    external entities), whatever comes before it; and for a worksheet, count its rows,
    columns and cells (SheetSize) so that a sheet too large is refused before it is parsed.

    Every part is searched, whatever its name or first bytes: the bytes of "<!DOCTYPE" do
    not occur by chance in the pictures a roster may hold.
    """
    size = SheetSize(bounds) if WORKSHEET_PART.fullmatch(member.filename) else None
    overlap = max(len(opening) for opening in DTD_OPENINGS) - 1
    tail = b""
    with archive.open(member) as stream:
        while block := stream.read(PART_READ_SIZE):
            searched = tail + block
            if any(opening in searched for opening in DTD_OPENINGS):
                raise _damaged() from DTDForbidden(None, None, None)
            tail = searched[-overlap:]
            if size is not None:
                size.feed(block)
    if size is not None:
        size.close()


class SheetSize:
    """Counts a worksheet's rows, cells and furthest cell from its XML as it is read, and
    refuses it as soon as it passes the bounds: cheap regular expressions over the bytes, no
    XML parsing and nothing kept but a few counters.

    A block is counted up to its last "<"; the rest waits for the next block, so no element
    start is cut in two (attribute values cannot hold a "<").

    The rectangle a reader lays out is as deep as the furthest row reference or the number
    of rows, whichever is more (a row without a reference follows the one before), and as
    wide as the furthest cell reference or the widest row, whichever is more (likewise for
    a cell): 200 cells without references in row 1,048,576 are two million cells.
    """

    def __init__(self, bounds):
        self.bounds = bounds
        self.cells = self.row_cells = self.widest_row = self.rows = 0
        self.furthest_row = self.furthest_column = 0
        self.pending = b""

    def feed(self, block):
        data = self.pending + block
        cut = data.rfind(b"<")
        if cut <= 0:
            self.pending = data
            return
        self.pending = data[cut:]
        self._count(data, cut)

    def close(self):
        self._count(self.pending, len(self.pending))
        self.pending = b""

    def _count(self, data, end):
        bounds = self.bounds
        plain = PREFIXED_ROW_OR_CELL.search(data, 0, end) is None
        row_start, cell_start = (PLAIN_ROW_START, PLAIN_CELL_START) if plain else (ROW_START, CELL_START)
        cells = rows = 0
        start = 0
        for row in row_start.finditer(data, 0, end):
            cells += self._add_cells(len(cell_start.findall(data, start, row.start())))
            self.row_cells = 0
            rows += 1
            start = row.start()
        cells += self._add_cells(len(cell_start.findall(data, start, end)))
        # Distinct references only, so that no Python code runs per cell. The plain patterns
        # stand for the general ones where they find every cell (and every row).
        columns = plain and PLAIN_CELL_COLUMN.findall(data, 0, end)
        if columns and len(columns) == cells:
            numbers = PLAIN_CELL_ROW.findall(data, 0, end)
            if len(numbers) != cells:
                numbers = CELL_ROW.findall(data, 0, end)
        else:
            columns, numbers = CELL_COLUMN.findall(data, 0, end), CELL_ROW.findall(data, 0, end)
        row_numbers = plain and PLAIN_ROW_NUMBER.findall(data, 0, end)
        if not row_numbers or len(row_numbers) != rows:
            row_numbers = ROW_NUMBER.findall(data, 0, end)
        self.furthest_column = max([self.furthest_column, *map(column_number, set(columns))])
        bounds.check_columns(self.furthest_column)
        self.rows += rows
        self.furthest_row = max([self.furthest_row, self.rows, *map(int, set(numbers) | set(row_numbers))])
        bounds.check_cells(self.furthest_row * max(self.furthest_column, self.widest_row))

    def _add_cells(self, count):
        self.cells += count
        self.row_cells += count
        self.widest_row = max(self.widest_row, self.row_cells)
        self.bounds.check_columns(self.row_cells)
        self.bounds.check_cells(self.cells)
        return count


def column_number(letters):
    """A column's number from its letters: A is 1, Z 26, AA 27."""
    number = 0
    for letter in letters.upper():
        number = number * 26 + letter - 64
    return number


def _first_visible(sheets, is_visible):
    for sheet in sheets:
        if is_visible(sheet):
            return sheet
    raise _damaged()


# --- xls --------------------------------------------------------------------


def _read_xls(data, bounds):
    if ENCRYPTED_PACKAGE in data:
        raise _password_protected()
    with _refuse_parser_errors():
        book = _open_xls(data)
        try:
            sheets = (book.sheet_by_index(index) for index in range(book.nsheets))
            sheet = _first_visible(sheets, lambda candidate: candidate.visibility == 0)
            # The format allows 256 columns and 65,536 rows, and the sheet is in memory.
            bounds.check_columns(sheet.ncols)
            bounds.check_cells(sheet.ncols * sheet.nrows)
            rows = _collect(_xls_rows(sheet, book.datemode), bounds)
        finally:
            book.release_resources()
    return RawTable(format="xls", encoding="", sheet_name=sheet.name, rows=rows)


def _open_xls(data):
    try:
        # xlrd prints warnings about odd files to stdout unless given a log file.
        return xlrd.open_workbook(file_contents=data, on_demand=True, logfile=io.StringIO())
    except xlrd.XLRDError as error:
        message = str(error)
        if "encrypted" in message.lower():
            raise _password_protected() from error
        if "Can't find workbook" in message:  # another OLE2 document, e.g. a Word .doc
            raise _foreign() from error
        raise


def _xls_rows(sheet, datemode):
    for index in range(sheet.nrows):
        cells = zip(sheet.row_types(index), sheet.row_values(index))
        yield [_xls_value(kind, value, datemode) for kind, value in cells]


def _xls_value(kind, value, datemode):
    if kind == xlrd.XL_CELL_DATE:
        return _clean(xlrd.xldate.xldate_as_datetime(value, datemode))
    if kind == xlrd.XL_CELL_BOOLEAN:
        return bool(value)
    if kind == xlrd.XL_CELL_ERROR:
        return xlrd.error_text_from_code.get(value)
    return _clean(value)  # text, number, or "" for empty cells


# --- csv --------------------------------------------------------------------


def _read_csv(data, filename, bounds):
    if b"\x00" in data or data.startswith(OTHER_MAGICS):
        raise _not_a_spreadsheet(filename)
    encoding, text = _decode(data, filename)
    if text.lstrip(BLANKS).startswith("<"):
        raise SpreadsheetRefused(
            _(
                "This file is a web page or XML file, not a real spreadsheet. "
                "Open it in Excel or WPS and save it as an .xlsx workbook."
            )
        )
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_sniff_delimiter(text))
    try:
        rows = _collect(([value.strip(BLANKS) or None for value in record] for record in reader), bounds)
    except csv.Error as error:  # e.g. a field over csv.field_size_limit()
        raise _not_a_spreadsheet(filename) from error
    return RawTable(format="csv", encoding=encoding, sheet_name="", rows=rows)


def _decode(data, filename):
    """Excel saves "CSV UTF-8" with a BOM, WPS and older Excel save GBK (GB18030 is a superset)."""
    encodings = ("utf-8", "gb18030")
    if data.startswith(codecs.BOM_UTF8):
        encodings = ("utf-8-sig",) + encodings
    for encoding in encodings:
        try:
            return encoding, data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise _not_a_spreadsheet(filename)


def _sniff_delimiter(text):
    sample = text[:CSV_SNIFF_CHARS]
    if len(text) > CSV_SNIFF_CHARS and "\n" in sample:
        sample = sample[: sample.rindex("\n")]  # whole lines only
    try:
        return csv.Sniffer().sniff(sample, delimiters=CSV_DELIMITERS).delimiter
    except csv.Error:
        return ","
