"""What each row of a roster would do: its errors, its cleaned values, new or updated."""
from dataclasses import dataclass, field

from django.utils.translation import gettext as _


from students.models import (
    Household,
    Student,
)

from .header import COLUMN_BY_KEY, HeaderMatch


@dataclass
class RowError:
    row_number: int
    column: str
    message: str

    def __str__(self):
        return _("row %(row)s, %(column)s: %(message)s") % {
            "row": self.row_number,
            "column": self.column,
            "message": self.message,
        }


@dataclass
class PlannedRow:
    number: int
    raw: list
    action: str = ""  # "new", "updated", "unchanged" or "error"
    errors: list = field(default_factory=list)
    changes: list = field(default_factory=list)  # (field label, old, new)
    student: Student | None = None  # the existing record it matches
    student_fields: dict = field(default_factory=dict)
    household_fields: dict = field(default_factory=dict)
    household: Household | None = None  # set when applied
    household_created: bool = False
    student_before: dict = field(default_factory=dict)  # values before, for revert
    household_before: dict = field(default_factory=dict)
    conflict: dict | None = None  # the file's and the registry's names, side by side

    def error(self, column_key, message):
        self.errors.append(RowError(self.number, COLUMN_BY_KEY[column_key].header, message))


class RowPlan:
    """What a checked file would do, row by row: shared by every importer's plan."""

    ACTIONS = ()

    def rows_with(self, action):
        return [row for row in self.rows if row.action == action]

    @property
    def counts(self):
        counts = {action: 0 for action in self.ACTIONS}
        for row in self.rows:
            counts[row.action] += 1
        return counts

    @property
    def errors(self):
        return [error for row in self.rows for error in row.errors]


@dataclass
class ImportPlan(RowPlan):
    header: HeaderMatch
    rows: list
    absent_students: list = field(default_factory=list)
    moved_students: list = field(default_factory=list)

    ACTIONS = ("new", "updated", "unchanged", "error")

    @property
    def has_errors(self):
        return bool(self.header.missing_required) or any(row.errors for row in self.rows)


class ImportHasErrors(Exception):
    """Applying was refused: the plan had errors and nothing was written."""

    def __init__(self, plan):
        super().__init__(_("The file has errors; nothing was written."))
        self.plan = plan
