"""Scratch databases on the test server, for tests that run the production scripts."""
import contextlib
import os
import uuid
from urllib.parse import urlsplit, urlunsplit

import psycopg2


def database_url(name):
    """DATABASE_URL (the test server's, from make test) with its database changed to `name`."""
    parts = urlsplit(os.environ["DATABASE_URL"])
    return urlunsplit(parts._replace(path=f"/{name}"))


def _run_on_server(statement):
    with contextlib.closing(psycopg2.connect(os.environ["DATABASE_URL"])) as connection:
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute(statement)


@contextlib.contextmanager
def scratch_database(purpose):
    """A new empty database for the block, dropped afterwards; yields its URL."""
    name = f"{purpose}_{uuid.uuid4().hex[:8]}"
    _run_on_server(f'CREATE DATABASE "{name}"')
    try:
        yield database_url(name)
    finally:
        _run_on_server(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
