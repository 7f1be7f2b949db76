"""What every request of a signed-in user passes through: the session's time limits, the
steps an account must take before anything else, and no caching of what it is shown."""
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth import logout
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.utils.deprecation import MiddlewareMixin
from django.utils.translation import gettext as _

from . import sessions, two_factor

# Pages an account may open while it still has a step to take: the step's own pages,
# logging out, and the language switch.
STEP_PAGES = {
    "two_factor": {"accounts:two_factor_verify", "accounts:two_factor_enrol"},
    "password": {"accounts:password_change"},
}
ALWAYS_OPEN = {"logout", "set_language", "healthz"}


class SessionLimitsMiddleware:
    """Ends a session idle for SESSION_IDLE_MINUTES or older than SESSION_MAX_HOURS (the log
    records it as ended by the time limit) and sends the user to the login page."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.user.is_authenticated:
            if sessions.expired(request.session):
                setattr(request, sessions.ENDED_BY_TIME_LIMIT, True)
                logout(request)
                messages.info(request, _("Your session has ended; please log in again."))
                return redirect_to_login(request)
            sessions.touch(request.session)
        return self.get_response(request)


def redirect_to_login(request):
    query = {"next": request.get_full_path()} if request.method == "GET" else {}
    return redirect(f"{reverse('login')}?{urlencode(query)}" if query else reverse("login"))


def step_due(user):
    """The step this account must take before anything else, or None: the second factor
    (when it applies and this session has not passed it), then a new password."""
    if two_factor.applies_to(user) and not user.is_verified():
        return "two_factor"
    if user.must_change_password:
        return "password"
    return None


def step_page(user, step):
    if step == "two_factor":
        return "accounts:two_factor_verify" if two_factor.is_enrolled(user) else "accounts:two_factor_enrol"
    return "accounts:password_change"


class AccountStepsMiddleware(MiddlewareMixin):
    """Until the second factor is passed and a password chosen by someone else is replaced,
    every page sends the user to that step (and back to the page afterwards)."""

    def process_view(self, request, view_func, view_args, view_kwargs):
        if not request.user.is_authenticated:
            return None
        step = step_due(request.user)
        if step is None:
            return None
        name = request.resolver_match.view_name if request.resolver_match else ""
        if name in STEP_PAGES[step] or name in ALWAYS_OPEN:
            return None
        target = reverse(step_page(request.user, step))
        if request.method == "GET":
            target += "?" + urlencode({"next": request.get_full_path()})
        return redirect(target)


class NoStoreMiddleware:
    """Whatever a signed-in user is shown may carry personal data: no browser or proxy may
    keep a copy (Cache-Control: no-store). Static files are served before this (nginx or
    WhiteNoise) and stay cacheable."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if request.user.is_authenticated:
            add_never_cache_headers(response)
        return response
