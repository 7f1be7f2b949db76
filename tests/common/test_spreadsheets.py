"""Reading uploaded roster files into plain rows, and refusing the ones that cannot be read.

Every fixture is built here, in memory. No database is needed.
"""
import datetime
import io
import random
import re
import struct
import time
import zipfile

import openpyxl
import pytest
import xlrd
import xlwt
from defusedxml import DefusedXmlException
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation
from openpyxl.styles import Font

from common.spreadsheets import (
    MB,
    RawRow,
    RawTable,
    SpreadsheetRefused,
    read_table,
    table_from_json,
    table_to_json,
)

TITLE = "《XX县建档立卡学生花名册》"
HEADER = ["序号", "姓名", "身份证号", "学校", "出生日期", "金额"]
# An 18-digit ID number that Excel turned into a number: the last digits are lost.
ID_AS_FLOAT = 3.71324201205035e17
BORN_AT_MIDNIGHT = datetime.datetime(2010, 5, 1)  # a date cell: comes back as a date
ENROLLED_AT = datetime.datetime(2011, 6, 2, 8, 30)  # a date with a time of day stays a datetime
OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"

NOT_A_SPREADSHEET = "This file is not a spreadsheet. Upload an .xlsx, .xls or .csv file."
DAMAGED = "The file is damaged or not a complete Excel workbook."
PASSWORD = "The file is password-protected. Open it in Excel or WPS, remove the password and save it again."


@pytest.fixture(autouse=True)
def english():
    """Compare messages with their English msgids, whatever the catalog translates."""
    with translation.override("en"):
        yield


def xlsx_bytes(workbook):
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def read(data, filename="花名册.xlsx", **limits):
    return read_table(io.BytesIO(data), filename, **limits)


def refusal(data, filename="花名册.xlsx", **limits):
    with pytest.raises(SpreadsheetRefused) as caught:
        read(data, filename, **limits)
    return caught.value.message


