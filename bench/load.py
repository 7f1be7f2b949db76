"""Load test of the production stack: simulated users of every role opening pages at once.

Run it through bench/run-load, which starts a throwaway PostgreSQL server (see BENCHMARKS.md):

    bench/run-load                                      # 200,000 students, 50 users, 5 minutes
    bench/run-load --students 20000 --users 10 --duration 60    # a quick run
    bench/run-load --markdown                           # the results as Markdown
    DATABASE_URL=postgres://... bench/run-load --no-seed    # an already seeded database, as it is

DATABASE_URL must name a PostgreSQL server where the user may create databases. By default the
county is seeded in a new database (bench_load): migrated, `seed_demo --reset --students N` with
its casework, VACUUM ANALYZE (as autovacuum would soon after a bulk load), and dropped at the
end. With --no-seed the database DATABASE_URL names is used as it is: nothing is written to it
but what the logins themselves write (sessions, the login log) and what migrate would apply.

The server is the production stack as `make serve` runs it: scripts/serve.sh (migrate,
collectstatic, gunicorn with config/gunicorn.py and one db_worker) with
config.settings.production, on a free port of 127.0.0.1, reached directly over plain HTTP (no
nginx): see server_environment() for what is set. The script waits for /healthz, and stops the
whole process group at the end.

Every simulated user is a thread with its own cookies. It logs in through the real login form
(GET /login/ for the CSRF token, then POST), as one of the demo logins, spread across the roles
(LOGIN_WEIGHTS), opens the home page the login leads to (a teacher's: my students), then until
the end of --duration waits 1 to 2 s (uniform) and opens the next page, read to the end: a
closed loop, as a person who waits for the page before going on. The page is drawn by weight
from what its role opens in daily work (STAFF_PAGES, TEACHER_PAGES), only among those the role
may open (the menu's own test), with real URLs built from the data the login sees (students,
visits, cases, batches, inspections of its scope). Redirects are not followed: a 3xx is an
answer, except one that sends the user to the login page. Static files are not requested (nginx
serves them, and browsers keep them).

An error is an exception (refused, reset, --timeout seconds without an answer), a status of 400
or more, or a redirect to the login page. Per page and overall: requests, errors, median, p95,
p99 and max of the time from sending the request to reading the last byte (errors included),
for the pages alone and with the logins (each a password hash: about a second of CPU). The
issue's target is read as 0 errors in all requests and a p95 under 500 ms for the pages.
Progress goes to stderr; stdout gets only the report (Markdown with --markdown). The exit
status is 0 whatever was measured: a benchmark reports, it does not fail a build.
"""
import argparse
import contextlib
import http.client
import http.cookies
import os
import random
import re
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections import Counter, defaultdict

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from import_export import ROOT, fresh_database, log, machine, setup_django  # noqa: E402

TARGET_P95_MS = 500  # from the issue: 0 errors and p95 under 500 ms
PASSWORD = os.environ.get("DEMO_PASSWORD") or "demo12345"
HOST = "127.0.0.1"

# Simulated users per role, as a share: many teachers and school administrators, the grid
# leaders, a few bureau clerks, the city viewer, the other county's bureau. Each role's logins
# are taken in turn (several users may share one login: each has a session of its own).
LOGIN_WEIGHTS = (
    ("teacher", ("teacher",), 14),
    ("school", ("school1", "school2"), 12),
    ("grid", ("grid", "grid2", "grid3", "grid4", "grid5", "grid6", "grid7", "grid8", "grid9"), 9),
    ("bureau", ("bureau", "approver"), 6),
    ("city", ("city",), 5),
    ("zichuan", ("zichuan",), 4),
)

SAMPLE_SIZE = 200  # students (and at most as many visits, cases, ...) each login draws from


