"""The roster importer: messy spreadsheets in, checked student records out.

The modules follow the data once: `reading` (the file, within the limits) → `header`
(find the header row under the titles, map its columns) → `cleaning` (each row on its
own) → `placing` (each row against the registry: school, new or known, what changes) →
`applying` (the write path, shared by the import page and `manage.py import_roster`):

    roster_import_check(actor=…, file=…)   read, map headers, validate; nothing written
    roster_import_apply(actor=…, roster_import=…)   all rows or none, in one transaction
    roster_import_revert(actor=…, roster_import=…)  undo a whole import if nothing touched it since
"""
from common.spreadsheets import SpreadsheetRefused

from .applying import (
    plan_for,
    roster_import_apply,
    roster_import_check,
    roster_import_remap,
    roster_import_revert,
    snapshot_absence_check,
)
from .cleaning import clean_rows
from .header import COLUMNS, FULL_WIDTH, find_header
from .placing import plan_import
from .plan import ImportHasErrors, ImportPlan
from .reading import RosterFilePurged, read_roster, rows_of
from .retention import purge_roster_files

__all__ = [
    "COLUMNS",
    "FULL_WIDTH",
    "ImportHasErrors",
    "ImportPlan",
    "RosterFilePurged",
    "SpreadsheetRefused",
    "clean_rows",
    "find_header",
    "plan_for",
    "plan_import",
    "purge_roster_files",
    "read_roster",
    "roster_import_apply",
    "roster_import_check",
    "roster_import_remap",
    "roster_import_revert",
    "rows_of",
    "snapshot_absence_check",
]
