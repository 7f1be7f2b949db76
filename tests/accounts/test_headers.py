"""Security headers: a Content-Security-Policy without inline code on every page, no caching
of what a signed-in user is shown, HSTS in production."""
import re
from pathlib import Path

import pytest
from django.urls import reverse

from tests.factories import BureauAdminFactory, StudentFactory
from tests.test_production import production_environment, run_python

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent.parent


def policy(response):
    return dict(
        (directive.split(" ", 1) + [""])[:2] for directive in response["Content-Security-Policy"].split("; ")
    )


def test_every_page_sends_a_policy_that_allows_no_inline_code(client, client_for):
    pages = [client.get(reverse("login"))]
    client = client_for(BureauAdminFactory())
    pages += [client.get(reverse("home")), client.get(reverse("students:student_list"))]
    for response in pages:
        directives = policy(response)
        assert directives["script-src"] == "'self'" and directives["style-src"] == "'self'"
        assert directives["default-src"] == "'self'" and directives["frame-ancestors"] == "'none'"
        assert "unsafe-inline" not in response["Content-Security-Policy"]


INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", re.I)
INLINE_STYLE = re.compile(r"<style|\sstyle=|\son[a-z]+=", re.I)


def test_no_template_carries_inline_scripts_styles_or_event_handlers():
    offending = []
    for template in (ROOT / "templates").rglob("*.html"):
        text = template.read_text(encoding="utf-8")
        if INLINE_SCRIPT.search(text) or INLINE_STYLE.search(text):
            offending.append(str(template.relative_to(ROOT)))
    assert offending == []


def test_pages_and_files_of_a_signed_in_user_are_not_stored(client, client_for, county):
    StudentFactory(school=county["primary"])
    client = client_for(BureauAdminFactory(region=county["county"]))
    for response in (
        client.get(reverse("students:student_list")),
        client.get(reverse("students:student_export")),
        client.get(reverse("accounts:password_change")),
    ):
        assert response.status_code == 200
        assert "no-store" in response["Cache-Control"] and "private" in response["Cache-Control"]


HEADERS_IN_PRODUCTION = """
import django
django.setup()
from django.test import Client
response = Client().get("/healthz", secure=True, HTTP_HOST="aid.example")  # no database needed
print(response.status_code)
print(response["Strict-Transport-Security"])
print(response["Content-Security-Policy"])
"""


def test_production_sends_hsts_and_the_policy_over_https(tmp_path):
    result = run_python(HEADERS_IN_PRODUCTION, production_environment(STATIC_ROOT=str(tmp_path)))
    assert result.returncode == 0, result.stderr
    status, hsts, csp = result.stdout.splitlines()[-3:]
    assert status in ("200", "503")  # the example's database is not there; the headers are
    assert hsts == "max-age=31536000; includeSubDomains; preload"
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
