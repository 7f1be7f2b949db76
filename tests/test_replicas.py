"""Reads from a real PostgreSQL streaming replica (common.replicas).

The fixture makes a replica of the test server with `pg_basebackup -R` and starts it on a
free port; the tests pause its replay to make its lag certain. Without the PostgreSQL
binaries the tests are skipped, except in CI (CI=true), where they fail.
"""
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time

import pytest
from django.db import connections
from django.urls import reverse

from common import replicas
from students.models import Student
from tests.factories import BureauAdminFactory, SchoolFactory, StudentFactory, id_number_for

# Transactional: the rows must be committed for the replica to receive them. The replica is a
# test mirror of the primary, so it is never flushed between tests (it is read-only).
pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "replica"])


def pg_binary(name):
    found = shutil.which(name) or next(
        (path for path in sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)), None
    )
    if found is None:
        message = f"PostgreSQL's {name} was not found: the replica tests need the PostgreSQL server package."
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return found


def as_server_user(command):
    """PostgreSQL refuses to run as root; the test server then runs as "nobody"."""
    return ["runuser", "-u", "nobody", "--", *command] if os.getuid() == 0 else command


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def streaming_replica(django_db_setup, django_db_blocker):
    """A hot standby of the test server, streaming from it; yields its host and port."""
    primary = connections["default"].settings_dict
    if connections["default"].vendor != "postgresql":
        pytest.skip("the replica tests need PostgreSQL")
    basebackup, pg_ctl = pg_binary("pg_basebackup"), pg_binary("pg_ctl")
    directory = tempfile.mkdtemp(prefix="aid-test-replica.")
    if os.getuid() == 0:
        shutil.chown(directory, "nobody")
    data, port = os.path.join(directory, "data"), free_port()
    subprocess.run(as_server_user([
        basebackup, "-h", primary["HOST"] or "127.0.0.1", "-p", str(primary["PORT"] or 5432),
        "-U", primary["USER"], "-D", data, "-R", "-X", "stream", "-c", "fast",
    ]), check=True, capture_output=True)
    subprocess.run(as_server_user([
        pg_ctl, "-D", data, "-l", os.path.join(directory, "server.log"), "-w",
        "-o", f"-p {port} -k {directory} -c listen_addresses=127.0.0.1 -c hot_standby=on", "start",
    ]), check=True, capture_output=True)
    try:
        yield {"HOST": "127.0.0.1", "PORT": port}
    finally:
        subprocess.run(as_server_user([pg_ctl, "-D", data, "-m", "immediate", "stop"]), capture_output=True)
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="module")
def replica_alias(streaming_replica):
    """The "replica" database alias, as DATABASE_REPLICA_URL sets it, for this module's tests
    (module-scoped, so it exists before each test's database access is set up)."""
    primary = connections["default"].settings_dict
    connections.settings[replicas.REPLICA] = {
        **primary, **streaming_replica, "TEST": {**primary["TEST"], "MIRROR": "default"},
        # A read that waits on a lock the replay holds fails in seconds, not at the test's timeout.
        "OPTIONS": {
            **primary["OPTIONS"], "options": f"{primary['OPTIONS'].get('options', '')} -c lock_timeout=10s",
        },
    }
    try:
        yield replicas.REPLICA
    finally:
        connections[replicas.REPLICA].close()
        del connections[replicas.REPLICA]
        del connections.settings[replicas.REPLICA]


@pytest.fixture
def replica(replica_alias):
    """The replica's connection; its replay is resumed after the test whatever it did."""
    try:
        yield connections[replica_alias]
    finally:
        with connections[replica_alias].cursor() as cursor:
            cursor.execute("SELECT pg_wal_replay_resume()")


def pause_replay(replica):
    """Pause the replica's replay where no replayed transaction holds a lock, and wait.

    The pause takes effect at the next WAL record the replica would replay, so each wait
    writes one on the primary: an idle primary might write none. A pause between a
    transaction's exclusive lock and its commit (a TRUNCATE, autovacuum shortening a table)
    would keep that lock on the replica and block every read of its table, so such a pause
    is resumed and taken again.
    """
    with replica.cursor() as cursor:

        def paused_without_a_replayed_lock():
            cursor.execute("SELECT pg_wal_replay_pause()")
            if eventually(lambda: paused(cursor), seconds=10) and not replayed_exclusive_locks(cursor):
                return True
            cursor.execute("SELECT pg_wal_replay_resume()")
            return False

        if not eventually(paused_without_a_replayed_lock):
            raise AssertionError("the replica did not pause without a replayed lock within 30 s")


