"""Production as the README sets it up: its settings, `make serve`, /healthz and the logs.

The settings are tried in subprocesses with the environment of deploy/aid.env.example (what
the README has the IT person fill in), never with the test settings' own environment.
"""
import datetime
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from unittest import mock

import pytest
from django.db import OperationalError, connection
from django.utils import timezone

from .databases import scratch_database
from .factories import BureauAdminFactory

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_ENVIRONMENT = ROOT / "deploy" / "aid.env.example"
HOST_NAME = "aid.example"  # ALLOWED_HOSTS in the example


def production_environment(**changes):
    """deploy/aid.env.example with a generated SECRET_KEY; a change to None removes a variable."""
    environment = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp"), "LANG": "C.UTF-8"}
    for line in EXAMPLE_ENVIRONMENT.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            environment[name.strip()] = value.strip()
    environment["SECRET_KEY"] = secrets.token_urlsafe(50)
    environment.update(changes)
    return {name: value for name, value in environment.items() if value is not None}


def run_python(code, environment):
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120,
    )


def manage(*arguments, environment):
    return subprocess.run(
        [sys.executable, "manage.py", *arguments], cwd=ROOT, env=environment, capture_output=True, text=True,
        timeout=120,
    )


# --- Settings -----------------------------------------------------------------------------

def test_deploy_check_passes_with_the_readme_environment():
    result = manage("check", "--deploy", "--fail-level", "WARNING", environment=production_environment())
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    "changes, complaint",
    [
        ({"DEBUG": "1"}, "DEBUG must be off in production"),
        ({"SECRET_KEY": ""}, "SECRET_KEY must be set in production"),
        ({"DATABASE_URL": None}, "DATABASE_URL must be set in production"),
    ],
    ids=["debug-on", "no-secret-key", "no-database-url"],
)
def test_production_refuses_to_start_when_unsafe(changes, complaint):
    result = manage("check", environment=production_environment(**changes))
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and complaint in result.stderr


HTTPS_SETTINGS = """
import json, django
django.setup()
from django.conf import settings
print(json.dumps({name: getattr(settings, name, None) for name in (
    "SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS", "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "SECURE_PROXY_SSL_HEADER",
)}))
"""


def https_settings(**changes):
    result = run_python(HTTPS_SETTINGS, production_environment(**changes))
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_https_protections_are_on_by_default():
    assert https_settings() == {
        "SECURE_SSL_REDIRECT": True,
        "SECURE_HSTS_SECONDS": 365 * 24 * 3600,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
        "SECURE_HSTS_PRELOAD": True,
        "SESSION_COOKIE_SECURE": True,
        "CSRF_COOKIE_SECURE": True,
        "SECURE_PROXY_SSL_HEADER": ["HTTP_X_FORWARDED_PROTO", "https"],
    }


def test_each_https_protection_switches_off_for_a_plain_http_intranet():
    assert https_settings(
        SECURE_SSL_REDIRECT="0", SECURE_HSTS_SECONDS="0", SECURE_HSTS_INCLUDE_SUBDOMAINS="0",
        SECURE_HSTS_PRELOAD="0", SECURE_COOKIES="0", SECURE_PROXY_SSL_HEADER="0",
    ) == {
        "SECURE_SSL_REDIRECT": False,
        "SECURE_HSTS_SECONDS": 0,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": False,
        "SECURE_HSTS_PRELOAD": False,
        "SESSION_COOKIE_SECURE": False,
        "CSRF_COOKIE_SECURE": False,
        "SECURE_PROXY_SSL_HEADER": None,
    }


# --- Logs ---------------------------------------------------------------------------------

FAILING_REQUEST = """
import django
django.setup()
from django.test import Client, override_settings
with override_settings(ROOT_URLCONF="tests.failing_urls", ALLOWED_HOSTS=["testserver"]):
    response = Client(raise_request_exception=False).get("/fail/", secure=True)
print("status", response.status_code)
print("page", response.content.decode())
"""


def test_a_failing_page_shows_the_chinese_error_page_and_logs_its_traceback_to_stdout(tmp_path):
    result = run_python(FAILING_REQUEST, production_environment(STATIC_ROOT=str(tmp_path)))
    assert result.returncode == 0, result.stderr
    assert "status 500" in result.stdout
    assert "系统出错了" in result.stdout
    log = result.stdout
    assert "ERROR django.request: Internal Server Error: /fail/" in log
    assert "Traceback (most recent call last)" in log
    assert "RuntimeError: a failure the tests provoke" in log
    assert re.search(r"INFO config\.request_log: GET /fail/ 500 \d+ms user=-", log)


