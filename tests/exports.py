"""Reading back what an export view sent, for the tests of every list's Excel export."""
import io
import urllib.parse

import openpyxl

from common.excel import XLSX_CONTENT_TYPE


def exported_rows(response):
    """The rows of the exported workbook's first sheet, header first, as tuples of values,
    each as wide as the header (empty cells are None)."""
    assert response.status_code == 200
    assert response["Content-Type"] == XLSX_CONTENT_TYPE
    content = b"".join(response.streaming_content) if response.streaming else response.content
    sheet = openpyxl.load_workbook(io.BytesIO(content), read_only=True).worksheets[0]
    rows = [tuple(row) for row in sheet.iter_rows(values_only=True)]
    width = len(rows[0])
    return [row + (None,) * (width - len(row)) for row in rows]


def exported_file_name(response):
    """The file name the browser saves the export under."""
    return urllib.parse.unquote(response["Content-Disposition"].split("''", 1)[1])
