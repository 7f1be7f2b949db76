"""/healthz: whether this app server can do its work, for monitoring and load balancers.

No login and no personal data: it names the parts checked and says "ok" or what is wrong.
The worker keeps no heartbeat of its own; it is "stalled" when a job has waited longer than
WORKER_STALL_SECONDS for it (a worker that is down with nothing queued harms nobody yet).
"""
import datetime

from django.conf import settings
from django.db import DatabaseError, connection
from django.http import JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache


@never_cache
def healthz(request):
    if not database_answers():
        return JsonResponse({"database": "unavailable"}, status=503)
    parts = {"database": "ok", "worker": worker_state()}
    healthy = all(state == "ok" for state in parts.values())
    return JsonResponse(parts, status=200 if healthy else 503)


def worker_state():
    from django_tasks_db.models import DBTaskResult

    if not settings.TASKS["default"]["BACKEND"].startswith("django_tasks_db"):
        return "ok"  # jobs run in the request (the SQLite demo)
    waited = timezone.now() - datetime.timedelta(seconds=getattr(settings, "WORKER_STALL_SECONDS", 300))
    stalled = DBTaskResult.objects.ready().filter(enqueued_at__lt=waited).exists()
    return "stalled" if stalled else "ok"


def database_answers():
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except DatabaseError:
        return False
