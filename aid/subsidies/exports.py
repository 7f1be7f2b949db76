"""The subsidy spreadsheets: a school's signature roster (花名册), the term summary by
school and by program, and the precision findings.

The roster and the summary print like the distribution table (borders, a merged title,
A4, the header repeated on every page, fitted to the page width); money is written as
numbers with two decimals, summed in the database or with Decimal, never with floats.
"""
from decimal import Decimal

from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.utils import get_column_letter

from aid.subsidies.models import DisbursementLine, PrecisionResolution
from common.excel import (
    BOLD,
    COUNT_FORMAT,
    FORMULA_STARTS,
    LEFT,
    MONEY_FORMAT,
    CellStyle,
    ExportColumn,
    SheetRows,
    append_header,
    append_title,
    choice_labels,
    facts_row,
    merge,
    put_cell,
    save_with_rows,
    set_a4_print,
    style_table,
    table_style,
    text_cell,
    write_header,
    write_title,
)
from common.masking import id_number_for, mask_id_number
from students.models import Student

SIGNING_ROW_HEIGHT = 30  # points: room for a handwritten signature
Kind = PrecisionResolution.Kind
LineStatus = DisbursementLine.Status


# ---------------------------------------------------------------------------------------
# Signature roster (花名册) of one school
# ---------------------------------------------------------------------------------------


def roster_columns():
    return (
        ExportColumn(_("No."), 6),
        ExportColumn(_("Name"), 10),
        ExportColumn(_("Gender"), 6),
        ExportColumn(_("ID number"), 21),
        ExportColumn(_("Stage"), 8),
        ExportColumn(_("Grade"), 9),
        ExportColumn(_("Class"), 8),
        ExportColumn(_("Amount"), 11, MONEY_FORMAT),
        ExportColumn(_("Recipient's signature"), 22),
        ExportColumn(_("Note"), 18),
    )


def roster_xlsx(file, *, batch, school, rows, total, user):
    """Write the roster to `file`: one row per line to sign for (`rows`, from roster_rows),
    a bold total row (the database's count and sum) and the names of the people who prepared
    and approved the batch under the table.

    A school can have ten thousand lines in one batch: openpyxl writes the title, the header
    and the page layout, and the rows go through SheetRows, which writes them (bordered, 30
    points high) without a styled cell object per value (openpyxl's normal mode took 5 s and
    more for such a school, most of it hashing each cell's style)."""
    columns = roster_columns()
    last = len(columns)
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(_("Signature roster"))
    set_a4_print(sheet, columns, title_rows="1:3", orientation="portrait")
    append_title(sheet, _("%(term)s %(program)s signature roster") % {
        "term": batch.term.name, "program": batch.program.name,
    }, last)
    sheet.append(facts_row(sheet, 2, [
        (1, 3, _("Aid program: %(name)s") % {"name": batch.program.name}),
        (4, 6, _("Term: %(name)s") % {"name": batch.term.name}),
        (7, last, _("School: %(name)s") % {"name": school.name}),
    ]))
    append_header(sheet, columns)
    body = SheetRows(sheet, [table_style(column) for column in columns], height=SIGNING_ROW_HEIGHT, styled_blanks=True)
    bold = SheetRows(sheet, [table_style(column, BOLD) for column in columns], height=SIGNING_ROW_HEIGHT, styled_blanks=True)
    facts = SheetRows(sheet, [CellStyle(alignment=LEFT)] * last)
    total_row = 4 + len(rows)
    merge(sheet, total_row, 1, 7)
    preparers = [batch.prepared_by]
    if batch.submitted_by_id and batch.submitted_by_id != batch.prepared_by_id:
        preparers.append(batch.submitted_by)
    signed = [
        (1, 3, _("Prepared by: %(names)s") % {"names": "、".join(str(person) for person in preparers)}),
        (4, 6, _("Approved by: %(name)s") % {"name": batch.approved_by or ""}),
        (7, last, _("Date: %(date)s") % {"date": batch.paid_on.isoformat() if batch.paid_on else ""}),
    ]
    signed_values = [None] * last
    for first, end, text in signed:
        signed_values[first - 1] = text
        merge(sheet, total_row + 2, first, end)

    def write_rows(stream):
        body.write(stream, rows, first_row=4)
        total_values = [None] * last
        total_values[0] = _("Total: %(count)s students") % {"count": total["count"]}
        total_values[7] = total["amount"]
        stream.write(bold.row(total_row, total_values).encode())
        stream.write(facts.row(total_row + 2, signed_values).encode())

    # Made while the user waits: zlib's fastest level (a 10,000-line roster compresses in
    # 16 ms instead of 60 ms, to 0.66 MB instead of 0.54 MB).
    save_with_rows(workbook, sheet, file, write_rows, compresslevel=1)


