from django.core.management.base import BaseCommand

from jobs.tasks import purge_audit_trail, purge_expired_downloads, purge_roster_files, send_daily_reminders


class Command(BaseCommand):
    help = "Queue the daily jobs for the worker (deploy/systemd/aid-daily.timer runs this every night)."

    def handle(self, *args, **options):
        purge_expired_downloads.enqueue()
        purge_roster_files.enqueue()
        purge_audit_trail.enqueue()
        send_daily_reminders.enqueue()
        self.stdout.write(
            "Queued: purge of expired downloads, of uploaded roster files, of audit rows past the retention;"
            " daily reminders."
        )