# ---------------------------------------------------------------------------------------
# The pages: (label, URL name, weight, how to make the URL). The weight is how often a user
# of the role opens the page in daily work, against the others: the student list, its
# searches and a student's page most, the casework lists often, the dashboards when coming
# back to them, the monthly reports (precision, ledgers) seldom. A maker gets the login's
# samples and a random generator and returns the URL, or None when the login has nothing
# for it (no visit in its scope, say).
# ---------------------------------------------------------------------------------------


def plain(name):
    def make(samples, rng):
        from django.urls import reverse

        return reverse(name)

    return make


def with_query(name, query):
    def make(samples, rng):
        from django.urls import reverse

        value = query(samples, rng)
        return None if value is None else f"{reverse(name)}?{urllib.parse.urlencode(value)}"

    return make


def detail(name, key):
    def make(samples, rng):
        from django.urls import reverse

        return reverse(name, args=[rng.choice(samples[key])]) if samples[key] else None

    return make


def student_field(field, take=lambda value: value):
    def query(samples, rng):
        return {"q": take(rng.choice(samples["students"])[field])} if samples["students"] else None

    return query


def deep_page(samples, rng):
    pages = samples["list_pages"]
    return {"page": rng.randint(2, min(pages, 200))} if pages >= 2 else None


def filtered(samples, rng):
    if not samples["students"]:
        return None
    return {"stage": rng.choice(samples["students"])["stage"], "status": "enrolled"}


def ledger(kind):
    return with_query("aid:ledger", lambda samples, rng: {"kind": kind})


STAFF_PAGES = [
    ("home page", "home", 3, plain("home")),
    ("students: list", "students:student_list", 4, plain("students:student_list")),
    ("students: filtered (stage, enrolled)", "students:student_list", 1,
     with_query("students:student_list", filtered)),
    ("students: 2-character name search", "students:student_list", 2,
     with_query("students:student_list", student_field("name", lambda name: name[:2]))),
    ("students: full name search", "students:student_list", 1,
     with_query("students:student_list", student_field("name"))),
    ("students: last six ID digits", "students:student_list", 1,
     with_query("students:student_list", student_field("id_number", lambda number: number[-6:]))),
    ("students: a later page", "students:student_list", 1, with_query("students:student_list", deep_page)),
    ("student's page", "students:student_detail", 5, detail("students:student_detail", "student_ids")),
    ("household's page", "students:household_detail", 1, detail("students:household_detail", "household_ids")),
    ("schools", "students:school_list", 1, plain("students:school_list")),
    ("school's page", "students:school_detail", 1, detail("students:school_detail", "school_ids")),
    ("distribution", "students:distribution", 1, plain("students:distribution")),
    ("unpaired", "aid:unpaired", 2, plain("aid:unpaired")),
    ("teachers", "aid:teacher_list", 1, plain("aid:teacher_list")),
    ("visits", "aid:visit_list", 2, plain("aid:visit_list")),
    ("visit's page", "aid:visit_detail", 1, detail("aid:visit_detail", "visit_ids")),
    ("coverage", "aid:coverage", 1, plain("aid:coverage")),
    ("cases", "aid:case_list", 2, plain("aid:case_list")),
    ("case's page", "aid:case_detail", 1, detail("aid:case_detail", "case_ids")),
    ("batches", "aid:batch_list", 1, plain("aid:batch_list")),
    ("batch's page", "aid:batch_detail", 1, detail("aid:batch_detail", "batch_ids")),
    ("precision", "aid:precision", 0.5, plain("aid:precision")),
    ("ledger: school_age", "aid:ledger", 0.2, ledger("school_age")),
    ("ledger: suspected", "aid:ledger", 0.2, ledger("suspected")),
    ("ledger: dropout", "aid:ledger", 0.2, ledger("dropout")),
    ("grids", "aid:grid_list", 0.5, plain("aid:grid_list")),
    ("inspections", "aid:inspection_list", 1, plain("aid:inspection_list")),
    ("inspection's page", "aid:inspection_detail", 1, detail("aid:inspection_detail", "inspection_ids")),
    ("rectifications", "aid:rectification_list", 1, plain("aid:rectification_list")),
    ("school projects", "aid:project_list", 0.5, plain("aid:project_list")),
    ("notifications", "notices:list", 0.5, plain("notices:list")),
    ("my downloads", "jobs:job_list", 0.3, plain("jobs:job_list")),
]
# A teacher, on a phone, keeps to the short menu (config/navigation.py) and its students.
TEACHER_PAGES = [
    ("my students", "aid:my_students", 5, plain("aid:my_students")),
    ("student's page", "students:student_detail", 5, detail("students:student_detail", "student_ids")),
    ("visits", "aid:visit_list", 2, plain("aid:visit_list")),
    ("visit's page", "aid:visit_detail", 2, detail("aid:visit_detail", "visit_ids")),
    ("cases", "aid:case_list", 1, plain("aid:case_list")),
    ("notifications", "notices:list", 0.5, plain("notices:list")),
    ("my downloads", "jobs:job_list", 0.3, plain("jobs:job_list")),
]


