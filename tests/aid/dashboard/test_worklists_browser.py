"""In Chromium: each role's demo login finds its work list on its home page and follows an
item to the page where the thing is done; the bell leads to the notifications."""
import io

import pytest
from django.core.management import call_command

from notices.services import daily_reminders

# Well into a term, when the demo has next-visit dates that have passed (on a term's first
# day none can have) and so the teacher's reminders and the school's overdue teachers.
pytestmark = [pytest.mark.browser, pytest.mark.today("2026-11-20")]

PASSWORD = "demo-pass-2020"
# One demo login per role (the README's table): approver, bureau, viewer, school, teacher, grid.
LOGINS = {
    "approver": "approvals", "bureau": "cases", "city": "cases", "school2": "teachers",
    "teacher": "next_visits", "grid": "checks",
}


def log_in(browser, live_server, username, width):
    context = browser.new_context(viewport={"width": width, "height": 900}, locale="zh-CN")
    page = context.new_page()
    page.goto(f"{live_server.url}/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("#login-form button[type=submit]")
    page.wait_for_selector("#worklists")
    return context, page


@pytest.mark.django_db(transaction=True)
def test_each_role_follows_a_work_list_item_to_its_page(browser, live_server, artifacts, monkeypatch):
    monkeypatch.setenv("DEMO_PASSWORD", PASSWORD)
    call_command("seed_demo", students=300, seed=5, stdout=io.StringIO())
    for username, key in LOGINS.items():
        width = 360 if username == "teacher" else 1280  # the teacher is on a phone
        context, page = log_in(browser, live_server, username, width)
        worklist = page.locator(f"[data-worklist={key}]")
        assert int(worklist.locator("[data-count]").inner_text()) >= 1, username
        link = worklist.locator(".worklist-items a").first
        href = link.get_attribute("href")
        if username == "teacher":
            page.screenshot(path=str(artifacts / "worklist-teacher-360.png"), full_page=True)
            assert page.evaluate("document.documentElement.scrollWidth") <= 360
        with page.expect_navigation() as navigation:
            link.click()
        assert navigation.value.status == 200, (username, href)
        assert page.url == f"{live_server.url}{href}", username
        context.close()


@pytest.mark.django_db(transaction=True)
def test_the_bell_opens_a_notification_and_counts_it_read(browser, live_server, monkeypatch):
    monkeypatch.setenv("DEMO_PASSWORD", PASSWORD)
    call_command("seed_demo", students=300, seed=5, stdout=io.StringIO())
    daily_reminders()
    context, page = log_in(browser, live_server, "teacher", 360)
    unread = int(page.locator("#bell [data-unread]").inner_text())
    assert unread >= 1
    page.click("#bell")
    page.wait_for_selector("#notifications")
    first = page.locator("#notifications .unread a").first
    href_before = first.get_attribute("href")
    first.click()
    page.wait_for_load_state()
    assert "/notifications/" not in page.url and href_before
    bell = page.locator("#bell [data-unread]")
    assert (int(bell.inner_text()) if bell.count() else 0) == unread - 1
    context.close()