def roster_workbook():
    """A roster as bureaus send it: title, blank row, header, data with gaps, formatted blank rows, total."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "花名册"
    sheet["A1"] = TITLE
    sheet.merge_cells("A1:F1")
    for column, label in enumerate(HEADER, start=1):
        sheet.cell(3, column, label)
    sheet.append([1, "\u3000张三\u00a0", ID_AS_FLOAT, " 兰陵县第一中学 ", BORN_AT_MIDNIGHT, 12.0])
    sheet.append([2, "李四\u200b", "371324201205035019", "兰陵县第二中学", ENROLLED_AT, 12.5])
    # Row 6 stays blank.
    sheet.append([])
    sheet.append([3, "王五", None, "兰陵县第三中学", None, None])
    for row in (8, 9):  # formatted but empty, as after deleting data in Excel
        for column in range(1, 7):
            sheet.cell(row, column).font = Font(bold=True)
    sheet.cell(10, 1, "合计")
    sheet.cell(10, 6, 24.5)
    return workbook


# --- xlsx -------------------------------------------------------------------


def test_xlsx_roster_rows_are_numbered_as_excel_shows_them():
    table = read(xlsx_bytes(roster_workbook()))

    assert (table.format, table.encoding, table.sheet_name) == ("xlsx", "", "花名册")
    assert [row.number for row in table.rows] == [1, 3, 4, 5, 7, 10]
    assert table.rows[0] == RawRow(1, [TITLE])  # merged cells after the anchor read as None, then trimmed
    assert table.rows[1].values == HEADER
    assert table.rows[-1].values == ["合计", None, None, None, None, 24.5]


def test_xlsx_values_are_cleaned():
    rows = read(xlsx_bytes(roster_workbook())).rows

    assert rows[2].values == [1, "张三", ID_AS_FLOAT, "兰陵县第一中学", BORN_AT_MIDNIGHT.date(), 12]
    assert type(rows[2].values[2]) is float
    assert type(rows[2].values[5]) is int
    assert rows[3].values == [2, "李四", "371324201205035019", "兰陵县第二中学", ENROLLED_AT, 12.5]
    assert rows[4].values == [3, "王五", None, "兰陵县第三中学"]  # trailing empty cells trimmed


def test_xlsx_blank_rows_at_the_top_keep_the_numbering():
    workbook = openpyxl.Workbook()
    workbook.active["B4"] = "姓名"
    workbook.active["B5"] = "张三"

    rows = read(xlsx_bytes(workbook)).rows

    assert rows == [RawRow(4, [None, "姓名"]), RawRow(5, [None, "张三"])]


def test_xlsx_uses_the_first_visible_sheet():
    workbook = openpyxl.Workbook()
    workbook.active.title = "说明"
    workbook.active["A1"] = "hidden notes"
    workbook.active.sheet_state = "hidden"
    workbook.create_sheet("数据")["A1"] = "张三"

    table = read(xlsx_bytes(workbook))

    assert table.sheet_name == "数据"
    assert table.rows == [RawRow(1, ["张三"])]


def replace_member(data, name, change):
    """Rewrite one member of a zip, as another tool would have written it."""
    source = zipfile.ZipFile(io.BytesIO(data))
    assert name in source.namelist()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = source.read(info)
            target.writestr(info.filename, change(content) if info.filename == name else content)
    return buffer.getvalue()


def test_xlsx_with_a_wrong_dimension_is_read_to_the_last_cell():
    workbook = openpyxl.Workbook()
    for number in range(1, 6):
        workbook.active.append([number, "张三", "兰陵县第一中学"])
    data = replace_member(
        xlsx_bytes(workbook), "xl/worksheets/sheet1.xml", lambda xml: xml.replace(b'ref="A1:C5"', b'ref="A1"')
    )

    rows = read(data).rows

    assert len(rows) == 5
    assert rows[-1] == RawRow(5, [5, "张三", "兰陵县第一中学"])


XML_DECLARATION = re.compile(rb"^\s*<\?xml[^>]*\?>")


def with_dtd(dtd, encoding="utf-8"):
    """Change a part so it declares `dtd` before its root element, in `encoding`."""

    def change(xml):
        body = XML_DECLARATION.sub(b"", xml).decode()
        return f'<?xml version="1.0" encoding="{encoding}"?>{dtd}{body}'.encode(encoding)

    return change


ENTITY_BOMB = (
    '<!DOCTYPE root [<!ENTITY lol "lol">'
    '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
)
EXTERNAL_ENTITY = '<!DOCTYPE root [<!ENTITY secret SYSTEM "file:///etc/passwd">]>'


@pytest.mark.parametrize(
    "part", ["xl/worksheets/sheet1.xml", "xl/styles.xml", "xl/workbook.xml", "[Content_Types].xml"]
)
@pytest.mark.parametrize("dtd", [ENTITY_BOMB, EXTERNAL_ENTITY], ids=["entity bomb", "external entity"])
def test_xlsx_whose_xml_declares_a_dtd_is_refused(part, dtd):
    workbook = openpyxl.Workbook()
    workbook.active["A1"] = "姓名"
    data = replace_member(xlsx_bytes(workbook), part, with_dtd(dtd))

    with pytest.raises(SpreadsheetRefused) as caught:
        read(data)

    assert caught.value.message == DAMAGED
    assert any(isinstance(cause, DefusedXmlException) for cause in causes(caught.value))


def test_xlsx_whose_sheet_is_utf16_with_a_dtd_is_refused():
    workbook = openpyxl.Workbook()
    workbook.active["A1"] = "姓名"
    data = replace_member(xlsx_bytes(workbook), "xl/worksheets/sheet1.xml", with_dtd(ENTITY_BOMB, "utf-16"))

    assert refusal(data) == DAMAGED


def test_xlsx_with_pictures_is_read():
    """Parts that are not XML pass the DTD check."""
    workbook = openpyxl.Workbook()
    workbook.active.append(["姓名", "学校"])
    workbook.active.append(["张三", "兰陵县第一中学"])
    data = add_member(xlsx_bytes(workbook), "xl/media/image1.png", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)

    assert read(data).rows == [RawRow(1, ["姓名", "学校"]), RawRow(2, ["张三", "兰陵县第一中学"])]


def test_xlsx_whose_sheet_is_utf16_without_a_dtd_is_refused_as_damaged():
    """Excel and WPS write UTF-8 parts; the reader (calamine) reads no other encoding."""
    workbook = openpyxl.Workbook()
    workbook.active.append(["姓名", "学校"])
    data = replace_member(xlsx_bytes(workbook), "xl/worksheets/sheet1.xml", with_dtd("", "utf-16"))

    assert refusal(data) == DAMAGED


def add_member(data, name, content):
    buffer = io.BytesIO(data)
    with zipfile.ZipFile(buffer, "a", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, content)
    return buffer.getvalue()


def causes(error):
    while error is not None:
        yield error
        error = error.__cause__ or error.__context__


def test_xlsx_row_limit():
    workbook = openpyxl.Workbook()
    for number in range(10):
        workbook.active.append([number])
    data = xlsx_bytes(workbook)

    assert len(read(data, max_rows=10).rows) == 10
    assert refusal(data, max_rows=9) == "The file has more than 9 rows."


def test_truncated_xlsx_is_refused_as_damaged():
    data = xlsx_bytes(roster_workbook())

    assert refusal(data[: len(data) // 2]) == DAMAGED


def zip_bytes(members):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def test_docx_is_not_a_spreadsheet():
    docx = zip_bytes({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<document/>"})

    assert refusal(docx, "通知.docx") == NOT_A_SPREADSHEET
    assert refusal(docx, "花名册.xlsx") == DAMAGED  # renamed or broken: either way not a complete workbook


def test_zip_bomb_is_refused_before_inflating():
    bomb = zip_bytes({"xl/workbook.xml": b"<workbook/>", "xl/worksheets/sheet1.xml": bytes(50 * MB)})
    assert len(bomb) < 100 * 1024

    started = time.perf_counter()
    message = refusal(bomb, max_inflated_bytes=10 * MB)

    assert time.perf_counter() - started < 0.5
    assert message == "The file expands to more than 10 MB when unpacked and was refused."


def test_zip_member_with_absurd_compression_ratio_is_refused():
    bomb = zip_bytes({"xl/workbook.xml": b"<workbook/>", "xl/worksheets/sheet1.xml": bytes(5 * MB)})

    assert refusal(bomb).startswith("The file is packed in an unusual way")


def understate_size(data, name, size):
    """Patch a member's uncompressed size in its local header and its central directory entry."""
    data = bytearray(data)
    encoded = name.encode()
    headers = ((b"PK\x03\x04", 26, 22, 30), (b"PK\x01\x02", 28, 24, 46))  # signature and field offsets
    for signature, name_length_at, size_at, name_at in headers:
        start = data.find(signature)
        while start != -1:
            (length,) = struct.unpack_from("<H", data, start + name_length_at)
            if data[start + name_at : start + name_at + length] == encoded:
                struct.pack_into("<I", data, start + size_at, size)
            start = data.find(signature, start + 4)
    return bytes(data)


