"""The registry's spreadsheets: the distribution table, the student export (in the importer's
columns, so an export imports again), the roster template and the import's error report,
and the log of exports that carry personal data."""
import datetime

from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from common.excel import (
    BOLD,
    BORDER,
    CENTER,
    COUNT_FORMAT,
    FORMULA_STARTS,
    ExportColumn,
    choice_labels,
    set_a4_print,
    text_cell,
)
from common import masking

from . import idnumber
from .choices import Gender, HouseholdCategory, PovertyCause, Stage
from .importer import COLUMNS
from .models import ExportLog, Student


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
    sheet.cell(1, 1, table.title)
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
    widths = [ExportColumn("", 12), ExportColumn("", 26)] + [ExportColumn("", 7)] * (last_column - 2)
    sheet.freeze_panes = "C5"
    set_a4_print(sheet, widths, title_rows="3:4", orientation="landscape")



STUDENT_COLUMNS = (
    # The headers are the importer's canonical ones: an export can be imported again.
    ExportColumn("姓名", 10),
    ExportColumn("性别", 6),
    ExportColumn("身份证号", 21),
    ExportColumn("出生日期", 12),
    ExportColumn("学籍号", 22),
    ExportColumn("学校", 26),
    ExportColumn("学段", 8),
    ExportColumn("年级", 12),
    ExportColumn("班级", 8),
    ExportColumn("在校情况", 10),
    ExportColumn("乡镇", 12),
    ExportColumn("村", 12),
    ExportColumn("户主姓名", 10),
    ExportColumn("建档立卡户编号", 18),
    ExportColumn("家庭类别", 16),
    ExportColumn("致贫原因", 12),
    ExportColumn("监护人", 10),
    ExportColumn("联系电话", 14),
    ExportColumn("备注", 20),
)

BIRTH_COLUMN = 3
STUDENT_NUMBER_COLUMN = 4


def student_columns(user):
    """The student export's columns; a user who sees masked ID numbers gets the birth year."""
    if user.sees_full_id_numbers:
        return STUDENT_COLUMNS
    columns = list(STUDENT_COLUMNS)
    columns[BIRTH_COLUMN] = ExportColumn("出生年份", 10, "0")
    return columns


STUDENT_EXPORT_FIELDS = (
    "name", "gender", "id_number", "birth_date", "student_number", "school__name", "stage",
    "grade", "class_name", "status", "household__township__name", "household__village",
    "household__head_name", "household__registration_number", "household__category",
    "household__poverty_cause", "household__guardian_name", "household__guardian_phone", "note",
)



def student_export_rows(students, user):
    """Rows of the student export, read with values_list in chunks (no model instances)."""
    # Labels translated once, not once per row.
    labels = {
        index: choice_labels(Student, name)
        for index, name in enumerate(STUDENT_EXPORT_FIELDS)
        if name in ("gender", "stage", "grade", "status")
    }
    labels[14] = {value: str(label) for value, label in HouseholdCategory.choices}
    labels[15] = {value: str(label) for value, label in PovertyCause.choices}
    mask_id = not user.sees_full_id_numbers
    mask_phone_number = not user.sees_full_phones
    for values in students.values_list(*STUDENT_EXPORT_FIELDS).iterator(chunk_size=5000):
        row = list(values)
        for index, choices in labels.items():
            if row[index]:
                row[index] = choices.get(row[index], row[index])
        if mask_id:
            row[2] = masking.mask_id_number(row[2])
            row[BIRTH_COLUMN] = row[BIRTH_COLUMN].year
            row[STUDENT_NUMBER_COLUMN] = masking.mask_id_number(row[STUDENT_NUMBER_COLUMN])
        if mask_phone_number:
            row[17] = masking.mask_phone(row[17])
        yield row



def log_export(*, user, list_name, query, row_count):
    """Keep who took personal data out, when, with which filter, how many rows and
    whether masked: for every role, masked exports too."""
    ExportLog.objects.create(
        user=user, list_name=list_name, query=query[:1000], row_count=row_count,
        id_numbers_masked=not user.sees_full_id_numbers, phones_masked=not user.sees_full_phones,
    )



def roster_template_workbook():
    """The blank roster: canonical headers, one sample row, drop-downs for coded columns."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "花名册"
    headers = [column.header for column in COLUMNS]
    sheet.append(headers)
    sample_id = idnumber.make("371324", datetime.date(2012, 5, 3), 123)
    sheet.append([
        "张小明", "男", sample_id, f"G{sample_id}", "向城镇中心小学",
        "小学", "三年级", "1班", "在校", "向城镇", "王庄村", "张大山", "", "建档立卡已脱贫",
        "因病", "张大山", "13812345678", "",
    ])
    for index, column in enumerate(COLUMNS, start=1):
        cell = sheet.cell(1, index)
        cell.font = BOLD
        cell.alignment = CENTER
        sheet.column_dimensions[get_column_letter(index)].width = max(10, len(column.header) * 2 + 4)
        if column.key in ("id_number", "student_number", "guardian_phone", "registration_number"):
            for row in range(2, 1002):
                sheet.cell(row, index).number_format = "@"  # text, so Excel keeps every digit
    drop_downs = {
        "gender": [str(label) for label in Gender.labels],
        "stage": [str(label) for label in Stage.labels],
        "status": ["在校", "送教上门", "休学", "辍学", "失学", "未入学", "县外就读", "转出", "毕业"],
        "category": [str(label) for label in HouseholdCategory.labels],
    }
    for index, column in enumerate(COLUMNS, start=1):
        if column.key in drop_downs:
            letter = get_column_letter(index)
            validation = DataValidation(
                type="list", formula1='"' + ",".join(drop_downs[column.key]) + '"', allow_blank=True
            )
            validation.add(f"{letter}2:{letter}1001")
            sheet.add_data_validation(validation)
    sheet.freeze_panes = "A2"
    return workbook



def error_report_workbook(plan, table):
    """The file's own rows with an error column, for fixing and importing again."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(_("Errors"))
    errors_by_row = {}
    for error in plan.errors:
        errors_by_row.setdefault(error.row_number, []).append(f"{error.column}：{error.message}")
    header = table.rows[plan.header.row_index]
    sheet.append([_("Row"), *header.values, _("Errors")])
    for missing in plan.header.missing_required:
        sheet.append(["", _("Missing column: %(column)s") % {"column": missing}])
    for row in table.rows[plan.header.row_index + 1:]:
        if row.number in errors_by_row:
            values = [text_cell(sheet, v) if isinstance(v, str) and v.startswith(FORMULA_STARTS) else v for v in row.values]
            values += [None] * (len(header.values) - len(values))
            sheet.append([row.number, *values, "；".join(errors_by_row[row.number])])
    return workbook
