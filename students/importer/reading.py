"""Read an uploaded roster once (common.spreadsheets) within the installation's limits, and
keep the rows a check read for the steps after it."""
import contextlib
import gc
import io

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from common.spreadsheets import (
    SpreadsheetRefused,
    read_table,
    table_from_json,
)


class RosterFilePurged(SpreadsheetRefused):
    """The import's file was deleted by the retention rules (purge_roster_files)."""


def import_limits():
    """The bounds of an upload (common.spreadsheets.read_table checks each before the work
    it protects); each may be set in the settings."""
    return {
        "max_bytes": getattr(settings, "IMPORT_MAX_BYTES", 20 * 1024 * 1024),
        "max_rows": getattr(settings, "IMPORT_MAX_ROWS", 50_000),
        "max_inflated_bytes": getattr(settings, "IMPORT_MAX_INFLATED_BYTES", 200 * 1024 * 1024),
        "max_columns": getattr(settings, "IMPORT_MAX_COLUMNS", 200),
        "max_cells": getattr(settings, "IMPORT_MAX_CELLS", 2_000_000),
    }


def read_roster(content, file_name):
    return read_table(io.BytesIO(content), file_name, **import_limits())


@contextlib.contextmanager
def collector_paused():
    """Pause Python's cyclic garbage collector during a bulk step (as a decorator).

    Checking or applying a file builds hundreds of thousands of small objects (cells, rows,
    model instances) that live until the step ends. The collector would walk all of them
    again and again as they pile up, about a fifth of an import's time. Reference counting
    still frees everything else at once, and the collector runs again afterwards.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def rows_of(roster_import):
    """The rows of a checked import's file: those parsed in this process (the import
    command), else those kept at the check, else (imports checked before the rows were
    kept) the stored file parsed again. Kept on the instance for the next step."""
    table = getattr(roster_import, "parsed_table", None)
    if table is None:
        if roster_import.file_purged_at is not None:
            raise RosterFilePurged(
                _("The uploaded file was deleted on %(date)s, as the retention rules require. Upload it again.")
                % {"date": timezone.localdate(roster_import.file_purged_at).isoformat()}
            )
        if roster_import.rows_read:
            table = table_from_json(roster_import.rows_read)
        else:
            table = read_roster(bytes(roster_import.content), roster_import.file_name)
        roster_import.parsed_table = table
    return table
