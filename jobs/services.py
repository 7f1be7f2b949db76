"""Start long work in the background, run it in the worker, and let kept files expire.

A job is a page's download made later: the worker builds the same view for the same user
and query (so the scope, the filter and the masking are the page's), asks it to write its
file (`write_background_file(file, on_progress)`, returning the rows written or None) to the
shared storage, and to log it as the page would (`log_this_export(rows)`). List exports of
more than BACKGROUND_EXPORT_ROWS rows and the county summary run this way. The user watches
the progress or finds the file later on "my downloads", for DOWNLOADS_KEPT_DAYS days.
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


def start_in_background(*, request, title, file_name, rows_total=None):
    """A job for the export the request asks for; the worker starts on it once it is saved."""
    from .tasks import run_job

    query = request.GET.copy()
    query.pop("export", None)
    job = Job.objects.create(
        owner=request.user, title=title[:120], path=request.path, query=query.urlencode(),
        language=translation.get_language() or settings.LANGUAGE_CODE, file_name=file_name[:200],
        rows_total=rows_total, expires_at=timezone.now() + datetime.timedelta(days=kept_days()),
    )
    transaction.on_commit(lambda: run_job.enqueue(job.pk))
    return job


def run_in_worker(job_id):
    """The worker's part: export the job's list page as its owner, or record why not. Each
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
    try:
        with translation.override(job.language):
            _export(job)
    except Exception as error:  # the user is told in Chinese; the log keeps the traceback
        logger.exception("background export %s failed", job.pk)
        with translation.override(job.language):
            reason = str(error) if isinstance(error, ExportRefused) else _("an unexpected error")
            message = _("The export failed: %(reason)s. Start it again; if it fails again, tell the IT staff.") % {
                "reason": reason
            }
        Job.objects.filter(pk=job.pk).update(status=Job.Status.FAILED, error=message, finished_at=timezone.now())


class ExportRefused(Exception):
    """The owner may no longer export this list."""


def _export(job):
    match = resolve(job.path)
    view_class = match.func.view_class
    if not view_class.allows(job.owner):  # the table refuses inactive accounts too
        raise ExportRefused(_("you may no longer export this list"))
    request = RequestFactory().get(job.path, QueryDict(job.query))
    request.user = job.owner
    request.LANGUAGE_CODE = job.language
    view = view_class(**match.func.view_initkwargs)
    view.setup(request, *match.args, **match.kwargs)

    def progress(rows_done):
        Job.objects.filter(pk=job.pk).update(rows_done=rows_done)

    with tempfile.TemporaryFile() as temporary:
        row_count = view.write_background_file(temporary, progress)
        temporary.seek(0)
        job.file.save(f"{uuid.uuid4().hex}.xlsx", File(temporary), save=False)
    view.log_this_export(row_count)
    Job.objects.filter(pk=job.pk).update(
        status=Job.Status.DONE, file=job.file.name, rows_done=row_count or 0, rows_total=row_count,
        finished_at=timezone.now(),
    )


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
