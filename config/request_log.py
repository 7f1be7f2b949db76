"""One log line per request: method, path, status, duration and who asked.

The query string is left out on purpose: searches carry names and ID numbers.
"""
import logging
import time

from django.db import DatabaseError

logger = logging.getLogger(__name__)


class RequestLogMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.monotonic()
        response = self.get_response(request)
        milliseconds = round((time.monotonic() - started) * 1000)
        logger.info(
            "%s %s %s %dms user=%s",
            request.method, request.path, response.status_code, milliseconds, username(request),
        )
        return response


def username(request):
    """The signed-in user's name, "-" for anyone else.

    Views that never looked at the user leave it to be read from the session here; when the
    database is down that fails, and the line says "?" rather than the response turning
    into an error of its own.
    """
    user = getattr(request, "user", None)
    try:
        return user.get_username() if user is not None and user.is_authenticated else "-"
    except DatabaseError:
        return "?"
