"""The tasks the background worker runs (`manage.py db_worker`; django-tasks' database
backend, so the queue is a PostgreSQL table and workers on several machines share it)."""
from django.core.management import call_command
from django_tasks import task

from students import importer
from notices.services import daily_reminders, email_digest

from . import services


@task()
def run_job(job_id):
    services.run_in_worker(job_id)


@task()
def purge_expired_downloads():
    return services.purge_expired()


@task()
def purge_audit_trail():
    """The retention command, so the scheduler runs exactly what the README documents."""
    call_command("purge_audit_trail")


@task()
def purge_roster_files():
    return importer.purge_roster_files()


@task()
def send_daily_reminders():
    """The day's reminders, then the e-mail digest of what is still unread."""
    made = daily_reminders()
    return {"notifications": made, "emails": email_digest()}
