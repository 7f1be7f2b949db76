"""Uploaded roster files hold full ID numbers: they are deleted once they are no longer
needed (the daily job). A file never applied goes ROSTER_FILE_UNAPPLIED_DAYS after its
upload, an applied one ROSTER_FILE_APPLIED_DAYS after it was applied (reverting needs only
the recorded changes, not the file). The import's record stays, with who, when and counts."""
import datetime

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from common import bulk_writes

from ..models import RosterImport

PURGE_REASON = "roster-file-retention"


@transaction.atomic
def purge_roster_files(now=None):
    """Delete the files (and the rows read from them) past their keeping time. Returns how many."""
    now = now or timezone.now()
    unapplied_before = now - datetime.timedelta(days=settings.ROSTER_FILE_UNAPPLIED_DAYS)
    applied_before = now - datetime.timedelta(days=settings.ROSTER_FILE_APPLIED_DAYS)
    due = list(
        RosterImport.objects.without_files()
        .filter(file_purged_at__isnull=True)
        .filter(
            Q(state=RosterImport.State.CHECKED, uploaded_at__lt=unapplied_before)
            | Q(applied_at__lt=applied_before)
        )
        .select_for_update()
    )
    for roster_import in due:
        roster_import.content, roster_import.rows_read, roster_import.file_purged_at = b"", "", now
    bulk_writes.update_with_history(
        due, ["content", "rows_read", "file_purged_at"], user=None, reason=PURGE_REASON, date=now
    )
    return len(due)