def paused(cursor):
    """Whether the replay has paused; if not yet, a WAL record on the primary to pause at."""
    cursor.execute("SELECT pg_get_wal_replay_pause_state()")
    if cursor.fetchone()[0] == "paused":
        return True
    with connections["default"].cursor() as primary:
        primary.execute("SELECT pg_logical_emit_message(false, 'aid-test', 'pause')")
    return False


def replayed_exclusive_locks(cursor):
    """The exclusive locks the replica's replay holds for transactions it has not finished."""
    cursor.execute("SELECT count(*) FROM pg_locks WHERE mode = 'AccessExclusiveLock'")
    return cursor.fetchone()[0]


def resume_and_catch_up(replica):
    # The insert position, not the write position: the test server commits asynchronously
    # (synchronous_commit=off), so the last commit may not be written out yet.
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT pg_current_wal_insert_lsn()")
        target = cursor.fetchone()[0]
    with replica.cursor() as cursor:
        cursor.execute("SELECT pg_wal_replay_resume()")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            cursor.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [target])
            if cursor.fetchone()[0]:
                return
            time.sleep(0.05)
    raise AssertionError("the replica did not catch up within 30 s")


def queried_tables(alias, action):
    statements = []

    def record(execute, sql, params, many, context):
        statements.append(sql)
        return execute(sql, params, many, context)

    with connections[alias].execute_wrapper(record):
        result = action()
    return " ".join(statements), result


def test_the_replica_is_a_standby(replica):
    with replica.cursor() as cursor:
        cursor.execute("SELECT pg_is_in_recovery()")
        assert cursor.fetchone()[0] is True


def test_reads_go_to_the_replica_and_reads_after_a_write_to_the_primary(replica):
    school = SchoolFactory()
    resume_and_catch_up(replica)
    pause_replay(replica)
    with replicas.unit_of_work():
        assert not replicas.has_written()
        written = StudentFactory(school=school)
        # Just after the write, in the same unit of work: the primary, which has the row.
        assert Student.objects.filter(pk=written.pk).exists()
        assert Student.objects.filter(pk=written.pk).db == "default"
    with replicas.unit_of_work():
        # Another unit of work that has not written: the replica, still paused before the write.
        assert Student.objects.filter(pk=written.pk).db == replicas.REPLICA
        assert not Student.objects.filter(pk=written.pk).exists()
        assert Student.objects.filter(school=school).db == replicas.REPLICA
    resume_and_catch_up(replica)

    def replica_has_it():
        with replicas.unit_of_work():
            return Student.objects.filter(pk=written.pk).exists()

    assert eventually(replica_has_it)


def test_accounts_sessions_and_transactions_stay_on_the_primary(replica):
    from django.contrib.sessions.models import Session
    from django.db import transaction

    from students.models import User

    with replicas.unit_of_work():
        assert User.objects.all().db == "default"
        assert Session.objects.all().db == "default"
        with transaction.atomic():
            assert Student.objects.all().db == "default"
        assert Student.objects.all().db == replicas.REPLICA


def test_a_page_reads_the_replica_and_a_save_pins_its_user_to_the_primary(client, replica):
    school = SchoolFactory()
    bureau = BureauAdminFactory()
    StudentFactory(school=school, name="早已在册")
    resume_and_catch_up(replica)
    client.force_login(bureau)

    on_replica, response = queried_tables(replicas.REPLICA, lambda: client.get(reverse("students:student_list")))
    assert response.status_code == 200 and "早已在册" in response.content.decode()
    assert "students_student" in on_replica
    on_primary, _response = queried_tables("default", lambda: client.get(reverse("students:student_list")))
    assert "students_student" not in on_primary and "django_session" in on_primary

    pause_replay(replica)
    response = client.post(reverse("students:student_create"), {
        "name": "刚刚录入", "id_number": id_number_for(7001), "student_number": "", "school": school.pk,
        "stage": "primary", "grade": "P3", "class_name": "1班", "status": "enrolled", "note": "",
        "household-registration_number": "", "household-head_name": "刘大", "household-township": school.region.pk,
        "household-village": "某村", "household-category": "registered_lifted", "household-poverty_cause": "",
        "household-guardian_name": "", "household-guardian_phone": "",
    })
    assert response.status_code == 302, response.content.decode()[:2000]
    assert replicas.PIN_COOKIE in response.cookies
    detail = response["Location"]
    # The page the save redirects to reads the primary: the replica has not replayed the save.
    assert client.get(detail).status_code == 200
    client.cookies.pop(replicas.PIN_COOKIE)
    assert client.get(detail).status_code == 404  # from the replica, still behind
    resume_and_catch_up(replica)
    assert eventually(lambda: client.get(detail).status_code == 200)  # the replica has it now


def eventually(condition, seconds=30):
    """Whether `condition()` holds within `seconds` (the replica's replay, on a busy machine)."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True
