"""In Chromium: a clerk exports a list larger than the background threshold, watches the
progress bar while a real worker process (`manage.py db_worker`, as `make serve` starts it)
makes the file, and downloads it from the page; the same for applying a large roster."""
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection
from openpyxl import load_workbook

from jobs.models import Job
from students.models import RosterImport, Student
from tests.factories import BureauAdminFactory, SchoolFactory, StudentFactory, TownshipFactory, id_number_for
from tests.roster_files import roster_row, xlsx_bytes

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parents[2]


def run_worker(media_root):
    """One pass of the real worker over the queue, against the test database."""
    db = connection.settings_dict
    url = f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "config.settings.test", "MEDIA_ROOT": media_root}
    subprocess.run([sys.executable, "manage.py", "db_worker", "--batch", "--no-reload"], cwd=ROOT, env=env,
                   check=True, timeout=120, capture_output=True)


@pytest.mark.django_db(transaction=True)
def test_a_large_export_shows_its_progress_then_downloads(browser, live_server, settings, tmp_path, artifacts):
    settings.BACKGROUND_EXPORT_ROWS = 10
    settings.MEDIA_ROOT = str(tmp_path)
    school = SchoolFactory()
    StudentFactory.create_batch(40, school=school)
    BureauAdminFactory(username="clerk")

    context = browser.new_context(viewport={"width": 360, "height": 740}, locale="zh-CN", accept_downloads=True)
    page = context.new_page()
    page.goto(f"{live_server.url}/login/")
    page.fill("input[name=username]", "clerk")
    page.fill("input[name=password]", "pass12345")
    page.click("#login-form button[type=submit]")
    page.goto(f"{live_server.url}/students/")
    page.click("#export-students")

    page.wait_for_selector("#job-progress")
    assert page.inner_text("#job-status") == "排队等待中"
    assert page.is_hidden("#job-download")
    page.screenshot(path=str(artifacts / "export-queued-phone.png"), full_page=True)

    run_worker(str(tmp_path))
    page.wait_for_selector("#job-download:not([hidden])", timeout=15000)
    assert page.inner_text("#job-status") == "已完成"
    assert page.get_attribute("#job-progress", "value") == "100"
    assert "40" in page.inner_text("#job-rows")
    page.screenshot(path=str(artifacts / "export-ready-phone.png"), full_page=True)
    with page.expect_download() as download:
        page.click("#job-download")
    assert download.value.suggested_filename.endswith(".xlsx")
    with open(download.value.path(), "rb") as file:
        sheet = load_workbook(file).active
    assert sheet.max_row == 41  # the header and the 40 students
    assert Job.objects.get().status == Job.Status.DONE
    context.close()


@pytest.mark.django_db(transaction=True)
def test_a_large_import_is_applied_by_the_worker_and_leads_back_to_the_import(browser, live_server, settings, tmp_path, artifacts):
    settings.BACKGROUND_IMPORT_ROWS = 5
    school = SchoolFactory(name="兰陵县向城镇中心小学", region=TownshipFactory(name="向城镇"))
    rows = [roster_row(f"学生{n}", id_number_for(n + 1), school.name, 户主姓名=f"户主{n}") for n in range(12)]
    roster = tmp_path / "花名册.xlsx"
    roster.write_bytes(xlsx_bytes(rows))
    BureauAdminFactory(username="clerk")

    context = browser.new_context(viewport={"width": 360, "height": 740}, locale="zh-CN")
    page = context.new_page()
    page.goto(f"{live_server.url}/login/")
    page.fill("input[name=username]", "clerk")
    page.fill("input[name=password]", "pass12345")
    page.click("#login-form button[type=submit]")
    page.goto(f"{live_server.url}/students/import/")
    page.set_input_files("#upload-form input[type=file]", str(roster))
    page.click("#upload-form button[type=submit]")
    page.click("#apply-import")

    page.wait_for_selector("#job-progress")
    assert page.inner_text("#job-status") == "排队等待中" and page.is_hidden("#job-result")
    run_worker(str(tmp_path))
    page.wait_for_selector("#job-result:not([hidden])", timeout=15000)
    assert page.inner_text("#job-status") == "已完成"
    assert "12" in page.inner_text("#job-rows")
    page.screenshot(path=str(artifacts / "import-applied-phone.png"), full_page=True)
    page.click("#job-result")
    page.wait_for_load_state()
    assert "/students/import/" in page.url
    assert RosterImport.objects.get().state == RosterImport.State.APPLIED
    assert Student.objects.count() == 12
    context.close()
