"""The audit trail: history records that cannot be edited, and the one way rows leave it.

Every domain model keeps its history with `AuditedHistory` (django-simple-history's
HistoricalRecords, whose history tables get the `append_only` trigger); the audit tables
that are not history (the export log) declare `append_only()` in their Meta. On PostgreSQL
the trigger refuses every UPDATE and DELETE of their rows, whoever sends it (the app, the
admin site or psql); on SQLite, the demo's database, pgtrigger installs nothing.

Rows leave only through `retention_bypass()`, which the retention command uses for the
rows older than the retention period (and the demo's --reset for the demo county).
"""
import contextlib
import datetime

import pgtrigger
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.utils import timezone
from simple_history.models import HistoricalRecords

TRIGGER_NAME = "append_only"
# Assessors expect at least six months of logs (等保 2.0 level 3; 网络安全法 article 21).
MINIMUM_RETENTION_DAYS = 183


def append_only():
    """The trigger that refuses UPDATE and DELETE on an audit table."""
    return pgtrigger.Protect(name=TRIGGER_NAME, operation=pgtrigger.Update | pgtrigger.Delete)


class AuditedHistory(HistoricalRecords):
    """simple-history's HistoricalRecords whose history tables (and those of the many-to-many
    fields it follows) are append-only."""

    def get_meta_options(self, model):
        options = super().get_meta_options(model)
        options["triggers"] = [append_only()]
        return options

    def get_meta_options_m2m(self, through_model):
        options = super().get_meta_options_m2m(through_model)
        options["triggers"] = [append_only()]
        return options


def append_only_triggers():
    """The URIs of every append-only trigger ("app.Model:append_only")."""
    return [
        f"{model._meta.label}:{trigger.name}"
        for model, trigger in pgtrigger.registered()
        if trigger.name == TRIGGER_NAME
    ]


def audited_models():
    """The models whose tables carry the append-only trigger."""
    return [model for model, trigger in pgtrigger.registered() if trigger.name == TRIGGER_NAME]


@contextlib.contextmanager
def retention_bypass():
    """Let this thread's statements past the append-only triggers (pgtrigger.ignore sets a
    session variable the triggers check). Only for removing rows the retention allows."""
    with pgtrigger.ignore(*append_only_triggers()):
        yield


def retention_days():
    """AUDIT_RETENTION_DAYS, refused when it would keep less than the minimum."""
    days = settings.AUDIT_RETENTION_DAYS
    if days < MINIMUM_RETENTION_DAYS:
        raise ImproperlyConfigured(
            f"AUDIT_RETENTION_DAYS is {days}; the audit trail is kept at least {MINIMUM_RETENTION_DAYS} days."
        )
    return days


def date_field_of(model):
    """The field that dates an audit row: history_date for history (the parent record's
    for the history of a many-to-many field), else the model's `audit_date_field` (an
    append-only table must name one to be purged)."""
    if hasattr(model, "history_date"):
        return "history_date"
    if hasattr(model, "m2m_history_id"):
        return "history__history_date"
    try:
        return model.audit_date_field
    except AttributeError:
        raise ImproperlyConfigured(f"{model._meta.label} is append-only but names no audit_date_field.") from None


@transaction.atomic
def purge_expired_audit_rows(now=None):
    """Delete the audit rows older than the retention period, and only those.
    Returns {model label: rows deleted} for the tables that lost rows."""
    cutoff = (now or timezone.now()) - datetime.timedelta(days=retention_days())
    deleted = {}
    # Many-to-many history first: its rows point at the history rows they belong to.
    models = sorted(audited_models(), key=lambda model: not hasattr(model, "m2m_history_id"))
    with retention_bypass():
        for model in models:
            _total, counts = model._base_manager.filter(**{f"{date_field_of(model)}__lt": cutoff}).delete()
            deleted.update({label: count for label, count in counts.items() if count})
    return deleted