# The line's fields roster_rows reads, in its order.
ROSTER_FIELDS = (
    "student__name", "student__gender", "student__id_number", "stage", "student__grade",
    "student__class_name", "amount", "amount_reason", "status", "result_reason",
)


def roster_rows(lines, user):
    """The roster's rows in roster_columns() order, as the workbook and the print page show
    them, from `lines.values_list(*ROSTER_FIELDS)` (labels translated once, not per row)."""
    genders = choice_labels(Student, "gender")
    stages = choice_labels(DisbursementLine, "stage")
    grades = choice_labels(Student, "grade")
    statuses = choice_labels(DisbursementLine, "status")
    shown_as_is = user.sees_full_id_numbers
    rows = []
    for number, (name, gender, id_number, stage, grade, class_name, amount, amount_reason, status,
                 result_reason) in enumerate(lines, start=1):
        rows.append([
            number, name, genders.get(gender, gender), id_number if shown_as_is else mask_id_number(id_number),
            stages.get(stage, stage), grades.get(grade, grade), class_name, amount, "",
            roster_note(amount_reason, status, statuses.get(status, status), result_reason),
        ])
    return rows


def roster_note(amount_reason, status, status_label, result_reason):
    notes = [amount_reason]
    if status in (LineStatus.RETURNED, LineStatus.FAILED):
        notes.append(f"{status_label}：{result_reason}")
    return "；".join(note for note in notes if note)


# ---------------------------------------------------------------------------------------
# Term summary: by school and by program
# ---------------------------------------------------------------------------------------

FIGURES = (
    ("planned_count", COUNT_FORMAT),
    ("planned_amount", MONEY_FORMAT),
    ("paid_count", COUNT_FORMAT),
    ("paid_amount", MONEY_FORMAT),
    ("failed_count", COUNT_FORMAT),
    ("failed_amount", MONEY_FORMAT),
)


def figure_columns():
    headers = (
        _("Planned students"), _("Planned amount"), _("Paid students"), _("Paid amount"),
        _("Returned or failed"), _("Returned or failed amount"),
    )
    return [ExportColumn(header, 12, number_format) for header, (_key, number_format) in zip(headers, FIGURES)]


def summary_workbook(*, term, program, by_school, by_program):
    """Two sheets of the same figures, per school and per program, each with a total row.
    The rows are the database's aggregates; the totals add them up as Decimal."""
    if program is None:
        title = _("%(term)s subsidy summary") % {"term": term.name}
    else:
        title = _("%(term)s %(program)s subsidy summary") % {"term": term.name, "program": program.name}
    workbook = Workbook()
    schools = workbook.active
    schools.title = _("By school")
    _summary_sheet(
        schools, title, [ExportColumn(_("Township"), 12), ExportColumn(_("School"), 26)],
        [((row["school__region__name"], row["school__name"]), row) for row in by_school],
    )
    programs = workbook.create_sheet(_("By program"))
    _summary_sheet(
        programs, title, [ExportColumn(_("Aid program"), 28)],
        [((row["program__name"],), row) for row in by_program],
    )
    return workbook


def _summary_sheet(sheet, title, label_columns, rows):
    columns = [*label_columns, *figure_columns()]
    labels = len(label_columns)
    write_title(sheet, title, len(columns))
    write_header(sheet, 2, columns)
    totals = {key: Decimal("0.00") if key.endswith("amount") else 0 for key, _format in FIGURES}
    row_number = 3
    for label_values, figures in rows:
        values = [*label_values, *(figures[key] for key, _format in FIGURES)]
        for column, value in enumerate(values, start=1):
            put_cell(sheet, row_number, column, value)
        for key in totals:
            totals[key] += figures[key]
        row_number += 1
    put_cell(sheet, row_number, 1, _("Total"))
    if labels > 1:
        sheet.merge_cells(start_row=row_number, end_row=row_number, start_column=1, end_column=labels)
    for column, (key, _format) in enumerate(FIGURES, start=labels + 1):
        put_cell(sheet, row_number, column, totals[key])
    for column in range(1, len(columns) + 1):
        sheet.cell(row_number, column).font = BOLD
    style_table(sheet, 3, row_number, columns)
    set_a4_print(sheet, columns, title_rows="1:2", orientation="portrait")