def test_zip_that_understates_its_sizes_is_not_inflated():
    """The size checks trust ZipInfo.file_size: zipfile stops there and the CRC check fails."""
    workbook = openpyxl.Workbook()
    workbook.active["A1"] = "x"
    padding = b"<sheetData>" + b" " * 50 * MB
    padded = replace_member(
        xlsx_bytes(workbook), "xl/worksheets/sheet1.xml", lambda xml: xml.replace(b"<sheetData>", padding)
    )
    liar = understate_size(padded, "xl/worksheets/sheet1.xml", 2000)

    started = time.perf_counter()
    message = refusal(liar, max_inflated_bytes=1 * MB)

    assert time.perf_counter() - started < 0.5
    assert message == DAMAGED


# --- xls --------------------------------------------------------------------


def xls_bytes():
    book = xlwt.Workbook(encoding="utf-8")
    hidden = book.add_sheet("说明")
    hidden.write(0, 0, "hidden notes")
    hidden.visibility = 1
    sheet = book.add_sheet("花名册")
    sheet.write(0, 0, TITLE)
    for column, label in enumerate(HEADER):
        sheet.write(2, column, label)
    date_style = xlwt.easyxf(num_format_str="yyyy-mm-dd")
    sheet.write(3, 0, 1)
    sheet.write(3, 1, " 张三\u3000")
    sheet.write(3, 2, ID_AS_FLOAT)
    sheet.write(3, 3, "兰陵县第一中学")
    sheet.write(3, 4, datetime.date(2010, 5, 1), date_style)
    sheet.write(3, 5, 12.0)
    sheet.write(5, 1, True)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_xls_is_read_with_types():
    table = read(xls_bytes(), "花名册.xls")

    assert (table.format, table.encoding, table.sheet_name) == ("xls", "", "花名册")
    assert [row.number for row in table.rows] == [1, 3, 4, 6]
    assert table.rows[1].values == HEADER
    assert table.rows[2].values == [1, "张三", ID_AS_FLOAT, "兰陵县第一中学", BORN_AT_MIDNIGHT.date(), 12]
    assert [type(value) for value in table.rows[2].values] == [int, str, float, str, datetime.date, int]
    assert table.rows[3].values == [None, True]


