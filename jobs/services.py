"""Start long work in the background, run it in the worker, and let kept files expire.

Most jobs are a page's download made later: the worker builds the same view for the same user
and query (so the scope, the filter and the masking are the page's), asks it to write its
file (`write_background_file(file, on_progress)`, returning the rows written or None) to the
shared storage, and to log it as the page would (`log_this_export(rows)`). List exports of
more than BACKGROUND_EXPORT_ROWS rows and the county summary run this way. The user watches
the progress or finds the file later on "my downloads", for DOWNLOADS_KEPT_DAYS days.
Other apps register their own kinds of job with `runs` (the apply and revert of large
roster imports: students/importer/background.py).
"""
import datetime
import logging
import tempfile
import uuid

from django.conf import settings
from django.core.files import File
from django.db import transaction
from django.http import QueryDict
from django.test import RequestFactory
from django.urls import resolve
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from common import replicas

from .models import Job

logger = logging.getLogger(__name__)


def background_export_rows():
    return getattr(settings, "BACKGROUND_EXPORT_ROWS", 5000)


def kept_days():
    return getattr(settings, "DOWNLOADS_KEPT_DAYS", 7)


RUNNERS = {}


def runs(kind):
    """Register the worker's function for jobs of `kind`. It is called as
    `function(job, progress)` in the job's language, where `progress(rows_done, rows_total=None,
    stage=None)` shows how far it is; it returns the fields to store on the finished job. It
    raises JobRefused with a message for the user when the work cannot be done."""
    def register(function):
        RUNNERS[kind] = function
        return function
    return register


class JobRefused(Exception):
    """The work cannot be done; the message says why, in the owner's language."""

    def __init__(self, message):
        super().__init__(message)
        self.message = message


def start_job(*, owner, kind, title, language=None, **fields):
    """A job of `kind` for `owner`; the worker starts on it once the transaction commits."""
    from .tasks import run_job

    job = Job.objects.create(
        owner=owner, kind=kind, title=title[:120],
        language=language or translation.get_language() or settings.LANGUAGE_CODE,
        expires_at=timezone.now() + datetime.timedelta(days=kept_days()), **fields,
    )
    transaction.on_commit(lambda: run_job.enqueue(job.pk))
    return job


def start_in_background(*, request, title, file_name, rows_total=None):
    """A job for the export the request asks for."""
    query = request.GET.copy()
    query.pop("export", None)
    return start_job(
        owner=request.user, kind=EXPORT, title=title, path=request.path, query=query.urlencode(),
        file_name=file_name[:200], rows_total=rows_total,
    )


def run_in_worker(job_id):
    """The worker's part: run the job as its owner, or record why it did not finish. Each
    job is a unit of work of its own for the replica router (common.replicas)."""
    with replicas.unit_of_work():
        _run(job_id)


def _run(job_id):
    taken = Job.objects.filter(pk=job_id, status=Job.Status.QUEUED).update(
        status=Job.Status.RUNNING, started_at=timezone.now()
    )
    if not taken:
        return  # run already
    job = Job.objects.select_related("owner").get(pk=job_id)
    with translation.override(job.language):
        try:
            outcome = RUNNERS[job.kind](job, progress_of(job))
        except JobRefused as refusal:
            fail(job, refusal.message)
        except Exception:  # the user is told in Chinese; the log keeps the traceback
            logger.exception("background job %s (%s) failed", job.pk, job.kind)
            fail(job, _("It stopped because of an unexpected error. Start it again; if it fails again, tell the IT staff."))
        else:
            Job.objects.filter(pk=job.pk).update(status=Job.Status.DONE, finished_at=timezone.now(), **outcome)


def progress_of(job):
    def progress(rows_done, rows_total=None, stage=None):
        fields = {"rows_done": rows_done}
        if rows_total is not None:
            fields["rows_total"] = rows_total
        if stage is not None:
            fields["stage"] = str(stage)[:80]
        Job.objects.filter(pk=job.pk).update(**fields)
    return progress


def fail(job, message):
    Job.objects.filter(pk=job.pk).update(status=Job.Status.FAILED, error=message, finished_at=timezone.now())


EXPORT = "export"


@runs(EXPORT)
def export_in_worker(job, progress):
    """Build the job's list page as its owner and write its export to the shared storage."""
    match = resolve(job.path)
    view_class = match.func.view_class
    if not view_class.allows(job.owner):  # the table refuses inactive accounts too
        raise JobRefused(_("The export failed: you may no longer export this list."))
    request = RequestFactory().get(job.path, QueryDict(job.query))
    request.user = job.owner
    request.LANGUAGE_CODE = job.language
    view = view_class(**match.func.view_initkwargs)
    view.setup(request, *match.args, **match.kwargs)
    with tempfile.TemporaryFile() as temporary:
        row_count = view.write_background_file(temporary, progress)
        temporary.seek(0)
        job.file.save(f"{uuid.uuid4().hex}.xlsx", File(temporary), save=False)
    view.log_this_export(row_count)
    return {"file": job.file.name, "rows_done": row_count or 0, "rows_total": row_count}


def purge_expired(now=None):
    """Delete the downloads past their keeping time, files first. Returns how many."""
    expired = Job.objects.filter(expires_at__lte=now or timezone.now())
    count = 0
    for job in expired.iterator():
        if job.file:
            job.file.delete(save=False)
        job.delete()
        count += 1
    return count