# ---------------------------------------------------------------------------------------
# Precision findings: a sheet per kind, and the resolved ones
# ---------------------------------------------------------------------------------------


def sheet_titles():
    """Short titles: a sheet name has at most 31 characters."""
    return {
        Kind.MISSED: _("Missed"),
        Kind.DUPLICATE: _("Duplicate"),
        Kind.INELIGIBLE: _("Not eligible"),
        Kind.AMOUNT: _("Amount off the standard"),
        Kind.OFF_ROSTER: _("Off the roster"),
    }


def finding_description(finding):
    """What is wrong, in a few words, for the page and the export."""
    if finding.kind == Kind.DUPLICATE:
        return _("%(count)s lines for one ID number") % {"count": len(finding.lines)}
    if finding.kind == Kind.OFF_ROSTER and finding.student.left_roster_on:
        return _("Left the roster on %(date)s") % {"date": finding.student.left_roster_on.isoformat()}
    return finding.detail


def finding_columns():
    return [
        ExportColumn(_("Name"), 10),
        ExportColumn(_("ID number"), 21),
        ExportColumn(_("School"), 26),
        ExportColumn(_("Stage"), 8),
        ExportColumn(_("Grade"), 9),
        ExportColumn(_("What is wrong"), 30),
        ExportColumn(_("Amount"), 11, MONEY_FORMAT),
    ]


def finding_values(finding, user):
    student = finding.student
    amounts = [line.amount for line in finding.lines]
    return [
        student.name,
        id_number_for(user, student.id_number),
        student.school.name,
        student.get_stage_display(),
        student.get_grade_display(),
        finding_description(finding),
        sum(amounts, Decimal("0.00")) if amounts else None,
    ]


def precision_workbook(report, user):
    """The open findings, one sheet per kind, and a sheet of the resolved ones with what
    was found. Returns the workbook and the number of rows written."""
    workbook = Workbook(write_only=True)
    titles = sheet_titles()
    row_count = 0
    for kind, findings in report.findings.items():
        rows = [finding_values(finding, user) for finding in findings]
        _write_only_sheet(workbook, titles[kind], finding_columns(), rows)
        row_count += len(rows)
    kinds = dict(Kind.choices)
    resolved_columns = [
        ExportColumn(_("Kind"), 16), *finding_columns(),
        ExportColumn(_("What was found and done"), 36), ExportColumn(_("Resolved by"), 10),
        ExportColumn(_("Resolved at"), 17),
    ]
    rows = [
        [
            str(kinds[finding.kind]), *finding_values(finding, user), finding.resolution.note,
            str(finding.resolution.resolved_by),
            timezone.localtime(finding.resolution.resolved_at).strftime("%Y-%m-%d %H:%M"),
        ]
        for finding in report.resolved
    ]
    _write_only_sheet(workbook, _("Resolved"), resolved_columns, rows)
    return workbook, row_count + len(rows)


def _write_only_sheet(workbook, title, columns, rows):
    sheet = workbook.create_sheet(title)
    for index, column in enumerate(columns, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = column.width
    sheet.freeze_panes = "A2"
    header = []
    for column in columns:
        cell = WriteOnlyCell(sheet, value=column.header)
        cell.font = BOLD
        header.append(cell)
    sheet.append(header)
    for values in rows:
        cells = []
        for column, value in zip(columns, values):
            if isinstance(value, str) and value.startswith(FORMULA_STARTS):
                cell = text_cell(sheet, value)
            else:
                cell = WriteOnlyCell(sheet, value=value)
                if column.number_format:
                    cell.number_format = column.number_format
            cells.append(cell)
        sheet.append(cells)


# ---------------------------------------------------------------------------------------
# Printable layout
# ---------------------------------------------------------------------------------------


