"""On a phone, in a real browser: a teacher records a home visit and loses nothing when
the connection drops or the session expires on submit.

Drives Debian's Chromium through Playwright (the `browser` fixture in conftest.py) at
360×740, the size of a common Android phone.
"""
import datetime
import re

import pytest
from django.utils import timezone

from aid.casework.models import HomeVisit
from tests.factories import (
    AidProgramFactory,
    DeliveryItemFactory,
    HomeVisitFactory,
    PairingFactory,
    SchoolFactory,
    StudentFactory,
    TeacherFactory,
    TermFactory,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 360, "height": 740}
DRAFT_KEYS = "Object.keys(localStorage).filter(key => key.startsWith('visit-draft'))"


@pytest.fixture
def phone(browser):
    context = browser.new_context(viewport=PHONE, locale="zh-CN", is_mobile=True, has_touch=True)
    yield context
    context.close()


@pytest.fixture
def casework(db):
    """A teacher with two paired students: one visited this term, one due."""
    today = timezone.localdate()
    two_months = datetime.timedelta(days=60)
    TermFactory(name="本学期", starts_on=today - two_months, ends_on=today + two_months)
    school = SchoolFactory(name="向城镇中心小学")
    teacher = TeacherFactory(username="teacher", full_name="王老师", school=school)
    colleague = TeacherFactory(full_name="李老师", subject="数学", school=school)
    visited = PairingFactory(teacher=teacher, student=StudentFactory(school=school, name="张小明")).student
    HomeVisitFactory(student=visited, author=teacher, visited_on=today - datetime.timedelta(days=3))
    due = PairingFactory(teacher=teacher, student=StudentFactory(school=school, name="孙晓雨")).student
    return {
        "teacher": teacher,
        "colleague": colleague,
        "due": due,
        "grant": AidProgramFactory(name="国家助学金"),
        "meals": AidProgramFactory(name="营养改善计划"),
        "bag": DeliveryItemFactory(name="书包"),
    }


def log_in(page, username):
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", "pass12345")
    page.click("#login-form button[type=submit]")


def fill_the_visit(page, casework):
    grant, meals, bag = casework["grant"], casework["meals"], casework["bag"]
    page.check("input[name=mode][value=phone]")
    page.click("details.visitors summary")
    page.check(f"input[name=other_visitors][value='{casework['colleague'].pk}']")
    page.fill("textarea[name=study_situation]", "网课能按时参加，数学作业有错题")
    page.fill("textarea[name=family_concerns]", "希望学校继续提供营养餐")
    page.check(f"input[name=policy_{grant.pk}][value=yes]")
    reason = page.locator(f"input[name=policy_{meals.pk}_reason]")
    assert not reason.is_visible(), "the reason shows only for a policy not delivered"
    page.check(f"input[name=policy_{meals.pk}][value=no]")
    assert reason.is_visible()
    reason.fill("学校食堂尚未开餐")
    page.check("input[name=dropout_risk][value=some]")
    page.fill(f"input[name=item_{bag.pk}]", "2")
    page.check("input[name=follow_up_needed]")


def assert_the_visit_is_filled(page, casework):
    grant, meals, bag = casework["grant"], casework["meals"], casework["bag"]
    assert page.is_checked("input[name=mode][value=phone]")
    assert page.is_checked(f"input[name=other_visitors][value='{casework['colleague'].pk}']")
    assert page.input_value("textarea[name=study_situation]") == "网课能按时参加，数学作业有错题"
    assert page.input_value("textarea[name=family_concerns]") == "希望学校继续提供营养餐"
    assert page.is_checked(f"input[name=policy_{grant.pk}][value=yes]")
    assert page.is_checked(f"input[name=policy_{meals.pk}][value=no]")
    assert page.input_value(f"input[name=policy_{meals.pk}_reason]") == "学校食堂尚未开餐"
    assert page.locator(f"input[name=policy_{meals.pk}_reason]").is_visible()
    assert page.is_checked("input[name=dropout_risk][value=some]")
    assert page.input_value(f"input[name=item_{bag.pk}]") == "2"
    assert page.is_checked("input[name=follow_up_needed]")