# ---------------------------------------------------------------------------------------
# Arithmetic (tests/bench/test_load.py)
# ---------------------------------------------------------------------------------------


def percentile(values, p):
    """The p-th percentile (0–100) of the values, interpolated between the two nearest ranks
    (numpy's default, and statistics.quantiles(method="inclusive")); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * p / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def summarize(samples):
    """{requests, errors, median, p95, p99, max} of (milliseconds, error or None) pairs."""
    times = [ms for ms, _error in samples]
    return {
        "requests": len(samples),
        "errors": sum(1 for _ms, error in samples if error),
        "median": percentile(times, 50),
        "p95": percentile(times, 95),
        "p99": percentile(times, 99),
        "max": max(times) if times else None,
    }


def spread_logins(users, weights=LOGIN_WEIGHTS):
    """The (role, login) of each of `users` simulated users: roles interleaved in proportion
    to their weights (smooth weighted round robin, so any number of users takes every role
    in turn), each role's logins taken one after the other."""
    current = {role: 0 for role, _logins, _weight in weights}
    total = sum(weight for _role, _logins, weight in weights)
    taken = Counter()
    chosen = []
    for _user in range(users):
        for role, _logins, weight in weights:
            current[role] += weight
        role, logins, _weight = max(weights, key=lambda row: current[row[0]])
        current[role] -= total
        chosen.append((role, logins[taken[role] % len(logins)]))
        taken[role] += 1
    return chosen


# ---------------------------------------------------------------------------------------
# The plan: each login's pages, from the data (this process reads it through the ORM once,
# before the load starts, and closes its connection)
# ---------------------------------------------------------------------------------------


def login_samples(user, rng):
    from aid.casework.models import HomeVisit
    from aid.dropout.models import DropoutCase
    from aid.subsidies.models import DisbursementBatch
    from aid.supervision.models import Inspection
    from students.models import School, Student

    def some(queryset, size=SAMPLE_SIZE):
        ids = list(queryset.order_by("pk").values_list("pk", flat=True))
        return sorted(rng.sample(ids, min(size, len(ids))))

    on_roster = Student.objects.visible_to(user).on_roster()
    student_ids = some(on_roster)
    students = list(Student.objects.filter(pk__in=student_ids).values("name", "id_number", "stage", "household_id"))
    return {
        "students": students,
        "student_ids": student_ids,
        "household_ids": sorted({row["household_id"] for row in students if row["household_id"]}),
        "list_pages": (on_roster.count() - 1) // 50 + 1,
        "school_ids": some(School.objects.visible_to(user), 50),
        "visit_ids": some(HomeVisit.objects.visible_to(user)),
        "case_ids": some(DropoutCase.objects.visible_to(user)),
        "batch_ids": some(DisbursementBatch.objects.visible_to(user), 50),
        "inspection_ids": some(Inspection.objects.visible_to(user), 50),
    }


