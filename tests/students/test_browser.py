"""In a real browser: a clerk logs in, filters the student list and opens a student.

Drives Debian's Chromium through Playwright (the `browser` fixture in conftest.py).
"""
import pytest

from tests.factories import BureauAdminFactory, SchoolFactory, StudentFactory

pytestmark = pytest.mark.browser


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = context.new_page()
    yield page
    context.close()


def log_in(page, live_server, username):
    page.goto(f"{live_server.url}/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", "pass12345")
    page.click("#login-form button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")


@pytest.mark.django_db(transaction=True)
def test_clerk_logs_in_filters_and_opens_a_student(page, live_server, artifacts):
    school = SchoolFactory(name="向城镇中心小学")
    StudentFactory.create_batch(5, school=school)
    wanted = StudentFactory(school=school, name="孙晓雨", stage="junior", grade="J2")
    admin = BureauAdminFactory(username="clerk")

    log_in(page, live_server, admin.username)
    assert "在册学生" in page.content()

    page.click("nav.mainnav summary >> text=学生信息")
    page.click('nav.mainnav .navmenu >> text="学生"')
    page.select_option("select[name=stage]", "junior")
    page.fill("input[name=q]", "晓雨")
    page.click("#student-filter button[type=submit]")
    page.wait_for_url("**/students/?*stage=junior*")
    rows = page.locator("#student-table tbody tr")
    assert rows.count() == 1
    page.click("text=孙晓雨")
    page.wait_for_url(f"{live_server.url}/students/{wanted.pk}/")
    assert page.locator("h1").inner_text().startswith("孙晓雨")
    assert wanted.id_number in page.content()

    page.screenshot(path=str(artifacts / "student-detail.png"), full_page=True)


@pytest.mark.django_db(transaction=True)
def test_student_list_fits_a_phone_screen(browser, live_server, artifacts):
    school = SchoolFactory()
    StudentFactory.create_batch(3, school=school)
    BureauAdminFactory(username="phone")
    context = browser.new_context(viewport={"width": 360, "height": 740}, locale="zh-CN")
    page = context.new_page()
    log_in(page, live_server, "phone")
    page.goto(f"{live_server.url}/students/")
    page_width = page.evaluate("document.documentElement.scrollWidth")
    assert page_width <= 360, "the list must not scroll sideways on a phone"
    page.screenshot(path=str(artifacts / "student-list-phone.png"), full_page=True)
    context.close()