def assert_the_visit_was_saved(page, casework):
    page.wait_for_url("**/aid/visits/*/")
    visit = HomeVisit.objects.get(student=casework["due"])
    assert page.url.endswith(visit.get_absolute_url())
    assert (visit.author, visit.mode, visit.dropout_risk, visit.follow_up_needed) == (
        casework["teacher"], "phone", "some", True
    )
    assert visit.study_situation == "网课能按时参加，数学作业有错题"
    assert visit.family_concerns == "希望学校继续提供营养餐"
    assert list(visit.other_visitors.all()) == [casework["colleague"]]
    checks = {c.program.name: (c.delivered, c.reason) for c in visit.policy_checks.all()}
    assert checks == {"国家助学金": (True, ""), "营养改善计划": (False, "学校食堂尚未开餐")}
    assert list(visit.deliveries.values_list("item__name", "quantity")) == [("书包", 2)]
    assert page.evaluate(DRAFT_KEYS) == [], "the draft is gone once the visit is saved"


def test_a_dropped_connection_on_submit_loses_nothing(phone, live_server, casework, artifacts):
    page = phone.new_page()
    page.goto(f"{live_server.url}/login/")
    log_in(page, "teacher")
    page.wait_for_url("**/aid/my-students/")
    cards = page.locator("#my-students .student-card-main")
    assert cards.count() == 2
    assert cards.first.inner_text().startswith("孙晓雨"), "the student due comes first"
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.screenshot(path=str(artifacts / "my-students-phone.png"), full_page=True)
    cards.first.click()
    form_url = f"{live_server.url}/aid/students/{casework['due'].pk}/visits/create/"
    page.wait_for_url(form_url)

    fill_the_visit(page, casework)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.screenshot(path=str(artifacts / "visit-form-phone.png"), full_page=True)

    def drop_the_post(route):
        if route.request.method == "POST":
            route.abort("internetdisconnected")
        else:
            route.continue_()

    page.route(form_url, drop_the_post)
    page.click("#visit-form button[type=submit]")
    page.locator("#offline-message").wait_for(state="visible")
    assert page.url == form_url
    assert page.is_enabled("#visit-form button[type=submit]")
    assert_the_visit_is_filled(page, casework)
    assert HomeVisit.objects.filter(student=casework["due"]).count() == 0
    page.unroute(form_url)

    page.reload()
    assert page.locator("#draft-notice").is_visible()
    assert_the_visit_is_filled(page, casework)

    page.click("#visit-form button[type=submit]")
    assert_the_visit_was_saved(page, casework)
    assert "学校食堂尚未开餐" in page.locator("#policy-checks .not-delivered").inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.screenshot(path=str(artifacts / "visit-detail-phone.png"), full_page=True)

    page.goto(f"{live_server.url}/aid/visits/")
    assert page.locator("#visit-table tbody tr").count() == 2
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.screenshot(path=str(artifacts / "visit-list-phone.png"), full_page=True)


def test_an_expired_session_on_submit_keeps_the_draft_for_after_login(phone, live_server, casework):
    page = phone.new_page()
    form_url = f"{live_server.url}/aid/students/{casework['due'].pk}/visits/create/"
    page.goto(form_url)
    log_in(page, "teacher")
    page.wait_for_url(form_url)
    fill_the_visit(page, casework)

    phone.clear_cookies(name="sessionid")  # the session expires while the teacher types
    page.click("#visit-form button[type=submit]")
    page.wait_for_url(re.compile(r"/login/\?next="))
    assert page.evaluate(DRAFT_KEYS) != []

    log_in(page, "teacher")
    page.wait_for_url(form_url)
    assert page.locator("#draft-notice").is_visible()
    assert_the_visit_is_filled(page, casework)
    page.click("#visit-form button[type=submit]")
    assert_the_visit_was_saved(page, casework)


