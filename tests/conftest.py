import os
import shutil
from pathlib import Path

import pytest

from .factories import (
    BureauAdminFactory,
    SchoolAdminFactory,
    SchoolFactory,
    StudentFactory,
    TeacherFactory,
    ViewerFactory,
)


@pytest.fixture
def school(db):
    return SchoolFactory()


@pytest.fixture
def other_school(db):
    return SchoolFactory()


@pytest.fixture
def student(school):
    return StudentFactory(school=school)


@pytest.fixture
def other_student(other_school):
    return StudentFactory(school=other_school)


@pytest.fixture
def bureau_admin(db):
    return BureauAdminFactory()


@pytest.fixture
def viewer(db):
    return ViewerFactory()


@pytest.fixture
def school_admin(school):
    return SchoolAdminFactory(school=school)


@pytest.fixture
def teacher(school):
    return TeacherFactory(school=school)


@pytest.fixture
def client_for(client):
    """A test client logged in as the given user."""

    def login(user):
        client.force_login(user)
        return client

    return login


# ---------------------------------------------------------------------------------------
# Browser tests: Debian's Chromium driven by Playwright. Outside CI they skip when Chromium
# is missing; in CI (CI=true) they fail instead, so they can never silently not run.
# ---------------------------------------------------------------------------------------

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path():
    return os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="session")
def browser():
    executable = chromium_path()
    if not executable:
        message = "Chromium is not installed (apt-get install chromium)."
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    # Playwright's sync API runs an event loop in this thread; the ORM calls made by the
    # tests themselves (factories, checks) are still plain synchronous calls.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def artifacts():
    """The folder where browser tests leave their screenshots for people to look at."""
    folder = Path(__file__).resolve().parent.parent / "test-artifacts"
    folder.mkdir(exist_ok=True)
    return folder
