"""Large roster imports are applied and reverted by the background worker: the import's
button starts a job, its page shows the progress and leads back to the import, and the
rows are written all or none, as the user who started it may."""
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from django_tasks_db.models import DBTaskResult

from jobs import services
from jobs.models import Job
from jobs.tasks import run_job
from students import importer
from students.models import RosterImport, Student
from tests.factories import BureauAdminFactory, SchoolAdminFactory, SchoolFactory, TownshipFactory, id_number_for
from tests.roster_files import roster_row, xlsx_bytes

pytestmark = pytest.mark.django_db
ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-hans"}
SURNAMES = "赵钱孙李周吴郑王"


@pytest.fixture(autouse=True)
def small_threshold(settings):
    settings.BACKGROUND_IMPORT_ROWS = 2


@pytest.fixture
def school():
    return SchoolFactory(name="兰陵县向城镇中心小学", region=TownshipFactory(name="向城镇"))


def roster(school, count=3, **overrides):
    rows = [
        roster_row(f"{SURNAMES[n]}小明", id_number_for(n + 1), school.name, 户主姓名=f"{SURNAMES[n]}大山", **overrides)
        for n in range(count)
    ]
    return xlsx_bytes(rows)


def checked_import(client, content):
    response = client.post(reverse("students:roster_import"), {"file": SimpleUploadedFile("花名册.xlsx", content)}, **ZH)
    roster_import = RosterImport.objects.latest("pk")
    assert response.url == roster_import.get_absolute_url()  # the check's page
    return roster_import


def job_of(response):
    assert response.status_code == 302
    return Job.objects.get(pk=int(response.url.rstrip("/").split("/")[-1]))


def test_a_large_import_is_applied_by_the_worker(client, school, django_capture_on_commit_callbacks):
    admin = BureauAdminFactory()
    client.force_login(admin)
    roster_import = checked_import(client, roster(school))
    with django_capture_on_commit_callbacks(execute=True):
        job = job_of(client.post(reverse("students:roster_import_apply", args=[roster_import.pk]), **ZH))
    assert (job.kind, job.status, job.rows_total, job.owner) == ("roster_apply", Job.Status.QUEUED, 3, admin)
    assert not Student.objects.exists()  # nothing written in the request
    [queued] = DBTaskResult.objects.all()
    run_job.call(*queued.args_kwargs["args"])  # what the worker does with it
    job.refresh_from_db()
    assert (job.status, job.rows_done, job.percent, job.stage) == (Job.Status.DONE, 3, 100, "")
    assert sorted(Student.objects.values_list("name", flat=True)) == ["孙小明", "赵小明", "钱小明"]
    roster_import.refresh_from_db()
    assert roster_import.state == RosterImport.State.APPLIED
    state = client.get(reverse("jobs:job_status", args=[job.pk])).json()
    assert (state["result_url"], state["download_url"]) == (roster_import.get_absolute_url(), None)
    page = client.get(job.get_absolute_url(), **ZH).content.decode()
    assert f'id="job-result" href="{roster_import.get_absolute_url()}"' in page and "job-download" not in page


def test_a_second_click_finds_the_job_already_started(client, school):
    client.force_login(BureauAdminFactory())
    roster_import = checked_import(client, roster(school))
    url = reverse("students:roster_import_apply", args=[roster_import.pk])
    first, second = job_of(client.post(url)), job_of(client.post(url))
    assert first.pk == second.pk and Job.objects.count() == 1


def test_an_applied_import_is_not_started_again(client, school):
    client.force_login(BureauAdminFactory())
    roster_import = checked_import(client, roster(school))
    services.run_in_worker(job_of(client.post(reverse("students:roster_import_apply", args=[roster_import.pk]))).pk)
    response = client.post(reverse("students:roster_import_apply", args=[roster_import.pk]), **ZH, follow=True)
    assert "此次导入已经写入。" in response.content.decode()
    assert Job.objects.count() == 1


def test_rows_with_errors_fail_the_job_in_chinese_and_write_nothing(client, school):
    client.force_login(BureauAdminFactory())
    content = xlsx_bytes([roster_row("赵小明", id_number_for(1), school.name), roster_row("钱小明", "12345", school.name),
                          roster_row("孙小明", id_number_for(3), school.name, 户主姓名="孙大山")])
    roster_import = checked_import(client, content)
    job = job_of(client.post(reverse("students:roster_import_apply", args=[roster_import.pk]), **ZH))
    services.run_in_worker(job.pk)
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED and not Student.objects.exists()
    assert job.error == "文件有 1 处错误，没有写入任何内容。打开这次导入查看。"


def test_a_closed_account_stops_the_job(client, school):
    admin = BureauAdminFactory()
    client.force_login(admin)
    roster_import = checked_import(client, roster(school))
    job = job_of(client.post(reverse("students:roster_import_apply", args=[roster_import.pk]), **ZH))
    admin.is_active = False
    admin.save()
    services.run_in_worker(job.pk)
    job.refresh_from_db()
    assert (job.status, job.error) == (Job.Status.FAILED, "您已不能再修改这次导入。")
    assert not Student.objects.exists()


def test_a_large_import_is_reverted_by_the_worker(client, school):
    client.force_login(BureauAdminFactory())
    roster_import = checked_import(client, roster(school))
    services.run_in_worker(job_of(client.post(reverse("students:roster_import_apply", args=[roster_import.pk]))).pk)
    assert Student.objects.count() == 3
    job = job_of(client.post(reverse("students:roster_import_revert", args=[roster_import.pk])))
    assert (job.kind, job.rows_total) == ("roster_revert", None)
    assert 'max="100" aria-label' in client.get(job.get_absolute_url()).content.decode()  # a moving bar: no count
    services.run_in_worker(job.pk)
    assert Job.objects.get(pk=job.pk).status == Job.Status.DONE
    assert not Student.objects.exists()
    roster_import.refresh_from_db()
    assert roster_import.state == RosterImport.State.REVERTED


def test_a_small_import_is_still_applied_at_once(client, school, settings):
    settings.BACKGROUND_IMPORT_ROWS = 10
    client.force_login(BureauAdminFactory())
    roster_import = checked_import(client, roster(school))
    response = client.post(reverse("students:roster_import_apply", args=[roster_import.pk]))
    assert response.url == roster_import.get_absolute_url()
    assert Student.objects.count() == 3 and not Job.objects.exists()


def test_another_schools_admin_can_neither_start_nor_follow_the_job(client, school):
    client.force_login(SchoolAdminFactory(school=school))
    roster_import = checked_import(client, roster(school))
    job = job_of(client.post(reverse("students:roster_import_apply", args=[roster_import.pk])))
    client.force_login(SchoolAdminFactory(school=SchoolFactory()))
    assert client.post(reverse("students:roster_import_apply", args=[roster_import.pk])).status_code == 404
    assert client.get(job.get_absolute_url()).status_code == 404
    assert Job.objects.count() == 1


def test_the_check_reports_its_progress_then_the_write(school):
    admin = BureauAdminFactory()
    roster_import, _plan = importer.roster_import_check(
        actor=admin, file=SimpleUploadedFile("花名册.xlsx", roster(school)), file_name="花名册.xlsx"
    )
    heard = []
    importer.roster_import_apply(actor=admin, roster_import=roster_import,
                                 on_progress=lambda done, total, stage: heard.append((done, total, str(stage))))
    assert [(done, total) for done, total, _stage in heard] == [(0, 3), (3, 3)]
    assert heard[-1][2] != heard[0][2]  # checking, then writing
    assert Student.objects.count() == 3
