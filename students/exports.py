"""Spreadsheets that leave the app: built with openpyxl, sent as .xlsx downloads."""
import io
from urllib.parse import quote

from django.http import HttpResponse
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.utils import get_column_letter

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
THIN = Side(style="thin", color="000000")
BORDER = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
CENTER = Alignment(horizontal="center", vertical="center", wrap_text=True)
BOLD = Font(bold=True)
COUNT_FORMAT = "#,##0"


def xlsx_response(workbook, file_name):
    buffer = io.BytesIO()
    workbook.save(buffer)
    response = HttpResponse(buffer.getvalue(), content_type=XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(file_name)}"
    return response


def distribution_workbook(table, today):
    """The distribution table as a bureau sends it upward: printable on A4 landscape.

    Columns: township, school, then for each stage and for the total three counts
    (total, in school, not in school) under a merged two-level header.
    """
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = _("Distribution")
    groups = [str(label) for _stage, label in table.stages] + [_("Total")]
    last_column = 2 + 3 * len(groups)

    _write_title(sheet, table, today, last_column)
    _write_header(sheet, groups)
    row_number = 5
    for block in table.blocks:
        first = row_number
        for school_row in block.schools:
            sheet.cell(row_number, 2, school_row.label)
            _write_counts(sheet, row_number, school_row)
            row_number += 1
        if block.schools:
            sheet.cell(first, 1, block.township.name)
            if row_number - 1 > first:
                sheet.merge_cells(start_row=first, end_row=row_number - 1, start_column=1, end_column=1)
        sheet.cell(row_number, 1, _("%(township)s subtotal") % {"township": block.township.name})
        sheet.merge_cells(start_row=row_number, end_row=row_number, start_column=1, end_column=2)
        _write_counts(sheet, row_number, block.subtotal, bold=True)
        row_number += 1
    sheet.cell(row_number, 1, _("Grand total"))
    sheet.merge_cells(start_row=row_number, end_row=row_number, start_column=1, end_column=2)
    _write_counts(sheet, row_number, table.grand_total, bold=True)

    _style_body(sheet, 5, row_number, last_column)
    _set_layout(sheet, last_column)
    return workbook


def _write_title(sheet, table, today, last_column):
    sheet.cell(1, 1, _("%(scope)s distribution of students from registered poor households by school") % {"scope": table.scope_name})
    sheet.cell(1, 1).font = Font(bold=True, size=16)
    sheet.cell(1, 1).alignment = CENTER
    sheet.merge_cells(start_row=1, end_row=1, start_column=1, end_column=last_column)
    sheet.row_dimensions[1].height = 30
    sheet.cell(2, 1, _("As of %(date)s. Unit: students.") % {"date": today.isoformat()})
    sheet.cell(2, 1).alignment = Alignment(horizontal="right")
    sheet.merge_cells(start_row=2, end_row=2, start_column=1, end_column=last_column)


def _write_header(sheet, groups):
    for column, label in ((1, _("Township")), (2, _("School"))):
        sheet.cell(3, column, label)
        sheet.merge_cells(start_row=3, end_row=4, start_column=column, end_column=column)
    for index, group in enumerate(groups):
        first = 3 + 3 * index
        sheet.cell(3, first, group)
        sheet.merge_cells(start_row=3, end_row=3, start_column=first, end_column=first + 2)
        for offset, label in enumerate((_("Total"), _("In school"), _("Not in school"))):
            sheet.cell(4, first + offset, label)
    for row in (3, 4):
        for column in range(1, 3 + 3 * len(groups)):
            cell = sheet.cell(row, column)
            cell.font = BOLD
            cell.alignment = CENTER
            cell.border = BORDER


def _write_counts(sheet, row_number, row, bold=False):
    column = 3
    for _stage, cell, _links in row.columns():
        for value in (cell.total, cell.in_school, cell.not_in_school):
            target = sheet.cell(row_number, column, value)
            target.number_format = COUNT_FORMAT
            column += 1
    if bold:
        for column_number in range(1, column):
            sheet.cell(row_number, column_number).font = BOLD


def _style_body(sheet, first_row, last_row, last_column):
    for row in sheet.iter_rows(min_row=first_row, max_row=last_row, max_col=last_column):
        for cell in row:
            cell.border = BORDER
            if cell.column <= 2:
                cell.alignment = Alignment(vertical="center", wrap_text=True)
            else:
                cell.alignment = Alignment(horizontal="right", vertical="center")


def _set_layout(sheet, last_column):
    sheet.column_dimensions["A"].width = 12
    sheet.column_dimensions["B"].width = 26
    for column in range(3, last_column + 1):
        sheet.column_dimensions[get_column_letter(column)].width = 7
    sheet.freeze_panes = "C5"
    sheet.print_title_rows = "3:4"
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.print_options.horizontalCentered = True
    sheet.page_margins.left = sheet.page_margins.right = 0.4
    sheet.page_margins.top = sheet.page_margins.bottom = 0.5
