"""scripts/backup.sh and scripts/restore.sh: a seeded database comes back whole.

The demo county is committed to the test database (a transactional test), backed up with
backup.sh, restored with restore.sh into a new database, and every table is compared: its
row count and a checksum of all its rows, and every sequence's position.
"""
import contextlib
import io
import os
import subprocess
from pathlib import Path

import psycopg2
import pytest
from django.core.management import call_command
from django.db import connection
from psycopg2 import sql

from .databases import database_url, scratch_database

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.django_db(transaction=True)


def run_script(script, *arguments, database, **variables):
    return subprocess.run(
        [str(ROOT / "scripts" / script), *arguments],
        env={**os.environ, "DATABASE_URL": database, **variables}, capture_output=True, text=True, timeout=300,
    )


def contents(database):
    """{table: (rows, md5 of all rows in order)} and {sequence: last value} of a database."""
    with contextlib.closing(psycopg2.connect(database)) as db, db.cursor() as cursor:
        cursor.execute(
            "SELECT schemaname, tablename FROM pg_tables"
            " WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, 2"
        )
        tables = {}
        for schema, table in cursor.fetchall():
            cursor.execute(
                sql.SQL(
                    "SELECT count(*), md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), ''))"
                    " FROM {} AS t"
                ).format(sql.Identifier(schema, table))
            )
            tables[f"{schema}.{table}"] = cursor.fetchone()
        cursor.execute("SELECT schemaname || '.' || sequencename, last_value FROM pg_sequences ORDER BY 1")
        sequences = dict(cursor.fetchall())
    return tables, sequences


def test_a_backup_restores_into_a_new_database_with_every_table_identical(tmp_path):
    call_command("seed_demo", students=50, seed=1, stdout=io.StringIO())
    source = database_url(connection.settings_dict["NAME"])
    seeded_tables, seeded_sequences = contents(source)
    filled = [table for table, (rows, _) in seeded_tables.items() if rows]
    assert len(filled) >= 20, "the demo fills most tables"

    backups = tmp_path / "backups"
    backups.mkdir()
    # Older copies, by name. backup.sh dates its file by the machine's real clock, which the
    # tests' pinned day does not reach, so these are dated long before any real today.
    for old in ("aid-20010101-000000.dump", "aid-20020101-000000.dump"):
        (backups / old).write_bytes(b"")
    made = run_script("backup.sh", database=source, BACKUP_DIR=str(backups), BACKUP_KEEP="2")
    assert made.returncode == 0, made.stderr
    backup = Path(made.stdout.strip())
    assert backup.parent == backups and backup.stat().st_size > 0
    assert sorted(path.name for path in backups.iterdir()) == ["aid-20020101-000000.dump", backup.name]

    with scratch_database("restored") as restored:
        result = run_script("restore.sh", str(backup), database=restored)
        assert result.returncode == 0, result.stderr
        assert contents(restored) == (seeded_tables, seeded_sequences)

        refused = run_script("restore.sh", str(backup), database=restored)
        assert refused.returncode == 1
        assert "pass --force to overwrite" in refused.stderr

        forced = run_script("restore.sh", "--force", str(backup), database=restored)
        assert forced.returncode == 0, forced.stderr
        assert contents(restored) == (seeded_tables, seeded_sequences)


def test_a_backup_copies_the_uploaded_evidence_and_keeps_what_was_removed_since(tmp_path):
    """The photos and scans are files, not rows: each backup adds the new ones to its copy."""
    media, backups = tmp_path / "media", tmp_path / "backups"
    month = media / "evidence" / "2026" / "11"
    month.mkdir(parents=True)
    (month / "visit.jpg").write_bytes(b"\xff\xd8 a home visit")
    (media / "downloads").mkdir()
    (media / "downloads" / "students.xlsx").write_bytes(b"an export made in the background")
    database = database_url(connection.settings_dict["NAME"])

    first = run_script("backup.sh", database=database, BACKUP_DIR=str(backups), MEDIA_ROOT=str(media))
    assert first.returncode == 0, first.stderr
    copied = backups / "evidence" / "2026" / "11"
    assert (copied / "visit.jpg").read_bytes() == b"\xff\xd8 a home visit"
    assert not (backups / "downloads").exists(), "only the evidence is irreplaceable"

    (month / "rectification.jpg").write_bytes(b"\xff\xd8 a rectified toilet block")
    (month / "visit.jpg").unlink()
    second = run_script("backup.sh", database=database, BACKUP_DIR=str(backups), MEDIA_ROOT=str(media))
    assert second.returncode == 0, second.stderr
    assert sorted(path.name for path in copied.iterdir()) == ["rectification.jpg", "visit.jpg"]
    assert (copied / "rectification.jpg").read_bytes() == b"\xff\xd8 a rectified toilet block"


def test_a_backup_without_any_evidence_yet_is_the_dump_alone(tmp_path):
    backups = tmp_path / "backups"
    made = run_script(
        "backup.sh", database=database_url(connection.settings_dict["NAME"]),
        BACKUP_DIR=str(backups), MEDIA_ROOT=str(tmp_path / "no-media-yet"),
    )
    assert made.returncode == 0, made.stderr
    assert [path.name for path in backups.iterdir()] == [Path(made.stdout.strip()).name]