def make_plan(logins, seed):
    """{login: [(label, weight, [URL, ...]), ...]} of the pages the login's role may open
    (the menu's test, students.templatetags.permissions.may_open), 20 URLs drawn per page."""
    from django.db import connections

    from students.choices import Role
    from students.models import User
    from students.templatetags.permissions import may_open

    plan = {}
    users = {user.username: user for user in User.objects.filter(username__in=logins, is_active=True)}
    for login in logins:
        user = users.get(login)
        if user is None:
            log(f"{login}: no such active login in this database; its users are left out")
            continue
        rng = random.Random(f"{seed}:{login}")
        samples = login_samples(user, rng)
        catalogue = TEACHER_PAGES if user.role == Role.TEACHER else STAFF_PAGES
        pages = []
        for label, name, weight, make in catalogue:
            if not may_open(user, name):
                continue
            urls = [url for url in (make(samples, rng) for _n in range(20)) if url]
            if urls:
                pages.append((label, weight, sorted(set(urls))))
        plan[login] = pages
        log(f"{login}: {len(pages)} pages, {len(samples['student_ids'])} students drawn")
    connections.close_all()
    return plan


def data_facts(url):
    import psycopg2

    connection = psycopg2.connect(url)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*), count(*) FILTER (WHERE left_roster_on IS NULL) FROM students_student")
            students, on_roster = cursor.fetchone()
            cursor.execute("SELECT pg_database_size(current_database())")
            size = cursor.fetchone()[0]
    finally:
        connection.close()
    return {"students": students, "on_roster": on_roster, "database_mb": size / 1e6}


# ---------------------------------------------------------------------------------------
# A user: a small HTTP client with its cookies (the standard library; gunicorn's sync workers
# close the connection after each response, so each request opens its own)
# ---------------------------------------------------------------------------------------


class Answer:
    def __init__(self, status, location, body):
        self.status, self.location, self.body = status, location, body


class Browser:
    def __init__(self, port, timeout):
        self.port, self.timeout = port, timeout
        self.cookies = {}
        self.origin = f"http://{HOST}:{port}"

    def request(self, method, path, form=None):
        headers = {"User-Agent": "bench-load", "Accept": "text/html", "Accept-Language": "zh-CN,zh;q=0.9"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form).encode()
            headers.update({"Content-Type": "application/x-www-form-urlencoded",
                            "Origin": self.origin, "Referer": self.origin + path})
        connection = http.client.HTTPConnection(HOST, self.port, timeout=self.timeout)
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            content = response.read()
            for header in response.headers.get_all("Set-Cookie") or []:
                self.keep(header)
            return Answer(response.status, response.getheader("Location", ""), content)
        finally:
            connection.close()

    def keep(self, header):
        cookie = http.cookies.SimpleCookie()
        cookie.load(header)
        for name, morsel in cookie.items():
            if morsel["max-age"] == "0" or morsel.value == "":
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = morsel.value


class Recorder:
    """Every request's (label, role, milliseconds, error or None), from every thread."""

    def __init__(self):
        self.lock = threading.Lock()
        self.rows = []

    def timed(self, browser, label, role, method, path, form=None):
        start = time.perf_counter()
        error, answer = None, None
        try:
            answer = browser.request(method, path, form)
        except (OSError, http.client.HTTPException) as exc:  # socket.timeout is an OSError
            error = "timeout" if isinstance(exc, TimeoutError) else type(exc).__name__
        ms = (time.perf_counter() - start) * 1000
        if answer is not None:
            if answer.status >= 400:
                error = str(answer.status)
            elif 300 <= answer.status < 400 and urllib.parse.urlsplit(answer.location).path.startswith("/login/"):
                error = "sent to log in"
            elif ms > browser.timeout * 1000:
                error = "timeout"
        with self.lock:
            self.rows.append((label, role, ms, error))
        return answer if error is None else None


class LoginFailed(Exception):
    pass


