"""The load test's arithmetic (bench/load.py): the percentiles it reports and how it spreads
the simulated users over the roles. The load itself is a script run by hand (BENCHMARKS.md)."""
import importlib.util
import statistics
import sys
from collections import Counter
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"


@pytest.fixture(scope="module")
def load():
    sys.path.insert(0, str(BENCH))  # load.py imports its neighbour import_export
    try:
        spec = importlib.util.spec_from_file_location("bench_load", BENCH / "load.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.path.remove(str(BENCH))


def test_percentiles_interpolate_between_ranks(load):
    """1..100 ms: the median is 50.5, p95 95.05, p99 99.01 (the nearest ranks interpolated),
    as statistics.quantiles(method="inclusive") has them; order does not matter."""
    values = list(range(100, 0, -1))
    assert load.percentile(values, 50) == pytest.approx(50.5)
    assert load.percentile(values, 95) == pytest.approx(95.05)
    assert load.percentile(values, 99) == pytest.approx(99.01)
    assert load.percentile(values, 100) == 100
    assert load.percentile(values, 0) == 1
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    assert load.percentile(values, 95) == pytest.approx(cuts[94])


def test_percentile_of_one_value_and_of_none(load):
    """One request is its own median and p99; no request has no percentile."""
    assert load.percentile([42.0], 99) == 42.0
    assert load.percentile([], 50) is None


def test_summary_counts_errors_and_includes_their_times(load):
    """A timed-out request counts as an error and its time stays in the percentiles: a page
    that fails slowly must not look fast."""
    samples = [(100.0, None)] * 18 + [(200.0, "500"), (60_000.0, "timeout")]
    summary = load.summarize(samples)
    assert summary["requests"] == 20
    assert summary["errors"] == 2
    assert summary["median"] == 100.0
    assert summary["max"] == 60_000.0
    assert summary["p95"] == pytest.approx(200.0 + (60_000.0 - 200.0) * 0.05)


def test_users_spread_over_the_roles_in_proportion(load):
    """50 users take each role as often as its weight says, every login of a role in turn,
    and the first few users already cover the main roles."""
    chosen = load.spread_logins(50)
    roles = Counter(role for role, _login in chosen)
    assert roles == {role: weight for role, _logins, weight in load.LOGIN_WEIGHTS}
    grid_logins = Counter(login for role, login in chosen if role == "grid")
    assert set(grid_logins.values()) == {1}  # nine leaders, nine users
    assert {role for role, _login in chosen[:6]} >= {"teacher", "school", "grid", "bureau", "city"}


def test_server_log_gives_errors_replaced_workers_and_times(load, tmp_path):
    """The server's log, as make serve writes it: the request lines' times (not /healthz's),
    the 500s with the first of them, and gunicorn's worker timeouts."""
    log = tmp_path / "serve.log"
    log.write_text(
        "2026-12-02 00:10:09,095 INFO config.request_log: GET /healthz 200 1038ms user=-\n"
        "2026-12-02 00:10:09,165 INFO config.request_log: GET /login/ 200 35ms user=-\n"
        "2026-12-02 00:10:12,044 INFO config.request_log: POST /login/ 302 2552ms user=teacher\n"
        "2026-12-02 00:11:02,001 ERROR django.request: Internal Server Error: /aid/ledgers/\n"
        "2026-12-02 00:11:02,002 INFO config.request_log: GET /aid/ledgers/ 500 61ms user=bureau\n"
        "[2026-12-01 16:13:01 +0000] [27253] [CRITICAL] WORKER TIMEOUT (pid:27255)\n",
        encoding="utf-8",
    )
    found = load.read_server_log(log)
    assert found["server_ms"] == [35, 2552, 61]
    assert found["errors"] == 1
    assert found["first_error"].endswith("Internal Server Error: /aid/ledgers/")
    assert found["replaced"] == 1
