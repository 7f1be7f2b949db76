"""Setting up a past in the history tables, which PostgreSQL keeps append-only."""
from common.audit import retention_bypass


def rewrite_history(history, **values):
    """`history.update(**values)` past the append-only trigger: for a test that needs a
    record changed on an earlier day than the session's clock allows it to make."""
    with retention_bypass():
        return history.update(**values)