def log_in(browser, recorder, role, login):
    page = recorder.timed(browser, "log in: the form", role, "GET", "/login/")
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page.body) if page else None
    if token is None:
        raise LoginFailed(f"{login}: the login form did not come")
    form = {"csrfmiddlewaretoken": token.group(1).decode(), "username": login, "password": PASSWORD, "next": ""}
    answer = recorder.timed(browser, "log in: sending it", role, "POST", "/login/", form)
    if answer is None or answer.status != 302:
        raise LoginFailed(f"{login}: the login was refused (wrong password, lockout?)")
    if re.search(r"/account/(two-factor|password)", answer.location):
        raise LoginFailed(f"{login}: sent to {answer.location} (TWO_FACTOR_REQUIRED or a forced password change)")


def simulate(index, role, login, pages, args, recorder, start_at, stop_at, failures):
    rng = random.Random(f"{args.seed}:user:{index}")
    browser = Browser(args.port, args.timeout)
    time.sleep(max(0.0, start_at - time.monotonic()))
    try:
        log_in(browser, recorder, role, login)
    except LoginFailed as exc:
        failures.append(str(exc))
        return
    # Each role's home page is a dashboard of its own: reported apart.
    pages = [(f"{label}: {role}" if label == "home page" else label, weight, urls) for label, weight, urls in pages]
    labels = [label for label, _weight, _urls in pages]
    weights = [weight for _label, weight, _urls in pages]
    urls = {label: page_urls for label, _weight, page_urls in pages}
    label = labels[0]  # where the login leads: the home page (a teacher's: my students)
    while time.monotonic() < stop_at:
        recorder.timed(browser, label, role, "GET", rng.choice(urls[label]))
        time.sleep(min(rng.uniform(1.0, 2.0), max(0.0, stop_at - time.monotonic())))
        label = rng.choices(labels, weights)[0]


def run_load(plan, args):
    """Starts the users (their logins spread over --ramp seconds), waits for them; returns the
    recorder, the failed logins, the users started and the seconds the load lasted."""
    chosen = [(role, login) for role, login in spread_logins(args.users) if plan.get(login)]
    recorder, failures = Recorder(), []
    begin = time.monotonic()
    stop_at = begin + args.ramp + args.duration
    threads = []
    for index, (role, login) in enumerate(chosen):
        start_at = begin + args.ramp * index / max(len(chosen), 1)
        thread = threading.Thread(
            target=simulate, args=(index, role, login, plan[login], args, recorder, start_at, stop_at, failures),
            daemon=True,
        )
        thread.start()
        threads.append(thread)
    log(f"{len(threads)} users: {dict(Counter(role for role, _login in chosen))}; "
        f"logins over {args.ramp:g} s, then pages until {args.ramp + args.duration:g} s")
    next_note = begin + 30
    while any(thread.is_alive() for thread in threads):
        time.sleep(1)
        if time.monotonic() >= next_note:
            with recorder.lock:
                done = len(recorder.rows)
                errors = sum(1 for row in recorder.rows if row[3])
            log(f"{time.monotonic() - begin:.0f} s: {done} requests, {errors} errors, "
                f"load average {os.getloadavg()[0]:.2f}")
            next_note += 30
    return recorder, failures, chosen, time.monotonic() - begin


# ---------------------------------------------------------------------------------------
# The server: scripts/serve.sh as `make serve` runs it
# ---------------------------------------------------------------------------------------


def free_port():
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def server_environment(database_url, port, workdir, environ):
    """The production settings' environment for a plain-HTTP run on this machine, gunicorn
    reached directly: the README's "Plain HTTP on an intranet" switches (SECURE_SSL_REDIRECT,
    SECURE_HSTS_SECONDS, SECURE_COOKIES), no proxy in front (SECURE_PROXY_SSL_HEADER,
    BEHIND_PROXY), the demo's logins as printed (no second factor, no forced change)."""
    env = dict(environ)
    env.update({
        "DATABASE_URL": database_url,
        "SECRET_KEY": "bench-only-not-secret",
        "ALLOWED_HOSTS": HOST,
        "HOST": HOST,
        "PORT": str(port),
        "SECURE_SSL_REDIRECT": "0",
        "SECURE_HSTS_SECONDS": "0",
        "SECURE_COOKIES": "0",
        "SECURE_PROXY_SSL_HEADER": "0",
        "BEHIND_PROXY": "0",
        "TWO_FACTOR_REQUIRED": "0",
        "DEMO_MUST_CHANGE_PASSWORD": "0",
        "MEDIA_ROOT": os.path.join(workdir, "media"),
        "STATIC_ROOT": os.path.join(workdir, "static"),
    })
    for name in ("DJANGO_SETTINGS_MODULE", "DEBUG"):
        env.pop(name, None)  # serve.sh sets the production settings; DEBUG must stay off
    return env


