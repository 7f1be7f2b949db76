"""Every login, failed login, lockout and logout goes into the login log (LoginEvent).

django-axes counts the failures and decides the lockouts; its receiver runs before these
(its app comes first in INSTALLED_APPS), so a failure that it has turned into a lockout is
recorded as one.
"""
from django.contrib.auth import get_user_model, user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from . import sessions
from .addresses import client_address
from .models import LoginEvent

Result = LoginEvent.Result


def record(request, result, *, user=None, username=""):
    """One row of the login log for this request."""
    return LoginEvent.objects.create(
        user=user,
        username=(user.get_username() if user is not None else username)[:150],
        address=client_address(request) if request is not None else None,
        result=result,
    )


@receiver(user_logged_in)
def login_recorded(sender, request, user, **kwargs):
    sessions.start(request)
    record(request, Result.LOGGED_IN, user=user)


@receiver(user_login_failed)
def failure_recorded(sender, credentials, request=None, **kwargs):
    username = credentials.get(get_user_model().USERNAME_FIELD) or ""
    user = get_user_model().objects.filter(username=username).first() if username else None
    locked = getattr(request, "axes_locked_out", False)
    record(request, Result.LOCKED_OUT if locked else Result.FAILED, user=user, username=username)


@receiver(user_logged_out)
def logout_recorded(sender, request, user, **kwargs):
    if user is not None:
        timed_out = getattr(request, sessions.ENDED_BY_TIME_LIMIT, False)
        record(request, Result.TIMED_OUT if timed_out else Result.LOGGED_OUT, user=user)