def test_discarding_the_draft_brings_back_the_empty_form(phone, live_server, casework):
    page = phone.new_page()
    form_url = f"{live_server.url}/aid/students/{casework['due'].pk}/visits/create/"
    page.goto(form_url)
    log_in(page, "teacher")
    page.wait_for_url(form_url)
    page.fill("textarea[name=study_situation]", "写了一半")
    page.reload()
    assert page.input_value("textarea[name=study_situation]") == "写了一半"
    page.click("#draft-discard")
    assert not page.locator("#draft-notice").is_visible()
    assert page.input_value("textarea[name=study_situation]") == ""
    assert page.evaluate(DRAFT_KEYS) == []


def test_a_refused_submission_shows_the_errors_in_place_and_keeps_the_draft(
    phone, live_server, casework
):
    """The server sends the form back (400): it replaces the page's form, still filled in."""
    page = phone.new_page()
    form_url = f"{live_server.url}/aid/students/{casework['due'].pk}/visits/create/"
    page.goto(form_url)
    log_in(page, "teacher")
    page.wait_for_url(form_url)
    fill_the_visit(page, casework)
    tomorrow = (timezone.localdate() + datetime.timedelta(days=1)).isoformat()
    # A phone whose clock is a day ahead: the browser lets the date through, the server not.
    page.eval_on_selector(
        "input[name=visited_on]", f"input => {{ input.max = ''; input.value = '{tomorrow}'; }}"
    )
    page.click("#visit-form button[type=submit]")
    page.locator(".field.has-error input[name=visited_on]").wait_for()
    assert page.url == form_url
    assert_the_visit_is_filled(page, casework)
    assert page.evaluate(DRAFT_KEYS) != []

    page.fill("input[name=visited_on]", timezone.localdate().isoformat())
    page.click("#visit-form button[type=submit]")
    assert_the_visit_was_saved(page, casework)


def test_a_photo_survives_a_dropped_connection_while_the_page_stays_open(
    phone, live_server, casework, settings, tmp_path
):
    """Photos cannot be kept in the draft: the page says so when the signal drops, and the
    photo still chosen is sent with the visit once the connection is back."""
    from tests.aid.evidence.pictures import photo_bytes

    settings.MEDIA_ROOT = str(tmp_path)
    page = phone.new_page()
    page.goto(f"{live_server.url}/login/")
    log_in(page, "teacher")
    page.wait_for_url("**/aid/my-students/")
    form_url = f"{live_server.url}/aid/students/{casework['due'].pk}/visits/create/"
    page.goto(form_url)
    assert page.get_attribute("#id_photos", "capture") == "environment"
    assert page.locator("#photos-offline-note").is_visible()
    fill_the_visit(page, casework)
    page.set_input_files("#id_photos", files=[{"name": "家访.jpg", "mimeType": "image/jpeg", "buffer": photo_bytes()}])

    def drop_the_post(route):
        if route.request.method == "POST":
            route.abort("internetdisconnected")
        else:
            route.continue_()

    page.route(form_url, drop_the_post)
    page.click("#visit-form button[type=submit]")
    page.locator("#offline-message").wait_for(state="visible")
    assert page.locator("#offline-photos").is_visible()
    page.unroute(form_url)

    page.click("#visit-form button[type=submit]")
    page.wait_for_url("**/aid/visits/*/")
    visit = HomeVisit.objects.get(student=casework["due"])
    assert visit.photos.count() == 1
    thumbnail = page.locator("#visit-photos img")
    thumbnail.scroll_into_view_if_needed()
    page.wait_for_function("() => { const img = document.querySelector('#visit-photos img'); return img.complete && img.naturalWidth > 0; }")


def test_list_filters_fold_on_a_phone_unless_one_is_used(phone, live_server, casework):
    page = phone.new_page()
    page.goto(f"{live_server.url}/login/")
    log_in(page, "teacher")
    page.wait_for_url("**/aid/my-students/")
    page.goto(f"{live_server.url}/aid/visits/")
    fold = page.locator("#visit-filter details.filter-fold")
    assert fold.count() == 1 and not fold.evaluate("details => details.open")
    assert page.locator("#visit-filter details.filter-fold > summary").inner_text().strip()  # "Filters", in the page's language
    page.goto(f"{live_server.url}/aid/visits/?mode=phone")
    assert page.locator("#visit-filter details.filter-fold").evaluate("details => details.open")
