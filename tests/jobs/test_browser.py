"""In Chromium: a clerk exports a list larger than the background threshold, watches the
progress bar while a real worker process (`manage.py db_worker`, as `make serve` starts it)
makes the file, and downloads it from the page."""
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection
from openpyxl import load_workbook

from jobs.models import Job
from tests.factories import BureauAdminFactory, SchoolFactory, StudentFactory

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
