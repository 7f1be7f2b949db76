"""In Chromium: the main pages work under the Content-Security-Policy, which allows no
inline script or style, and the two-factor enrolment shows its QR code."""
import io

import pytest
from django.core.management import call_command
from django.urls import reverse

from aid.casework.models import Pairing
from students.models import Student

pytestmark = pytest.mark.browser

PASSWORD = "demo-pass-2020"
# Records each refusal by the policy, from before any script of the page runs.
WATCH_VIOLATIONS = """
window.cspViolations = [];
document.addEventListener('securitypolicyviolation',
    event => window.cspViolations.push(`${event.violatedDirective} ${event.blockedURI} ${event.sourceFile}:${event.lineNumber}`));
"""


def open_session(browser, live_server, username, viewport):
    context = browser.new_context(viewport=viewport, locale="zh-CN")
    context.add_init_script(WATCH_VIOLATIONS)
    page = context.new_page()
    console = []
    page.on("console", lambda message: console.append(message.text) if message.type == "error" else None)
    page.goto(f"{live_server.url}/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("#login-form button[type=submit]")
    page.wait_for_url(lambda url: "/login/" not in url)
    return context, page, console


def visit_all(page, live_server, paths):
    """Each page's refusals by the policy, by path (none expected)."""
    refused = {}
    for path in paths:
        response = page.goto(f"{live_server.url}{path}")
        assert response.status == 200, path
        assert "unsafe-inline" not in response.headers["content-security-policy"]
        page.wait_for_load_state("networkidle")
        violations = page.evaluate("window.cspViolations")
        if violations:
            refused[path] = violations
    return refused


@pytest.fixture
def demo(db, monkeypatch):
    monkeypatch.setenv("DEMO_PASSWORD", PASSWORD)
    call_command("seed_demo", students=150, seed=2, stdout=io.StringIO())


@pytest.mark.django_db(transaction=True)
def test_the_main_pages_raise_no_policy_violation(browser, live_server, demo, artifacts):
    student = Student.objects.order_by("pk").first()
    context, page, console = open_session(browser, live_server, "bureau", {"width": 1280, "height": 900})
    page.wait_for_selector("canvas[data-ready=true]")  # the dashboard's charts drew
    refused = visit_all(page, live_server, [
        reverse("home"),
        reverse("students:student_list"),
        reverse("students:student_detail", args=[student.pk]),
        reverse("students:distribution"),
        reverse("students:roster_import"),
        reverse("aid:unpaired"),
        reverse("aid:coverage"),
        reverse("aid:batch_list"),
        reverse("aid:case_list"),
        reverse("aid:ledger"),
        reverse("aid:grid_list"),
        reverse("aid:inspection_list"),
        reverse("accounts:login_log"),
        reverse("accounts:password_change"),
    ])
    page.screenshot(path=str(artifacts / "login-log.png"), full_page=True)
    context.close()
    assert refused == {}
    assert [text for text in console if "Content Security Policy" in text] == []


@pytest.mark.django_db(transaction=True)
def test_a_teacher_records_a_visit_on_a_phone_under_the_policy(browser, live_server, demo):
    pairing = Pairing.objects.active().filter(teacher__username="teacher").first()
    context, page, console = open_session(browser, live_server, "teacher", {"width": 360, "height": 740})
    refused = visit_all(page, live_server, [
        reverse("aid:my_students"),
        reverse("aid:visit_list"),
        reverse("aid:visit_create", args=[pairing.student_id]),
    ])
    page.click("label.nav-toggle-label")  # the phone menu opens without inline code
    assert page.locator("nav.mainnav").is_visible()
    context.close()
    assert refused == {}
    assert [text for text in console if "Content Security Policy" in text] == []


@pytest.mark.django_db(transaction=True)
def test_the_enrolment_page_shows_its_qr_code_under_the_policy(browser, live_server, demo, settings, artifacts):
    settings.TWO_FACTOR_REQUIRED = True
    context, page, console = open_session(browser, live_server, "bureau", {"width": 360, "height": 740})
    page.goto(f"{live_server.url}{reverse('accounts:two_factor_enrol')}")
    box = page.locator("#qr-code svg").bounding_box()
    assert box["width"] > 100 and box["height"] > 100
    assert page.evaluate("window.cspViolations") == []
    page.screenshot(path=str(artifacts / "two-factor-enrol.png"), full_page=True)
    context.close()
