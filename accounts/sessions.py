"""The two time limits of a session: idle (SESSION_IDLE_MINUTES without a request) and
absolute (SESSION_MAX_HOURS after the login). The session keeps when it started and when it
was last used, as seconds since the epoch of the server's clock."""
from django.conf import settings
from django.utils import timezone

STARTED = "session_started_at"
SEEN = "session_seen_at"
# Set on the request when the middleware ends a session, so the log says why it ended.
ENDED_BY_TIME_LIMIT = "session_ended_by_time_limit"
# The last-seen time is written at most this often, not on every request.
SEEN_RESOLUTION_SECONDS = 60


def now():
    return timezone.now().timestamp()


def start(request):
    if hasattr(request, "session"):
        request.session[STARTED] = request.session[SEEN] = now()


def expired(session):
    """Whether the session has passed either limit (a session without the marks is treated
    as just started, so one made before this rule existed is not cut short in a request)."""
    moment = now()
    started = session.get(STARTED, moment)
    seen = session.get(SEEN, moment)
    return (
        moment - seen > settings.SESSION_IDLE_MINUTES * 60
        or moment - started > settings.SESSION_MAX_HOURS * 3600
    )


def touch(session):
    moment = now()
    if STARTED not in session:
        session[STARTED] = moment
    if moment - session.get(SEEN, 0) >= SEEN_RESOLUTION_SECONDS:
        session[SEEN] = moment
