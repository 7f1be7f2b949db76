from django.core.management.base import BaseCommand

from common.audit import purge_expired_audit_rows, retention_days


class Command(BaseCommand):
    help = (
        "Delete the audit trail's rows (history of every record, the export log) older than "
        "AUDIT_RETENTION_DAYS, at least 183 days. The only way rows leave those tables: "
        "the database refuses every other UPDATE and DELETE. The daily job (run_daily) runs it."
    )

    def handle(self, *args, **options):
        deleted = purge_expired_audit_rows()
        for label, count in sorted(deleted.items()):
            self.stdout.write(f"{label}: {count}")
        self.stdout.write(f"Kept the last {retention_days()} days; deleted {sum(deleted.values())} older rows.")
