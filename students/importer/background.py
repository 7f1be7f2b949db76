"""Large roster imports are applied and reverted by the background worker.

Applying a county's roster of ten thousand rows checks every row against the registry again
and writes each student with its history; reverting it undoes each row. Above
BACKGROUND_IMPORT_ROWS rows the page starts a job instead (jobs.services), shows its
progress and leads back to the import when it is done. The worker calls the same functions
as the page, as the user who started it, so the scope and the rules are the same.
"""
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from jobs import services as jobs
from jobs.models import Job
from students.models import RosterImport
from students.permissions import IMPORT, may

from .applying import roster_import_apply, roster_import_revert
from .plan import ImportHasErrors

APPLY = "roster_apply"
REVERT = "roster_revert"


def background_import_rows():
    return getattr(settings, "BACKGROUND_IMPORT_ROWS", 3000)


def applies_in_background(roster_import):
    return roster_import.row_count > background_import_rows()


def reverts_in_background(roster_import):
    return roster_import.changed_count > background_import_rows()


def start_apply(*, actor, roster_import):
    """The job that applies the import (or the one already on it). Refuses at once, with
    ValidationError, an import that cannot be applied any more."""
    RosterImport.MOVES.check(roster_import.state, RosterImport.State.APPLIED)
    return running_job(actor, APPLY, roster_import) or jobs.start_job(
        owner=actor, kind=APPLY, target_id=roster_import.pk, result_url=roster_import.get_absolute_url(),
        title=_("Apply roster import %(file)s") % {"file": roster_import.file_name},
        rows_total=roster_import.row_count,
    )


def start_revert(*, actor, roster_import):
    RosterImport.MOVES.check(roster_import.state, RosterImport.State.REVERTED)
    return running_job(actor, REVERT, roster_import) or jobs.start_job(
        owner=actor, kind=REVERT, target_id=roster_import.pk, result_url=roster_import.get_absolute_url(),
        title=_("Revert roster import %(file)s") % {"file": roster_import.file_name},
    )


def running_job(actor, kind, roster_import):
    """A job of the same user on the same import that has not finished: a second click on
    the button finds it instead of starting the work twice."""
    return (
        Job.objects.visible_to(actor)
        .filter(kind=kind, target_id=roster_import.pk, status__in=[Job.Status.QUEUED, Job.Status.RUNNING])
        .first()
    )


@jobs.runs(APPLY)
def apply_in_worker(job, progress):
    roster_import = import_of(job)
    try:
        plan = roster_import_apply(actor=job.owner, roster_import=roster_import, on_progress=progress)
    except ImportHasErrors as refusal:
        raise jobs.JobRefused(
            _("The file has %(count)s errors; nothing was written. Open the import to see them.")
            % {"count": len(refusal.plan.errors) + len(refusal.plan.header.missing_required)}
        ) from None
    except ValidationError as error:
        raise jobs.JobRefused(" ".join(error.messages)) from None
    written = len(plan.rows)
    return {"rows_done": written, "rows_total": written, "stage": ""}


@jobs.runs(REVERT)
def revert_in_worker(job, progress):
    roster_import = import_of(job)
    progress(0, stage=_("Reverting the import"))
    try:
        roster_import_revert(actor=job.owner, roster_import=roster_import)
    except ValidationError as error:
        raise jobs.JobRefused(" ".join(error.messages)) from None
    return {"stage": ""}


def import_of(job):
    """The job's import, as its owner may see it now (the account may have been closed or
    moved since the job started)."""
    roster_import = RosterImport.objects.visible_to(job.owner).without_files().filter(pk=job.target_id).first()
    if roster_import is None or not may(job.owner, IMPORT, RosterImport):
        raise jobs.JobRefused(_("You may no longer change this import."))
    return roster_import
