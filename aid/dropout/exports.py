"""The three dropout-control ledgers (控辍保学台账) as rows, for the page and for Excel.

The rows come from aid.dropout.ledgers (which applies the user's scope and reads the past as it
was); this module only lays them out: one list of values per entry, ID numbers and phone
numbers masked for the roles that may not see them, and the workbook in the usual printed
layout (a merged title, the reporting unit and period, a bold bordered header repeated on
every page, A4 landscape fitted to the page width).

A ledger's rows are counted and sliced in SQL (a page builds its 100 rows alone) and
iterated in batches; the workbook is written in openpyxl's write-only mode to a temporary
file, so neither the print view nor the export holds a whole county in memory.
"""
import tempfile
from dataclasses import dataclass

from django.db import models
from django.http import FileResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from openpyxl import Workbook

from aid.dropout.ledgers import (
    Period,
    dropout_ledger,
    school_age_ledger,
    suspected_dropout_ledger,
)
from aid.dropout.models import DropoutCase, PersuasionAttempt
from common.excel import (
    DATE_FORMAT,
    WHOLE_NUMBER,
    XLSX_CONTENT_TYPE,
    ExportColumn,
    SheetRows,
    append_header,
    append_title,
    attachment_header,
    choice_labels,
    facts_row,
    save_with_rows,
    set_a4_print,
    table_style,
)
from common.masking import birth_date_for, id_number_for, phone_for
from students.models import Student

HEADER_ROW = 3


class LedgerKind(models.TextChoices):
    SCHOOL_AGE = "school_age", gettext_lazy("School-age children ledger")
    SUSPECTED = "suspected", gettext_lazy("Suspected dropouts ledger")
    DROPOUT = "dropout", gettext_lazy("Dropouts ledger")


class LedgerRows:
    """A ledger's rows, numbered (序号) from 1: `count()` and slices ask the database for
    the count and for the entries of the slice alone; iterating goes through every row, a
    batch of entries at a time. `row(number, entry)` lays out one entry."""

    def __init__(self, entries, row):
        self.entries = entries
        self.row = row

    def count(self):
        return self.entries.count()

    def __len__(self):
        return self.entries.count()

    def __getitem__(self, index):
        if not isinstance(index, slice):
            return self[index : index + 1][0]
        first = index.start or 0
        return [self.row(number, entry) for number, entry in enumerate(self.entries[index], start=first + 1)]

    def __iter__(self):
        for number, entry in enumerate(self.entries, start=1):
            yield self.row(number, entry)


@dataclass(frozen=True)
class Ledger:
    kind: str
    period: Period
    unit: str  # the reporting unit: the user's county, grid or school
    title: str
    columns: tuple
    rows: LedgerRows


def build_ledger(kind, user, period, today=None):
    """The ledger `kind` of the user's scope for `period`, titled with the scope's name."""
    today = today or timezone.localdate()
    columns, rows = BUILDERS[kind](user, period, today)
    titles = {
        LedgerKind.SCHOOL_AGE: _("%(scope)s dropout-control ledger of school-age children (%(period)s)"),
        LedgerKind.SUSPECTED: _("%(scope)s dropout-control ledger of suspected dropouts (%(period)s)"),
        LedgerKind.DROPOUT: _("%(scope)s dropout-control ledger of dropouts (%(period)s)"),
    }
    unit = str(user.scope_label)
    title = titles[kind] % {"scope": unit, "period": period_name(period)}
    return Ledger(kind=kind, period=period, unit=unit, title=title, columns=columns, rows=rows)


def period_name(period):
    if "Q" in period.label:
        quarter = (period.starts_on.month - 1) // 3 + 1
        return _("Q%(quarter)s %(year)s") % {"quarter": quarter, "year": period.starts_on.year}
    return _("%(month)s/%(year)s") % {"month": period.starts_on.month, "year": period.starts_on.year}


def labelled(label, detail):
    return _("%(label)s: %(detail)s") % {"label": label, "detail": detail} if detail else str(label)


