"""The address a request came from, as the login lockout and the login log record it."""
from django.conf import settings


def client_address(request):
    """The client's IP address.

    Behind nginx (settings.BEHIND_PROXY) every connection comes from nginx, which appends the
    address it was reached from to X-Forwarded-For: the last entry is the one to trust, since
    anything before it was sent by the client and may be made up. Without a proxy in front,
    the header is the client's own and is ignored.
    """
    if settings.BEHIND_PROXY:
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        if forwarded[-1]:
            return forwarded[-1]
    return request.META.get("REMOTE_ADDR") or None