@pytest.mark.django_db
def test_each_request_is_logged_with_its_user_and_path_but_not_its_query(client_for, settings, caplog):
    settings.MIDDLEWARE = ["config.request_log.RequestLogMiddleware", *settings.MIDDLEWARE]
    client = client_for(BureauAdminFactory(username="zhang"))
    caplog.set_level("INFO", logger="config.request_log")
    client.get("/students/?q=孙晓雨")
    [line] = [record.getMessage() for record in caplog.records if record.name == "config.request_log"]
    assert re.fullmatch(r"GET /students/ 200 \d+ms user=zhang", line)


# --- /healthz -----------------------------------------------------------------------------

@pytest.mark.django_db
def test_healthz_answers_without_a_login_when_the_database_answers(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"database": "ok", "worker": "ok"}
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.django_db
def test_healthz_answers_503_when_a_job_waits_too_long_for_the_worker(client):
    from django_tasks_db.models import DBTaskResult

    from jobs.tasks import purge_expired_downloads

    purge_expired_downloads.enqueue()
    assert client.get("/healthz").json()["worker"] == "ok"  # just queued
    DBTaskResult.objects.update(enqueued_at=timezone.now() - datetime.timedelta(minutes=6))
    response = client.get("/healthz")
    assert (response.status_code, response.json()) == (503, {"database": "ok", "worker": "stalled"})


@pytest.mark.django_db
def test_healthz_answers_503_when_the_database_does_not(client):
    with mock.patch.object(connection, "cursor", side_effect=OperationalError("connection refused")):
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"database": "unavailable"}


# --- make serve ---------------------------------------------------------------------------

def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Output:
    """Collects what a process prints, line by line, while the test goes on."""

    def __init__(self, stream):
        self.lines = []
        self._reader = threading.Thread(target=lambda: self.lines.extend(stream), daemon=True)
        self._reader.start()

    def wait_for(self, text, timeout):
        deadline = time.monotonic() + timeout
        while not any(text in line for line in self.lines):
            assert time.monotonic() < deadline, f"no {text!r} in:\n{self}"
            time.sleep(0.2)

    def __str__(self):
        return "".join(self.lines)


def fetch(url, through_proxy=True):
    """GETs url as nginx forwards a browser's HTTPS request (or, not through_proxy, as a
    monitoring probe on the server itself would); follows no redirect."""
    headers = {"Host": HOST_NAME, "X-Forwarded-Proto": "https"} if through_proxy else {"Host": HOST_NAME}

    class NoRedirects(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *arguments):
            return None

    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), NoRedirects)
    try:
        with opener.open(urllib.request.Request(url, headers=headers), timeout=30) as response:
            return response.status, response.headers, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read().decode()


def test_make_serve_serves_pages_and_static_files_until_ctrl_c(tmp_path):
    port = free_port()
    with scratch_database("serve") as database:
        environment = production_environment(
            DATABASE_URL=database, PORT=str(port), STATIC_ROOT=str(tmp_path / "static"), WEB_CONCURRENCY="2",
        )
        server = subprocess.Popen(
            ["scripts/serve.sh"], cwd=ROOT, env=environment, text=True,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
            # As from a terminal: SIGINT at its default whatever this process inherited (a
            # shell cannot trap a signal that was ignored when it started).
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
        output = Output(server.stdout)
        try:
            output.wait_for(f"Serving on http://127.0.0.1:{port}/", timeout=180)
            base = f"http://127.0.0.1:{port}"

            status, _, page = fetch(f"{base}/login/")
            assert status == 200, output
            stylesheet = re.search(r'href="(/static/css/app\.[0-9a-f]{12}\.css)"', page)
            assert stylesheet, "the page links its stylesheet under its hashed name"
            status, headers, css = fetch(base + stylesheet.group(1))
            assert status == 200 and headers.get_content_type() == "text/css" and css.strip()

            assert fetch(f"{base}/login/", through_proxy=False)[0] == 301  # to HTTPS
            status, _, health = fetch(f"{base}/healthz", through_proxy=False)
            assert (status, json.loads(health)) == (200, {"database": "ok", "worker": "ok"})

            # Ctrl-C in a terminal reaches every process; the script alone must be enough.
            server.send_signal(signal.SIGINT)
            server.wait(timeout=60)
        finally:
            if server.poll() is None:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait()
        with pytest.raises(ProcessLookupError):
            os.killpg(server.pid, 0)  # nothing the script started is left running
    assert re.search(r"GET /login/ 200 \d+ms user=-", str(output))


@pytest.mark.django_db
def test_every_connection_prices_index_reads_as_from_memory():
    """The planner setting of config/settings/base.py, whatever the server's configuration."""
    with connection.cursor() as cursor:
        cursor.execute("SHOW random_page_cost")
        assert cursor.fetchone()[0] == "1.1"
