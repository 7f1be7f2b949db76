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
import zipfile
from dataclasses import dataclass, field

import openpyxl
import xlrd
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import DefusedXMLParser, ParseError
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
# How an XML part begins: "<" (after a byte-order mark, or as UTF-16).
XML_STARTS = (b"<", b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff", b"\x00<")
XML_READ_SIZE = 4096
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


def read_table(fileobj, filename, *, max_bytes=20 * MB, max_rows=50_000, max_inflated_bytes=200 * MB):
    """Read a binary file object (a Django UploadedFile or an open file) into a RawTable.

    The format comes from the content; `filename` only chooses between "damaged"
    and "not a spreadsheet" when the content is unreadable. Raises SpreadsheetRefused.
    """
    data = _read_bytes(fileobj, max_bytes)
    if not data:
        raise SpreadsheetRefused(_("The file is empty."))
    if data.startswith(XLSX_MAGIC):
        return _read_xlsx(data, filename, max_rows, max_inflated_bytes)
    if data.startswith(OLE2_MAGIC):
        return _read_xls(data, max_rows)
    return _read_csv(data, filename, max_rows)


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

    openpyxl and xlrd raise all kinds of exceptions on corrupt input (KeyError,
    struct.error, XML syntax errors, defusedxml's refusals...), so nothing narrower works.
    """
    try:
        yield
    except SpreadsheetRefused:
        raise
    except Exception as error:
        logger.info("Unreadable spreadsheet refused", exc_info=True)
        raise _damaged() from error


def _collect(value_rows, max_rows):
    """Number the rows from 1, trim trailing empty cells, drop blank rows, enforce max_rows."""
    rows = []
    for number, values in enumerate(value_rows, start=1):
        while values and values[-1] is None:
            values.pop()
        if values:
            if len(rows) == max_rows:
                raise SpreadsheetRefused(_("The file has more than %(limit)s rows.") % {"limit": max_rows})
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


def _read_xlsx(data, filename, max_rows, max_inflated_bytes):
    buffer = io.BytesIO(data)
    _check_zip(buffer, filename, max_inflated_bytes)
    with _refuse_parser_errors():
        workbook = openpyxl.load_workbook(buffer, read_only=True, data_only=True)
    try:
        sheet = _first_visible(workbook.worksheets, lambda ws: ws.sheet_state == "visible")
        # Other tools write wrong <dimension> refs; openpyxl would cut rows and
        # columns at them, so always read up to the real last cell.
        sheet.reset_dimensions()
        with _refuse_parser_errors():
            value_rows = ([_clean(value) for value in row] for row in sheet.iter_rows(values_only=True))
            rows = _collect(value_rows, max_rows)
    finally:
        workbook.close()
    return RawTable(format="xlsx", encoding="", sheet_name=sheet.title, rows=rows)


def _check_zip(buffer, filename, max_inflated_bytes):
    """Refuse zips that are not workbooks, would inflate absurdly, or hold a DTD.

    The declared sizes can be trusted as a bound: zipfile never inflates a
    member beyond its declared file_size (a lie ends in a CRC error).
    """
    try:
        with zipfile.ZipFile(buffer) as archive:
            members = archive.infolist()
            _check_members(members, filename, max_inflated_bytes)
            for member in members:
                _check_xml_prolog(archive, member)
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


def _check_xml_prolog(archive, member):
    """Refuse an XML part that declares a DTD (entity bombs, external entities).

    A DTD can only come before the root element, so defusedxml reads each part up to its
    root element and no further. openpyxl then parses the parts with the C parser (see
    OPENPYXL_DEFUSEDXML in the settings), which can meet no entity declaration in them.
    Parts that are not XML (images, printer settings) are left to openpyxl.
    """
    with archive.open(member) as stream:
        block = stream.read(XML_READ_SIZE)
        if not block.lstrip().startswith(XML_STARTS):
            return
        parser = DefusedXMLParser(target=_StopAtRoot(), forbid_dtd=True)
        try:
            while block:
                parser.feed(block)
                block = stream.read(XML_READ_SIZE)
            parser.close()
        except _RootReached:
            return
        except DefusedXmlException as error:
            raise _damaged() from error
        except ParseError:
            return  # not well-formed before its root: openpyxl refuses it if it needs the part


class _RootReached(Exception):
    pass


class _StopAtRoot:
    """A parser target that stops at the root element: nothing after it can be a DTD."""

    def start(self, tag, attributes):
        raise _RootReached

    def close(self):
        return None


def _first_visible(sheets, is_visible):
    for sheet in sheets:
        if is_visible(sheet):
            return sheet
    raise _damaged()


# --- xls --------------------------------------------------------------------


def _read_xls(data, max_rows):
    if ENCRYPTED_PACKAGE in data:
        raise _password_protected()
    with _refuse_parser_errors():
        book = _open_xls(data)
        try:
            sheets = (book.sheet_by_index(index) for index in range(book.nsheets))
            sheet = _first_visible(sheets, lambda candidate: candidate.visibility == 0)
            rows = _collect(_xls_rows(sheet, book.datemode), max_rows)
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


def _read_csv(data, filename, max_rows):
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
        rows = _collect(([value.strip(BLANKS) or None for value in record] for record in reader), max_rows)
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