# ---------------------------------------------------------------------------------------
# The three ledgers
# ---------------------------------------------------------------------------------------


class ChoiceLabels:
    """The labels of some choice fields of a model, translated once for a whole ledger:
    get_FOO_display() hashes and translates every choice of the field at each call, which
    on 150,000 rows of four such fields was most of the time the export took."""

    def __init__(self, model, *names):
        self.labels = {name: choice_labels(model, name) for name in names}

    def __call__(self, record, name):
        value = getattr(record, name)
        return self.labels[name].get(value, value)


def birth_column(user):
    """The birth date, or for a user who sees masked ID numbers only the year."""
    if user.sees_full_id_numbers:
        return ExportColumn(_("Birth date"), 12, DATE_FORMAT)
    return ExportColumn(_("Birth year"), 8, WHOLE_NUMBER)


def school_age_rows(user, period, today):
    """适龄儿童台账, by township, village and household, as the records stood then."""
    columns = (
        ExportColumn(_("No."), 6, WHOLE_NUMBER),
        ExportColumn(_("Township"), 12),
        ExportColumn(_("Village"), 12),
        ExportColumn(_("Head of household"), 10),
        ExportColumn(_("Name"), 10),
        ExportColumn(_("Gender"), 6),
        ExportColumn(_("ID number"), 21),
        birth_column(user),
        ExportColumn(_("Age"), 6, WHOLE_NUMBER),
        ExportColumn(_("School"), 24),
        ExportColumn(_("Stage"), 8),
        ExportColumn(_("Grade"), 10),
        ExportColumn(_("Enrolment status"), 10),
        ExportColumn(_("Pairing teacher"), 10),
    )

    label = ChoiceLabels(Student, "gender", "stage", "grade", "status")

    def row(number, record):
        household = record.household
        return [
            number,
            household.township.name if household else "",
            household.village if household else "",
            household.head_name if household else "",
            record.name,
            label(record, "gender"),
            id_number_for(user, record.id_number),
            birth_date_for(user, record.birth_date),
            record.age,
            record.school.name,
            label(record, "stage"),
            label(record, "grade"),
            label(record, "status"),
            record.teacher_name,
        ]

    return columns, LedgerRows(school_age_ledger(user, period), row)


def suspected_rows(user, period, today):
    """疑似辍学台账, by township and school, with an empty column for what checking finds."""
    columns = (
        ExportColumn(_("No."), 6, WHOLE_NUMBER),
        ExportColumn(_("Township"), 12),
        ExportColumn(_("School"), 24),
        ExportColumn(_("Name"), 10),
        ExportColumn(_("Gender"), 6),
        ExportColumn(_("ID number"), 21),
        ExportColumn(_("Grade"), 10),
        ExportColumn(_("Enrolment status"), 10),
        ExportColumn(_("Why suspected"), 32),
        ExportColumn(_("Verification"), 28),
    )

    label = ChoiceLabels(Student, "gender", "grade", "status")

    def row(number, suspect):
        record = suspect.student
        return [
            number,
            record.school.region.name,
            record.school.name,
            record.name,
            label(record, "gender"),
            id_number_for(user, record.id_number),
            label(record, "grade"),
            label(record, "status"),
            "\n".join(str(reason) for reason in suspect.reasons),
            "",
        ]

    return columns, LedgerRows(suspected_dropout_ledger(user, period), row)


