"""The county summary workbook: one sheet per topic of the dashboard, ready to send upward."""
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from aid.casework.coverage import coverage_rows, figure_cells
from common.excel import BOLD, BORDER, CENTER, COUNT_FORMAT, MONEY_FORMAT


def county_summary_workbook(board, *, scope, today):
    workbook = Workbook()
    workbook.remove(workbook.active)
    title = _("%(scope)s student aid summary") % {"scope": scope}
    term = board.term.name if board.term else "—"

    rows = [[row.label, *[row.counts[status] for status, _label in board.statuses], row.total] for row in board.stages]
    totals = [_("Total"), *[sum(r[i] for r in rows) for i in range(1, len(board.statuses) + 2)]]
    sheet(workbook, pgettext("summary sheet", "Students"), title, today, [_("Stage"), *[label for _s, label in board.statuses], _("Total")], rows, totals, COUNT_FORMAT)

    sheet(
        workbook, pgettext("summary sheet", "Pairing"), title, today, [_("Students on the roster"), _("Paired"), _("Not paired"), _("Share paired (%)")],
        [[board.total, board.paired, board.unpaired, board.paired_share]], None, COUNT_FORMAT,
    )

    coverage = board.coverage
    sheet(
        workbook, pgettext("summary sheet", "Home visits"), f"{title} · {term}", today,
        [_("Township"), _("School"), _("Students"), _("Visited"), _("Not visited"), _("Coverage (%)")],
        [values for _subtotal, values in coverage_rows(coverage, subtotals=False)] if coverage else [],
        [_("Total"), "", *figure_cells(coverage.total)] if coverage else None,
        COUNT_FORMAT,
    )

    money_rows = [[m.name, m.planned_count, m.planned, m.paid_count, m.paid, m.open_findings] for m in board.money]
    money_total = [_("Total"), sum(m.planned_count for m in board.money), board.planned_total,
                   sum(m.paid_count for m in board.money), board.paid_total, board.open_findings]
    money_sheet = sheet(
        workbook, pgettext("summary sheet", "Aid"), f"{title} · {term}", today,
        [_("Aid program"), _("Students planned"), _("Amount planned"), _("Students paid"), _("Amount paid"), _("Open precision findings")],
        money_rows, money_total, COUNT_FORMAT,
    )
    for row in money_sheet.iter_rows(min_row=4, min_col=3, max_col=5):
        for cell in row:
            if cell.column in (3, 5):
                cell.number_format = MONEY_FORMAT

    sheet(
        workbook, pgettext("summary sheet", "Dropout control"), title, today,
        [_("Open dropout cases"), _("Days the oldest has been open")],
        [[board.open_cases, board.oldest_case_days if board.oldest_case_days is not None else "—"]], None, COUNT_FORMAT,
    )
    sheet(
        workbook, pgettext("summary sheet", "Supervision"), title, today,
        [_("Overdue rectification items"), _("School pairings with no activity this term")],
        [[board.overdue_rectifications, board.idle_school_pairings]], None, COUNT_FORMAT,
    )
    return workbook


def sheet(workbook, name, title, today, headers, rows, total, number_format):
    """A titled, bordered table: title row, date row, header, rows, total in bold."""
    ws = workbook.create_sheet(name)
    width = len(headers)
    ws.cell(1, 1, title).font = Font(bold=True, size=14)
    ws.merge_cells(start_row=1, end_row=1, start_column=1, end_column=width)
    ws.cell(2, 1, _("As of %(date)s") % {"date": today.isoformat()})
    ws.merge_cells(start_row=2, end_row=2, start_column=1, end_column=width)
    ws.append(headers)
    for cell in ws[3]:
        cell.font = BOLD
        cell.alignment = CENTER
        cell.border = BORDER
    for values in rows + ([total] if total else []):
        ws.append(values)
        for cell in ws[ws.max_row]:
            cell.border = BORDER
            if isinstance(cell.value, int):
                cell.number_format = number_format
    if total:
        for cell in ws[ws.max_row]:
            cell.font = BOLD
    for column in range(1, width + 1):
        ws.column_dimensions[get_column_letter(column)].width = 16 if column > 1 else 22
    ws.freeze_panes = "A4"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    return ws