def test_xls_row_limit():
    assert refusal(xls_bytes(), "花名册.xls", max_rows=3) == "The file has more than 3 rows."


def test_corrupt_xls_is_refused_as_damaged():
    data = xls_bytes()

    assert refusal(data[:2048], "花名册.xls") == DAMAGED


@pytest.mark.parametrize(
    "error, message",
    [
        ("Workbook is encrypted", PASSWORD),
        ("Can't find workbook in OLE2 compound document", NOT_A_SPREADSHEET),
        ("Unsupported format, or corrupt file: Expected BOF record", DAMAGED),
    ],
)
def test_xlrd_errors_become_messages(monkeypatch, error, message):
    def fail(**kwargs):
        raise xlrd.XLRDError(error)

    monkeypatch.setattr(xlrd, "open_workbook", fail)

    assert refusal(xls_bytes(), "花名册.xls") == message


def test_encrypted_xlsx_is_refused_as_password_protected():
    ole = OLE2_MAGIC + bytes(504) + "EncryptedPackage".encode("utf-16-le") + bytes(512)

    assert refusal(ole) == PASSWORD


# --- csv --------------------------------------------------------------------

ROSTER_CSV = "姓名,学校\r\n张三,兰陵县第一中学\r\n{name},兰陵县第二中学\r\n"


@pytest.mark.parametrize(
    "encoding, name, expected_encoding",
    [
        ("utf-8-sig", "刘䶮", "utf-8-sig"),  # Excel's "CSV UTF-8"
        ("utf-8", "刘䶮", "utf-8"),
        ("gbk", "李岩", "gb18030"),  # WPS and older Excel
        ("gb18030", "刘䶮", "gb18030"),  # 䶮 is outside GBK
    ],
)
def test_csv_encodings(encoding, name, expected_encoding):
    data = ROSTER_CSV.format(name=name).encode(encoding)

    table = read(data, "花名册.csv")

    assert (table.format, table.encoding, table.sheet_name) == ("csv", expected_encoding, "")
    assert table.rows == [
        RawRow(1, ["姓名", "学校"]),
        RawRow(2, ["张三", "兰陵县第一中学"]),
        RawRow(3, [name, "兰陵县第二中学"]),
    ]


