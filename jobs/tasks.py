"""The tasks the background worker runs (`manage.py db_worker`; django-tasks' database
backend, so the queue is a PostgreSQL table and workers on several machines share it)."""
from django_tasks import task

from notices.services import daily_reminders

from . import services


@task()
def run_job(job_id):
    services.run_in_worker(job_id)


@task()
def purge_expired_downloads():
    return services.purge_expired()


@task()
def send_daily_reminders():
    return daily_reminders()
