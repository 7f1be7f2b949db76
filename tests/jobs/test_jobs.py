"""Large exports run in the background worker: the page shows their progress, the file
waits on "my downloads" for its owner alone, the export is logged, failures say why."""
import datetime
import io

import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from django_tasks_db.models import DBTaskResult

from jobs import services
from jobs.tasks import run_job
from jobs.models import Job
from students.models import ExportLog

from tests.factories import BureauAdminFactory, SchoolAdminFactory, SchoolFactory, StudentFactory

pytestmark = pytest.mark.django_db
ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-hans"}


@pytest.fixture(autouse=True)
def small_threshold(settings, tmp_path):
    settings.BACKGROUND_EXPORT_ROWS = 3
    settings.MEDIA_ROOT = str(tmp_path)


@pytest.fixture
def roster():
    school = SchoolFactory()
    return [StudentFactory(school=school, name=f"学生甲{n}") for n in range(5)]


def start_export(client, user, query=None):
    client.force_login(user)
    response = client.get(reverse("students:student_export"), query or {}, **ZH)
    assert response.status_code == 302
    return Job.objects.get(pk=int(response.url.rstrip("/").split("/")[-1]))


def downloaded_names(client, job):
    response = client.get(reverse("jobs:job_file", args=[job.pk]))
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    header = [cell.value for cell in sheet[1]]
    column = header.index("姓名")
    return sorted(row[column] for row in sheet.iter_rows(min_row=2, values_only=True))


def test_a_large_export_runs_in_the_worker_and_downloads_from_my_downloads(client, roster, django_capture_on_commit_callbacks):
    admin = BureauAdminFactory()
    with django_capture_on_commit_callbacks(execute=True):
        job = start_export(client, admin)
    assert (job.status, job.rows_total, job.owner) == (Job.Status.QUEUED, 5, admin)
    [queued] = DBTaskResult.objects.all()  # the worker's queue is a table of the database
    assert (queued.task_path, queued.args_kwargs["args"]) == ("jobs.tasks.run_job", [job.pk])
    run_job.call(*queued.args_kwargs["args"])  # what the worker does with it
    job.refresh_from_db()
    assert (job.status, job.rows_done, job.percent) == (Job.Status.DONE, 5, 100)
    assert downloaded_names(client, job) == sorted(s.name for s in roster)
    listed = client.get(reverse("jobs:job_list")).context["jobs"]
    assert [j.pk for j in listed] == [job.pk]
    [entry] = ExportLog.objects.all()  # logged as the page's own export would be
    assert (entry.user, entry.list_name, entry.row_count) == (admin, "students", 5)


def test_the_worker_exports_the_pages_filter_and_scope(client, roster):
    school_admin = SchoolAdminFactory(school=roster[0].school)
    StudentFactory.create_batch(4)  # another school's
    job = start_export(client, school_admin, {"q": "学生甲"})
    services.run_in_worker(job.pk)
    assert downloaded_names(client, Job.objects.get(pk=job.pk)) == sorted(s.name for s in roster)


def test_a_small_export_still_downloads_at_once(client, roster, settings):
    settings.BACKGROUND_EXPORT_ROWS = 100
    client.force_login(BureauAdminFactory())
    response = client.get(reverse("students:student_export"))
    assert response.status_code == 200 and not Job.objects.exists()


def test_the_progress_page_reads_the_state_without_a_reload(client, roster):
    job = start_export(client, BureauAdminFactory())
    page = client.get(job.get_absolute_url(), **ZH)
    assert page.status_code == 200 and 'id="job-progress"' in page.content.decode()
    Job.objects.filter(pk=job.pk).update(status=Job.Status.RUNNING, rows_done=2,
                                         started_at=timezone.now() - datetime.timedelta(seconds=10))
    state = client.get(reverse("jobs:job_status", args=[job.pk])).json()
    assert (state["status"], state["percent"], state["rows_done"], state["rows_total"]) == ("running", 40, 2, 5)
    assert state["seconds_left"] == 15 and state["download_url"] is None


def test_a_job_is_its_owners_alone(client, roster):
    job = start_export(client, BureauAdminFactory())
    services.run_in_worker(job.pk)
    client.force_login(BureauAdminFactory())  # same county, another person
    for name in ("jobs:job_detail", "jobs:job_status", "jobs:job_file"):
        assert client.get(reverse(name, args=[job.pk])).status_code == 404
    assert list(client.get(reverse("jobs:job_list")).context["jobs"]) == []


def test_a_failed_job_says_why_in_chinese(client, roster):
    admin = BureauAdminFactory()
    job = start_export(client, admin)
    admin.is_active = False  # the account was closed meanwhile
    admin.save()
    services.run_in_worker(job.pk)
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED
    assert job.error.startswith("导出失败")
    assert not job.file


def test_expired_downloads_are_purged_with_their_files(client, roster, tmp_path):
    job = start_export(client, BureauAdminFactory())
    services.run_in_worker(job.pk)
    job.refresh_from_db()
    path = tmp_path / job.file.name
    assert path.exists()
    assert services.purge_expired(now=job.expires_at - datetime.timedelta(seconds=1)) == 0
    assert services.purge_expired(now=job.expires_at) == 1
    assert not path.exists() and not Job.objects.exists()