@pytest.mark.parametrize("delimiter", ["\t", ";"])
def test_csv_delimiter_is_detected(delimiter):
    text = "姓名|学校|金额\n张三|兰陵县第一中学, 东校区|12\n".replace("|", delimiter)

    rows = read(text.encode(), "花名册.txt").rows

    assert rows[1].values == ["张三", "兰陵县第一中学, 东校区", "12"]


def test_csv_blank_records_are_skipped_and_values_stripped():
    text = (
        "姓名,学校,备注\n"
        "\n"
        ",,\n"
        '\u3000张三\u00a0, 兰陵县第一中学 ,""\n'
        '"李四","第二中学\n东校区",\n'  # a quoted line break: one record over two lines
    )

    rows = read(text.encode(), "花名册.csv").rows

    assert rows == [
        RawRow(1, ["姓名", "学校", "备注"]),
        RawRow(4, ["张三", "兰陵县第一中学"]),
        RawRow(5, ["李四", "第二中学\n东校区"]),
    ]


def test_csv_row_limit():
    data = "".join(f"{number},张三\n" for number in range(11)).encode()

    assert refusal(data, "花名册.csv", max_rows=10) == "The file has more than 10 rows."


def test_html_saved_as_xls_is_refused_with_advice():
    page = "<html><body><table><tr><td>张三</td></tr></table></body></html>".encode()

    assert refusal(page, "花名册.xls").startswith("This file is a web page or XML file")


# --- other refusals ---------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        b"\x89PNG\r\n\x1a\n",
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00",
        b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n",
        random.Random(0).randbytes(4096) + b"\x00",
        b"\xff\xfe\xfd\xfc" * 100,  # no NUL, but undecodable in all three encodings
    ],
    ids=["png-magic", "png", "pdf", "random", "undecodable"],
)
def test_other_files_are_not_spreadsheets(data):
    assert refusal(data, "扫描件") == NOT_A_SPREADSHEET


def test_empty_file_is_refused():
    assert refusal(b"", "花名册.csv") == "The file is empty."


class CountingFile(io.BytesIO):
    def __init__(self, data):
        super().__init__(data)
        self.reads = 0

    def read(self, *args):
        self.reads += 1
        return super().read(*args)


def test_oversized_file_is_refused_without_reading_it():
    upload = CountingFile(b"a,b\n" * (MB // 4) + b"x")

    with pytest.raises(SpreadsheetRefused) as caught:
        read_table(upload, "花名册.csv", max_bytes=1 * MB)

    assert caught.value.message == "The file is larger than 1 MB."
    assert upload.reads == 0


def test_file_of_exactly_max_bytes_is_read():
    table = read((b"x" * 1023 + b"\n") * 1024, "花名册.csv", max_bytes=1 * MB)

    assert len(table.rows) == 1024


def test_format_comes_from_the_content_not_the_name():
    assert read(xlsx_bytes(roster_workbook()), "花名册.csv").format == "xlsx"
    assert read(xls_bytes(), "花名册.xlsx").format == "xls"
    assert read(ROSTER_CSV.encode(), "花名册.xls").format == "csv"


def test_django_upload_is_read():
    upload = SimpleUploadedFile("花名册.xlsx", xlsx_bytes(roster_workbook()))

    assert len(read_table(upload, upload.name).rows) == 6


def test_refusal_carries_its_message():
    error = SpreadsheetRefused("消息")

    assert error.message == str(error) == "消息"


def test_a_table_kept_as_json_reads_back_the_same():
    table = read(xlsx_bytes(roster_workbook()))
    table.rows.append(RawRow(99, ["文本", 7, 2.5, ID_AS_FLOAT, True, None, datetime.date(2010, 5, 1), ENROLLED_AT]))

    assert table_from_json(table_to_json(table)) == table
    assert type(table_from_json(table_to_json(table)).rows[-1].values[3]) is float


def test_a_time_of_day_is_kept_as_its_text():
    table = RawTable("xlsx", "", "Sheet", [RawRow(1, [datetime.time(8, 30)])])

    assert table_from_json(table_to_json(table)).rows == [RawRow(1, ["08:30:00"])]
