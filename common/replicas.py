"""Reads from a streaming replica, when one is configured (DATABASE_REPLICA_URL).

The registry and the casework (the apps in REPLICATED_APPS) are read from the replica: the
lists, dashboards, ledgers and exports. Everything else stays on the primary: every write;
every read in a request or background job after it has written to those apps (its own
writes must show, and the replica may lag behind by a moment); every read inside a
transaction; the user accounts, sessions and the job queue, which a login or a download
writes and the very next request reads.

A request that has written pins its user to the primary for REPLICA_PIN_SECONDS (a cookie),
so the page it redirects to shows what was just saved.
"""
import contextlib
import contextvars
import time

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections

REPLICA = "replica"
REPLICATED_APPS = {"students", "aid"}
PIN_COOKIE = "primary_reads_until"

_written = contextvars.ContextVar("wrote_to_the_primary", default=False)


def configured():
    return REPLICA in connections.settings


def mark_written():
    """The request or job under way has written: its later reads go to the primary."""
    _written.set(True)


def has_written():
    return _written.get()


@contextlib.contextmanager
def unit_of_work(written=False):
    """One request or one background job: it starts with nothing written (unless pinned)."""
    token = _written.set(written)
    try:
        yield
    finally:
        _written.reset(token)


def replicated(model):
    return model._meta.app_label in REPLICATED_APPS and model._meta.label != settings.AUTH_USER_MODEL


class ReplicaRouter:
    """Sends reads of the replicated apps to the replica unless this unit of work has
    written or a transaction is open on the primary; every write to the primary."""

    def db_for_read(self, model, **hints):
        if (
            not configured()
            or not replicated(model)
            or has_written()
            or connections[DEFAULT_DB_ALIAS].in_atomic_block
        ):
            return DEFAULT_DB_ALIAS
        return REPLICA

    def db_for_write(self, model, **hints):
        if replicated(model):
            mark_written()
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1, obj2, **hints):
        return True  # the same data on both servers

    def allow_migrate(self, db, app_label, **hints):
        return db == DEFAULT_DB_ALIAS


def pin_seconds():
    return getattr(settings, "REPLICA_PIN_SECONDS", 5)


class ReplicaMiddleware:
    """Each request is a unit of work; one that wrote pins its user to the primary for a
    few seconds, so a redirect after a save reads what was saved."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not configured():
            return self.get_response(request)
        with unit_of_work(written=self.pinned(request)):
            response = self.get_response(request)
            if has_written():
                until = time.time() + pin_seconds()
                response.set_cookie(PIN_COOKIE, f"{until:.3f}", max_age=pin_seconds(), httponly=True,
                                    samesite="Lax", secure=request.is_secure())
        return response

    @staticmethod
    def pinned(request):
        try:
            return float(request.COOKIES.get(PIN_COOKIE, "0")) > time.time()
        except ValueError:
            return False
