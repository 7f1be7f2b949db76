"""Benchmark of the pages users open, on a large county (a script, not a timed test).

Run it through bench/run-pages, which starts a throwaway PostgreSQL server (see BENCHMARKS.md):

    bench/run-pages                      # 200,000 students (seeding takes a few minutes)
    bench/run-pages --students 20000     # a quicker run
    bench/run-pages --markdown           # the results as Markdown, as in BENCHMARKS.md

DATABASE_URL must name a PostgreSQL server where the user may create databases. The pages run
in a new database (bench_pages), migrated and seeded with `seed_demo --students N` (casework
included: one county holding every student, the city viewer above it), then dropped; the
database DATABASE_URL names is not touched. With --no-seed the database DATABASE_URL names is
used as it is (already seeded), and kept.

Every page is requested in this process with Django's test client, logged in as the demo user
who opens it. The server time is the time client.get() takes (the whole request through the
middleware, the response read to the end). Each page is opened --warmup times first, then
timed --repeat times, and the median is reported with the number of SQL queries of one
request. A page whose first request took more than --slow-seconds is timed --slow-repeat
times after that one warm-up (the slowest pages would take minutes each). Django admin's changelist of students is
timed the same way in the same run, so the ratios hold on a busy machine.

Progress goes to stderr; stdout gets only the table (or the Markdown with --markdown).
"""
import argparse
import datetime
import os
import re
import resource
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from import_export import ROOT, bench_user, fresh_database, log, machine, setup_django  # noqa: E402

PAGE_TARGET_MS = 300
LEDGER_TARGET_MS = 500
FIRST_PAGE_RATIO = 0.8  # the student list's first page against admin's changelist
SEARCH_RATIO = 0.25  # a name or ID-tail search against admin's name search
DEEP_PAGE_MS = 100
BATCH_LINES = 5000  # the batch page measured is the one whose line count is closest to this


def seed(students):
    """seed_demo in a child process: this process then starts the pages without the heap of
    objects the seeding leaves (the garbage collector would walk it at every request)."""
    subprocess.run(
        [sys.executable, "manage.py", "seed_demo", "--reset", "--students", str(students)],
        cwd=ROOT, check=True, stdout=subprocess.DEVNULL,
    )


def child_cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def vacuum():
    """VACUUM ANALYZE, as autovacuum does within a minute or two of a bulk load: until then
    the visibility map is empty, and an index-only scan must still read every table row."""
    from django.db import connection

    log("VACUUM ANALYZE")
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")


