"""The address a request came from, as the login lockout and the login log record it."""
import ipaddress

from django.conf import settings


def client_address(request):
    """The client's IP address.

    Behind nginx (settings.BEHIND_PROXY) every connection comes from nginx, which appends the
    address it was reached from to X-Forwarded-For: the last entry is the one to trust, since
    anything before it was sent by the client and may be made up. Without a proxy in front,
    the header is the client's own and is ignored. Anything that is not an address counts
    as absent.
    """
    if settings.BEHIND_PROXY:
        last = request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")[-1].strip()
        if is_address(last):
            return last
    remote = request.META.get("REMOTE_ADDR", "")
    return remote if is_address(remote) else None


def is_address(text):
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True