def dropout_rows(user, period, today):
    """辍学台账: each case open at some time in the period, oldest first, with its persuasion
    record up to the period's end and, if it closed by then, how (动态销号)."""
    columns = (
        ExportColumn(_("No."), 6, WHOLE_NUMBER),
        ExportColumn(_("Township"), 12),
        ExportColumn(_("School"), 22),
        ExportColumn(_("Name"), 10),
        ExportColumn(_("Gender"), 6),
        ExportColumn(_("ID number"), 21),
        ExportColumn(_("Grade"), 10),
        ExportColumn(_("Dropped out / at risk"), 9),
        ExportColumn(_("Opened on"), 12, DATE_FORMAT),
        ExportColumn(_("Reason for dropping out"), 18),
        ExportColumn(_("Responsible persons"), 20),
        ExportColumn(_("Persuasion attempts"), 40),
        ExportColumn(_("Struck off on"), 12, DATE_FORMAT),
        ExportColumn(_("Striking-off result"), 20),
        ExportColumn(_("Days open"), 8, WHOLE_NUMBER),
    )
    methods = dict(PersuasionAttempt.Method.choices)
    label = ChoiceLabels(Student, "gender", "grade")
    case_label = ChoiceLabels(DropoutCase, "kind", "reason", "outcome")

    def row(number, case):
        student = case.record
        end = case.closed_on if case.closed_in_period else min(period.ends_on, today)
        return [
            number,
            student.school.region.name,
            student.school.name,
            student.name,
            label(student, "gender"),
            id_number_for(user, student.id_number),
            label(student, "grade"),
            case_label(case, "kind"),
            case.opened_on,
            labelled(case_label(case, "reason"), case.reason_note) if case.reason else case.reason_note,
            "\n".join(
                f"{person.name} {phone_for(user, person.phone)}".strip()
                for person in sorted(case.responsibles.all(), key=lambda person: person.pk)
            ),
            "\n".join(
                f"{attempt.attempted_on:%Y-%m-%d} {attempt.persons} {methods[attempt.method]} {attempt.outcome}"
                for attempt in case.attempts_in_period
            ),
            case.closed_on if case.closed_in_period else None,
            closing_result(case, case_label) if case.closed_in_period else "",
            (end - case.opened_on).days,
        ]

    return columns, LedgerRows(dropout_ledger(user, period), row)


def closing_result(case, case_label):
    detail = case.receiving_school if case.outcome == DropoutCase.Outcome.TRANSFERRED else case.outcome_note
    return labelled(case_label(case, "outcome"), detail)


BUILDERS = {
    LedgerKind.SCHOOL_AGE: school_age_rows,
    LedgerKind.SUSPECTED: suspected_rows,
    LedgerKind.DROPOUT: dropout_rows,
}


# ---------------------------------------------------------------------------------------
# The workbook
# ---------------------------------------------------------------------------------------


def ledger_workbook(ledger, file, today=None):
    """Title (row 1); reporting unit, period and date made (row 2); the header (row 3),
    frozen and repeated on every printed page; one bordered row per entry, multi-line
    cells wrapped. The rows go straight to `file` through SheetRows, a batch of entries at a
    time; returns the number of entries written."""
    today = today or timezone.localdate()
    columns = ledger.columns
    last = len(columns)
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(str(LedgerKind(ledger.kind).label)[:31])
    set_a4_print(sheet, columns, title_rows=f"{HEADER_ROW}:{HEADER_ROW}", orientation="landscape")
    sheet.freeze_panes = f"A{HEADER_ROW + 1}"
    append_title(sheet, ledger.title, last)
    third = last // 3
    sheet.append(facts_row(sheet, 2, (
        (1, third, _("Reporting unit: %(unit)s") % {"unit": ledger.unit}),
        (third + 1, 2 * third, _("Period: %(start)s to %(end)s") % {
            "start": ledger.period.starts_on.isoformat(), "end": ledger.period.ends_on.isoformat(),
        }),
        (2 * third + 1, last, _("Made on %(date)s") % {"date": today.isoformat()}),
    )))
    append_header(sheet, columns)
    body = SheetRows(sheet, [table_style(column) for column in columns], styled_blanks=True)
    return save_with_rows(
        workbook, sheet, file, lambda stream: body.write(stream, ledger.rows, first_row=HEADER_ROW + 1)
    )


def ledger_response(ledger, today=None):
    """The ledger's workbook as a download, streamed from a temporary file."""
    temporary = tempfile.NamedTemporaryFile(suffix=".xlsx")
    ledger_workbook(ledger, temporary, today)
    temporary.seek(0)
    response = FileResponse(temporary, content_type=XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = attachment_header(f"{ledger.title}.xlsx")
    return response