@contextlib.contextmanager
def production_server(database_url, port, environ, server_log=None):
    """scripts/serve.sh in a process group of its own, until /healthz answers 200; stopped as a
    whole at the end (SIGTERM, as Ctrl-C or systemd would). Yields a dict that gets
    "server" (read_server_log) once the server has stopped."""
    state = {}
    with tempfile.TemporaryDirectory(prefix="bench-load-") as workdir:
        log_path = server_log or os.path.join(workdir, "serve.log")
        with open(log_path, "w") as output:
            process = subprocess.Popen(
                ["scripts/serve.sh"], cwd=ROOT, env=server_environment(database_url, port, workdir, environ),
                stdout=output, stderr=subprocess.STDOUT, start_new_session=True,
            )
            try:
                wait_healthy(port, process, log_path)
                yield state
            finally:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()
        state["server"] = read_server_log(log_path)


def wait_healthy(port, process, log_path, seconds=180):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"make serve stopped (status {process.returncode}):\n{tail(log_path)}")
        with contextlib.suppress(OSError, http.client.HTTPException):
            if Browser(port, 5).request("GET", "/healthz").status == 200:
                return
        time.sleep(1)
    sys.exit(f"/healthz did not answer 200 within {seconds} s:\n{tail(log_path)}")


def tail(path, lines=30):
    with open(path, errors="replace") as handle:
        return "".join(handle.readlines()[-lines:])


REQUEST_LINE = re.compile(r"config\.request_log: (?:GET|POST) (\S+) \d{3} (\d+)ms")


def read_server_log(path):
    """From the server's log: the server errors (500s) and the first such line, the workers
    gunicorn replaced for spending more than GUNICORN_TIMEOUT on one request, and the time
    each request took inside Django (config.request_log; /healthz left out). The difference
    from the time the user saw is mostly the wait for a free worker."""
    found = {"errors": 0, "first_error": None, "replaced": 0, "server_ms": []}
    with open(path, errors="replace") as handle:
        for line in handle:
            if " ERROR django.request" in line:
                found["errors"] += 1
                found["first_error"] = found["first_error"] or line.strip()
            elif "WORKER TIMEOUT" in line:
                found["replaced"] += 1
            elif (match := REQUEST_LINE.search(line)) and match.group(1) != "/healthz":
                found["server_ms"].append(int(match.group(2)))
    return found


# ---------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------

HEADERS = ("page", "roles", "requests", "errors", "median ms", "p95 ms", "p99 ms", "max ms")


def ms_text(value):
    return "" if value is None else f"{value:,.0f}"


def table_rows(rows):
    by_label = defaultdict(list)
    roles = defaultdict(set)
    for label, role, ms, error in rows:
        by_label[label].append((ms, error))
        roles[label].add(role)
    role_order = [role for role, _logins, _weight in LOGIN_WEIGHTS]
    result = []
    for label in sorted(by_label, key=lambda label: (not label.startswith("log in"), label)):
        summary = summarize(by_label[label])
        result.append(summary_cells(label, ", ".join(r for r in role_order if r in roles[label]), summary))
    pages = summarize([(ms, error) for label, _role, ms, error in rows if not label.startswith("log in")])
    result.append(summary_cells("all pages (no logins)", "", pages))
    overall = summarize([(ms, error) for _label, _role, ms, error in rows])
    result.append(summary_cells("all requests", "", overall))
    return result, pages, overall