def samples():
    """Search terms and objects taken from the seeded data, the same for every run."""
    from django.db.models import Count

    from django.utils import timezone

    from aid.dropout.ledgers import Period
    from aid.subsidies.models import DisbursementBatch, DisbursementLine
    from students.models import Student

    students = Student.objects.on_roster().order_by("pk")
    total = students.count()
    middle = students[total // 2]
    three = students.filter(name__regex=r"^...$").order_by("pk")[total // 3 : total // 3 + 1].get()
    batches = DisbursementBatch.objects.annotate(lines_count=Count("lines"))
    batch = min(batches, key=lambda b: abs(b.lines_count - BATCH_LINES))
    school_id = (
        DisbursementLine.objects.filter(batch=batch).values("school_id")
        .annotate(n=Count("pk")).order_by("-n").values_list("school_id", flat=True)[0]
    )
    return {
        # Page 1000, or the last page of a smaller county (admin shows 100 rows a page, the list 50).
        "admin_page": min(1000, max(1, (Student.objects.count() - 1) // 100 + 1)),
        "list_page": min(1000, max(1, (total - 1) // 50 + 1)),
        "two": middle.name[:2],  # surname and the first given character: a substring of many
        "three": three.name,
        "tail": middle.id_number[-6:],
        "batch": batch,
        "school_id": school_id,
        "last_month": Period.current_month(timezone.localdate().replace(day=1) - datetime.timedelta(days=1)).label,
    }


def pages(found):
    """(label, login, url, target) for every page measured; the target is a callable of the
    results so far, returning (text, met) or None."""
    from django.urls import reverse

    from aid.dropout.exports import LedgerKind

    students = reverse("students:student_list")
    admin = reverse("admin:students_student_changelist")
    batch = found["batch"]

    def within(limit):
        return lambda ms, times: (f"≤ {limit} ms", ms <= limit)

    def ratio(of, limit):
        """Against the reference page timed alongside, request for request (see run)."""
        def target(ms, times):
            return f"≤ {limit:g} × {of} ({times[of]:.0f} ms alongside): {ms / times[of]:.2f} ×", ms <= limit * times[of]

        target.reference = of
        return target

    page = within(PAGE_TARGET_MS)
    rows = [
        ("admin: students changelist", "bench", admin, None),
        ("admin: name search", "bench", f"{admin}?q={found['two']}", None),
        (f"admin: page {found['admin_page']}", "bench", f"{admin}?p={found['admin_page']}", None),
    ]
    for login in ("bureau", "city", "school1", "grid"):
        rows.append((f"home page: {login}", login, reverse("home"), page))
    # A teacher's home page is the list of their students (the home URL redirects there).
    rows.append(("home page: teacher", "teacher", reverse("aid:my_students"), page))
    rows += [
        ("students: first page", "bureau", students, ratio("admin: students changelist", FIRST_PAGE_RATIO)),
        ("students: filtered (junior, enrolled)", "bureau", f"{students}?stage=junior&status=enrolled", page),
        ("students: 2-character name search", "bureau", f"{students}?q={found['two']}",
         ratio("admin: name search", SEARCH_RATIO)),
        ("students: 3-character name search", "bureau", f"{students}?q={found['three']}",
         ratio("admin: name search", SEARCH_RATIO)),
        ("students: last six ID digits", "bureau", f"{students}?q={found['tail']}",
         ratio("admin: name search", SEARCH_RATIO)),
        (f"students: page {found['list_page']}", "bureau", f"{students}?page={found['list_page']}",
         within(DEEP_PAGE_MS)),
        ("students: first page, city viewer", "city", students, page),
        ("distribution", "bureau", reverse("students:distribution"), page),
        ("visits", "bureau", reverse("aid:visit_list"), page),
        ("cases", "bureau", reverse("aid:case_list"), page),
        ("unpaired", "bureau", reverse("aid:unpaired"), page),
        ("coverage", "bureau", reverse("aid:coverage"), page),
        ("precision", "bureau", reverse("aid:precision"), page),
    ]
    for kind in LedgerKind:
        rows.append((f"ledger: {kind.value}", "bureau", f"{reverse('aid:ledger')}?kind={kind.value}",
                     within(LEDGER_TARGET_MS)))
        # Last month's ledger reads the students' history, not the table as it stands.
        rows.append((f"ledger: {kind.value}, last month", "bureau",
                     f"{reverse('aid:ledger')}?kind={kind.value}&period={found['last_month']}", within(LEDGER_TARGET_MS)))
    # The whole ledger, printed and exported: as long as the ledger, no target.
    for kind in LedgerKind:
        rows.append((f"ledger print: {kind.value}", "bureau", f"{reverse('aid:ledger_print')}?kind={kind.value}", None))
        rows.append((f"ledger export: {kind.value} (.xlsx)", "bureau",
                     f"{reverse('aid:ledger_export')}?kind={kind.value}", None))
    rows += [
        (f"batch of {batch.lines.count():,} lines", "bureau", batch.get_absolute_url(), page),
        ("signature roster of a school (.xlsx)", "bureau",
         f"{reverse('aid:batch_roster_export', args=[batch.pk])}?school={found['school_id']}", page),
    ]
    return rows


def request_once(client, url):
    start = time.perf_counter()
    response = client.get(url)
    if response.streaming:
        for _chunk in response.streaming_content:
            pass
    elapsed = (time.perf_counter() - start) * 1000
    if response.status_code != 200:
        sys.exit(f"{url} answered {response.status_code} {response.get('Location', '')}")
    return elapsed


def measure(client, url, args, timed_run=None):
    """(median ms, every timed run in ms, queries of one request). `timed_run` makes one
    timed request (by default: of `url`)."""
    from django.db import connection

    queries = []

    def count(execute, sql, params, many, context):
        queries.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        first = request_once(client, url)
    slow = first > args.slow_seconds * 1000
    for _run in range(0 if slow else args.warmup - 1):
        request_once(client, url)
    repeat = args.slow_repeat if slow else args.repeat
    timed_run = timed_run or (lambda: request_once(client, url))
    runs = [timed_run() for _run in range(repeat)]
    return statistics.median(runs), runs, len(queries)


def measure_alongside(client, url, reference_client, reference_url, args):
    """measure() for a page, each run right after a run of its reference page; returns the
    page's measure and the reference's median in the same runs."""
    reference_runs = []

    def pair():
        reference_runs.append(request_once(reference_client, reference_url))
        return request_once(client, url)

    result = measure(client, url, args, timed_run=pair)
    return result, statistics.median(reference_runs[-len(result[1]):])


def clients():
    from django.test import Client

    from students.models import User

    bench_user()
    by_login = {}
    for user in User.objects.filter(username__in=["bench", "bureau", "city", "school1", "teacher", "grid"]):
        client = Client()
        client.force_login(user)
        by_login[user.username] = client
    return by_login


def run(args):
    from students.models import Student

    if not args.no_seed:
        log(f"seeding the demo county with {args.students:,} students and their casework")
        start, start_cpu = time.perf_counter(), child_cpu()
        seed(args.students)
        seed_seconds, seed_cpu = time.perf_counter() - start, child_cpu() - start_cpu
        vacuum()
    else:
        seed_seconds = seed_cpu = None
    found = samples()
    by_login = clients()
    times, results = {}, []
    measured = pages(found)
    by_label = {label: (login, url) for label, login, url, _target in measured}
    for label, login, url, target in measured:
        if args.only and not re.search(args.only, label):
            continue
        log(f"{label}: {url}")
        reference = getattr(target, "reference", None)
        if reference is None:
            median, runs, queries = measure(by_login[login], url, args)
        else:
            # Each request of the page right after one of its reference, so that both meet
            # the same load on a shared machine; the ratio is of these two medians.
            ref_login, ref_url = by_label[reference]
            (median, runs, queries), ref_median = measure_alongside(
                by_login[login], url, by_login[ref_login], ref_url, args
            )
            times[reference] = ref_median
        times[label] = median
        text, met = target(median, times) if target else ("", None)
        results.append({"page": label, "login": login, "ms": median, "runs": runs, "queries": queries,
                        "target": text, "met": met})
    facts = {
        "students": Student.objects.count(),
        "on_roster": Student.objects.on_roster().count(),
        "seed_seconds": seed_seconds,
        "seed_cpu": seed_cpu,
        "samples": {key: found[key] for key in ("two", "three", "tail")},
    }
    return results, facts


def cells(result):
    met = "" if result["met"] is None else ("met" if result["met"] else "MISSED")
    runs = result["runs"]
    spread = f"{min(runs):.0f}–{max(runs):.0f}" if len(runs) > 1 else ""
    return (result["page"], result["login"], f"{result['ms']:.0f}", spread, str(len(runs)),
            str(result["queries"]), result["target"], met)


HEADERS = ("page", "login", "median ms", "range ms", "runs", "queries", "target", "")


def data_sentence(facts, load):
    seeded = "" if facts["seed_seconds"] is None else (
        f" (seeding took {facts['seed_seconds']:.0f} s, {facts['seed_cpu']:.0f} s of CPU in Python)"
    )
    return (
        f"{facts['students']:,} students, {facts['on_roster']:,} on the roster, in one county{seeded}. "
        f"Searches: {facts['samples']['two']!r}, {facts['samples']['three']!r}, {facts['samples']['tail']!r}. "
        f"Load average (1 min) at the start and the end: {load[0]:.2f} and {load[1]:.2f}."
    )


def report(results, facts, load, info, markdown):
    rows = [cells(result) for result in results]
    if markdown:
        print("| machine | |\n| --- | --- |")
        for key, value in info.items():
            print(f"| {key} | {value} |")
        print()
        print(data_sentence(facts, load))
        print()
        print("| " + " | ".join(HEADERS) + " |")
        print("| --- | --- | ---: | ---: | ---: | ---: | --- | --- |")
        for row in rows:
            print("| " + " | ".join(row) + " |")
        return
    print(" · ".join(f"{key} {value}" for key, value in info.items()))
    print(data_sentence(facts, load))
    table = [HEADERS] + rows
    widths = [max(len(row[index]) for row in table) for index in range(len(HEADERS))]
    for row in table:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--students", type=int, default=200_000, help="students seeded (default %(default)s)")
    parser.add_argument("--repeat", type=int, default=9, help="timed requests per page (default %(default)s)")
    parser.add_argument("--warmup", type=int, default=2, help="requests before timing (default %(default)s)")
    parser.add_argument("--slow-seconds", type=float, default=3.0,
                        help="a page whose first request takes longer is timed --slow-repeat times")
    parser.add_argument("--slow-repeat", type=int, default=1, help="(default %(default)s)")
    parser.add_argument("--no-seed", action="store_true",
                        help="use the database DATABASE_URL names as it is, already seeded")
    parser.add_argument("--only", help="time only the pages whose label matches this regular expression")
    parser.add_argument("--markdown", action="store_true", help="print the results as Markdown")
    args = parser.parse_args()
    args.warmup = max(args.warmup, 1)

    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        sys.exit("DATABASE_URL must point at a PostgreSQL server (bench/run-pages starts a throwaway one).")
    load = [os.getloadavg()[0]]
    os.environ["ALLOWED_HOSTS"] = "testserver"  # the test client's host
    if args.no_seed:
        setup_django()
        results, facts = run(args)
    else:
        with fresh_database(url, "bench_pages") as bench_url:
            os.environ["DATABASE_URL"] = bench_url
            setup_django()
            from django.core.management import call_command
            from django.db import connections

            log("migrating a new database")
            call_command("migrate", verbosity=0, interactive=False)
            results, facts = run(args)
            connections.close_all()
    load.append(os.getloadavg()[0])
    report(results, facts, load, machine(url), args.markdown)


if __name__ == "__main__":
    main()
