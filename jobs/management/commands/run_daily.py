from django.core.management.base import BaseCommand

from jobs.tasks import purge_expired_downloads, send_daily_reminders


class Command(BaseCommand):
    help = "Queue the daily jobs for the worker (deploy/systemd/aid-daily.timer runs this every night)."

    def handle(self, *args, **options):
        purge_expired_downloads.enqueue()
        send_daily_reminders.enqueue()
        self.stdout.write("Queued: purge of expired downloads, daily reminders.")