def summary_cells(label, roles, summary):
    return (label, roles, f"{summary['requests']:,}", f"{summary['errors']:,}", ms_text(summary["median"]),
            ms_text(summary["p95"]), ms_text(summary["p99"]), ms_text(summary["max"]))


def error_lines(rows):
    kinds = defaultdict(Counter)
    for label, _role, _ms, error in rows:
        if error:
            kinds[label][error] += 1
    return [f"{label}: " + ", ".join(f"{count} × {error}" for error, count in counter.most_common())
            for label, counter in sorted(kinds.items())]


def report(rows, facts, markdown):
    table, pages, overall = table_rows(rows)
    met_errors = overall["errors"] == 0
    met_p95 = pages["p95"] is not None and pages["p95"] < TARGET_P95_MS
    sentences = [
        f"{facts['students']:,} students, {facts['on_roster']:,} on the roster; database {facts['database_mb']:,.0f} MB"
        f"{facts['seeded']}.",
        f"{facts['users']} users ({facts['mix']}), each opening a page every 1–2 s (after the answer) for "
        f"{facts['duration']:g} s after logins spread over {facts['ramp']:g} s; gunicorn with {facts['workers']} "
        f"workers and one db_worker; timeout {facts['timeout']:g} s.",
        f"{overall['requests']:,} requests in {facts['seconds']:.0f} s ({overall['requests'] / facts['seconds']:.1f} a second); "
        f"load average (1 min) {facts['load'][0]:.2f} at the start, {facts['load'][1]:.2f} at the end; "
        f"the load script used {facts['client_cpu']:.1f} s of CPU.",
        f"Target: 0 errors: {overall['errors']:,} ({'met' if met_errors else 'MISSED'}); p95 of the pages < "
        f"{TARGET_P95_MS} ms: {ms_text(pages['p95'])} ms ({'met' if met_p95 else 'MISSED'}).",
    ]
    server = facts["server"]
    if server["server_ms"]:
        sentences.append(
            f"Inside Django (the server's request log, {len(server['server_ms']):,} requests): median "
            f"{ms_text(percentile(server['server_ms'], 50))} ms, p95 {ms_text(percentile(server['server_ms'], 95))} ms; "
            f"the rest of the users' times is mostly the wait for a free worker."
        )
    if server["errors"]:
        sentences.append(f"Server errors (500) in the server's log: {server['errors']}; the first: {server['first_error']}")
    if server["replaced"]:
        sentences.append(f"gunicorn replaced {server['replaced']} workers that spent over its timeout on one request.")
    sentences += [f"Login failed: {failure}" for failure in facts["failures"]]
    errors = error_lines(rows)
    if markdown:
        print("| machine | |\n| --- | --- |")
        for key, value in facts["machine"].items():
            print(f"| {key} | {value} |")
        print()
        print(" ".join(sentences))
        print()
        print("| " + " | ".join(HEADERS) + " |")
        print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
        for row in table:
            cells = list(row)
            if row[0].startswith("all "):
                cells = [f"**{cell}**" if cell else "" for cell in cells]
            print("| " + " | ".join(cells) + " |")
        if errors:
            print("\nErrors by page:\n")
            for line in errors:
                print(f"- {line}")
        return
    print(" · ".join(f"{key} {value}" for key, value in facts["machine"].items()))
    for sentence in sentences:
        print(sentence)
    widths = [max(len(row[index]) for row in [HEADERS] + table) for index in range(len(HEADERS))]
    for row in [HEADERS] + table:
        print("  ".join(cell.rjust(width) if index >= 2 else cell.ljust(width)
                        for index, (cell, width) in enumerate(zip(row, widths))).rstrip())
    if errors:
        print("Errors by page:")
        for line in errors:
            print(f"  {line}")


# ---------------------------------------------------------------------------------------


