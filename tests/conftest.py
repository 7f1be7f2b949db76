import datetime
import os
import shutil
import zoneinfo
from pathlib import Path

import pytest
import time_machine
from django.conf import settings
from django.utils import translation

from .factories import (
    BureauAdminFactory,
    RegionFactory,
    SchoolAdminFactory,
    SchoolFactory,
    StudentFactory,
    TeacherFactory,
    TermFactory,
    TownshipFactory,
    ViewerFactory,
)

# ---------------------------------------------------------------------------------------
# The clock. The whole session runs on one day: TEST_TODAY (YYYY-MM-DD) or else today, at
# a working hour in the bureau's time zone, so no test sees midnight pass. A test whose
# story happens on a given day says so with @pytest.mark.today("2026-11-20"); every other
# test builds its dates from timezone.localdate(). The clock ticks, so records made one
# after the other still get increasing timestamps.
# ---------------------------------------------------------------------------------------

BUREAU_TIME_ZONE = zoneinfo.ZoneInfo("Asia/Shanghai")
WORKING_HOUR = datetime.time(10, 0)


def session_today():
    text = os.environ.get("TEST_TODAY", "").strip()
    if not text:
        return datetime.datetime.now(BUREAU_TIME_ZONE).date()
    try:
        return datetime.date.fromisoformat(text)
    except ValueError:
        raise pytest.UsageError(f"TEST_TODAY={text!r} is not a date written YYYY-MM-DD") from None


def working_moment(day):
    return datetime.datetime.combine(day, WORKING_HOUR, tzinfo=BUREAU_TIME_ZONE)


def pytest_configure(config):
    config.addinivalue_line("markers", "today(date): the test runs as if that date (YYYY-MM-DD) were today")
    config.session_clock = time_machine.travel(working_moment(session_today()), tick=True)
    config.session_clock.start()


def pytest_unconfigure(config):
    if clock := getattr(config, "session_clock", None):
        clock.stop()


def pytest_report_header(config):
    return f"today: {datetime.datetime.now(BUREAU_TIME_ZONE).date().isoformat()} (TEST_TODAY to change it)"


@pytest.fixture(autouse=True)
def pinned_today(request):
    """Moves the clock to the day a `today` marker names, for that test only."""
    marker = request.node.get_closest_marker("today")
    if marker is None:
        yield
        return
    with time_machine.travel(working_moment(datetime.date.fromisoformat(marker.args[0])), tick=True):
        yield


@pytest.fixture(autouse=True)
def default_language():
    """A request that asks for English leaves it active in the thread: every test starts
    from the default language, whichever test ran before it."""
    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture
def county(db):
    """The county most tests work in: Lanling (371324) with the township 向城镇, a primary and
    a junior secondary school and the current term; and next door Feixian (371325) with a
    school of its own, for scope checks."""
    lanling = RegionFactory()
    town = TownshipFactory(parent=lanling, name="向城镇")
    feixian = RegionFactory(code="371325", name="费县")
    return {
        "county": lanling,
        "town": town,
        "primary": SchoolFactory(region=town, name="兰陵县向城镇中心小学", stages=["primary"]),
        "junior": SchoolFactory(region=town, name="兰陵县向城镇初级中学", stages=["junior"]),
        "term": TermFactory(),
        "other_county": feixian,
        "other": SchoolFactory(region=TownshipFactory(code="371325100", name="费城街道", parent=feixian)),
    }


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