def seed(database_url, students):
    """Migrate and seed_demo in child processes, then VACUUM ANALYZE; returns the seconds."""
    import psycopg2

    env = dict(os.environ, DATABASE_URL=database_url)
    start = time.perf_counter()
    log("migrating a new database")
    subprocess.run([sys.executable, "manage.py", "migrate", "--no-input", "--verbosity", "0"],
                   cwd=ROOT, env=env, check=True)
    log(f"seeding the demo county with {students:,} students and their casework")
    subprocess.run([sys.executable, "manage.py", "seed_demo", "--reset", "--students", str(students)],
                   cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
    log("VACUUM ANALYZE")
    connection = psycopg2.connect(database_url)
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
    finally:
        connection.close()
    return time.perf_counter() - start


def measure(database_url, args, environ, seeded):
    os.environ["DATABASE_URL"] = database_url
    setup_django()
    logins = sorted({login for _role, login in spread_logins(args.users)})
    plan = make_plan(logins, args.seed)
    if args.skip:
        plan = {login: [page for page in pages if not re.search(args.skip, page[0])] for login, pages in plan.items()}
    facts = data_facts(database_url)
    facts["machine"] = machine(database_url)
    args.port = free_port()
    from config import gunicorn  # its worker count, from the same WEB_CONCURRENCY as the server's

    log(f"starting make serve (scripts/serve.sh) on port {args.port}")
    load = [os.getloadavg()[0]]
    cpu = resource.getrusage(resource.RUSAGE_SELF)
    with production_server(database_url, args.port, environ, args.server_log) as server:
        log("healthy; the users start")
        recorder, failures, chosen, seconds = run_load(plan, args)
        load.append(os.getloadavg()[0])
        log("stopping the server")
    cpu_after = resource.getrusage(resource.RUSAGE_SELF)
    facts.update({
        "seeded": seeded,
        "users": len(chosen),
        "mix": ", ".join(f"{count} {role}" for role, count in Counter(role for role, _login in chosen).items()),
        "duration": args.duration,
        "ramp": args.ramp,
        "timeout": args.timeout,
        "workers": gunicorn.workers,
        "seconds": seconds,
        "load": load,
        "client_cpu": (cpu_after.ru_utime + cpu_after.ru_stime) - (cpu.ru_utime + cpu.ru_stime),
        "server": server["server"],
        "failures": failures,
    })
    return recorder.rows, facts


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--students", type=int, default=200_000, help="students seeded (default %(default)s)")
    parser.add_argument("--no-seed", action="store_true",
                        help="use the database DATABASE_URL names as it is, already seeded")
    parser.add_argument("--users", type=int, default=50, help="simulated users (default %(default)s)")
    parser.add_argument("--duration", type=float, default=300, help="seconds of pages, after the logins (default %(default)s)")
    parser.add_argument("--ramp", type=float, default=10, help="seconds the logins are spread over (default %(default)s)")
    parser.add_argument("--timeout", type=float, default=60,
                        help="seconds a request may take; longer counts as an error (default %(default)s)")
    parser.add_argument("--skip", help="leave out the pages whose label matches this regular expression")
    parser.add_argument("--seed", type=int, default=7, help="random seed of the pages drawn (default %(default)s)")
    parser.add_argument("--server-log", help="keep the server's log in this file")
    parser.add_argument("--markdown", action="store_true", help="print the results as Markdown")
    args = parser.parse_args()

    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        sys.exit("DATABASE_URL must point at a PostgreSQL server (bench/run-load starts a throwaway one).")
    environ = dict(os.environ)  # before setup_django() adds its own
    if args.no_seed:
        rows, facts = measure(url, args, environ, "")
    else:
        with fresh_database(url, "bench_load") as bench_url:
            seconds = seed(bench_url, args.students)
            rows, facts = measure(bench_url, args, environ, f"; seeded in {seconds:.0f} s")
            from django.db import connections

            connections.close_all()
    report(rows, facts, args.markdown)


if __name__ == "__main__":
    main()
