"""Logging in and what follows it: the lockout page, the login log, the user's own password,
and the two-factor steps."""
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import PasswordChangeView
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.generic import FormView, View
from django_filters.views import FilterView

from students.permissions import CHANGE, OWN_ACCOUNT, VIEW
from students.views.base import StaffViewMixin

from . import two_factor
from .filters import LoginEventFilter
from .forms import CodeForm, OwnPasswordForm
from .models import LoginEvent
from .signals import record


def locked_out(request, original_response=None, credentials=None):
    """django-axes' answer to a login while the login or the address is locked out: the
    login page again (429), saying why in the user's language and for how long."""
    username = (credentials or {}).get("username", "")
    form = AuthenticationForm(request, initial={"username": username})
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    lockout = _(
        "Too many failed logins: this login, or this computer's address, is locked for %(minutes)s minutes. "
        "Try again later, or ask the bureau's administrator to unlock it."
    ) % {"minutes": minutes}
    context = {"form": form, "lockout": lockout, "next": request.POST.get("next", "")}
    return render(request, "registration/login.html", context, status=429)


def next_page(request, default="home"):
    """The page to go back to after a step (from ?next= or the form), if it is on this site."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return target
    return reverse_lazy(default)


class LoginLogView(StaffViewMixin, FilterView):
    """Every login, failed login, lockout and logout of the bureau's staff, for the bureau."""

    permission = (VIEW, LoginEvent)
    template_name = "accounts/login_log.html"
    filterset_class = LoginEventFilter
    paginate_by = 50
    context_object_name = "events"

    def get_queryset(self):
        return LoginEvent.objects.visible_to(self.request.user).select_related("user__school", "user__region")


class OwnPasswordView(StaffViewMixin, PasswordChangeView):
    """The user changes their own password (and must, after a password someone else chose)."""

    permission = (CHANGE, OWN_ACCOUNT)
    template_name = "accounts/password_change.html"
    form_class = OwnPasswordForm

    def get_context_data(self, **kwargs):
        user = self.request.user
        return super().get_context_data(
            **kwargs,
            next=self.request.GET.get("next", ""),
            two_factor_applies=two_factor.applies_to(user) and user.is_verified(),
            recovery_codes_left=two_factor.recovery_codes_left(user),
        )

    def form_valid(self, form):
        form.save()
        update_session_auth_hash(self.request, form.user)
        messages.success(self.request, _("Your password is changed."))
        return redirect(next_page(self.request))


class TwoFactorVerifyView(StaffViewMixin, FormView):
    """The step after the password: a code from the authenticator app or a recovery code."""

    permission = (CHANGE, OWN_ACCOUNT)
    template_name = "accounts/two_factor_verify.html"
    form_class = CodeForm

    def dispatch(self, request, *args, **kwargs):
        user = request.user
        if user.is_authenticated and not two_factor.applies_to(user):
            return redirect("accounts:password_change")
        if user.is_authenticated and not two_factor.is_enrolled(user):
            return redirect("accounts:two_factor_enrol")
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        return super().get_context_data(**kwargs, next=self.request.GET.get("next", ""))

    def form_valid(self, form):
        if not two_factor.verify(self.request, form.cleaned_data["code"]):
            record(self.request, LoginEvent.Result.CODE_REFUSED, user=self.request.user)
            form.add_error("code", _("That code is wrong or has expired. Type the code your app shows now."))
            return self.form_invalid(form)
        record(self.request, LoginEvent.Result.CODE_ACCEPTED, user=self.request.user)
        return redirect(next_page(self.request))


class TwoFactorEnrolView(StaffViewMixin, FormView):
    """Set up the authenticator app: scan the QR code (or type the key), type the code it
    shows; then the recovery codes are shown, once."""

    permission = (CHANGE, OWN_ACCOUNT)
    template_name = "accounts/two_factor_enrol.html"
    form_class = CodeForm

    def dispatch(self, request, *args, **kwargs):
        # Enrolling again would let whoever holds a password alone replace the authenticator.
        user = request.user
        if user.is_authenticated and not two_factor.applies_to(user):
            return redirect("accounts:password_change")
        if user.is_authenticated and two_factor.is_enrolled(user) and not user.is_verified():
            return redirect("accounts:two_factor_verify")
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        device = two_factor.enrolment_device(self.request.user)
        return super().get_context_data(
            **kwargs,
            qr_code=two_factor.qr_code_svg(device),
            secret=two_factor.secret_for_typing(device),
            next=self.request.GET.get("next", ""),
        )

    def form_valid(self, form):
        device = two_factor.enrolment_device(self.request.user)
        codes = two_factor.confirm_enrolment(self.request, device, form.cleaned_data["code"])
        if codes is None:
            record(self.request, LoginEvent.Result.CODE_REFUSED, user=self.request.user)
            form.add_error("code", _("That code is wrong or has expired. Type the code your app shows now."))
            return self.form_invalid(form)
        record(self.request, LoginEvent.Result.CODE_ACCEPTED, user=self.request.user)
        return recovery_codes_page(self.request, codes)


class RecoveryCodesView(StaffViewMixin, View):
    """New recovery codes for a user who has passed the second factor (POST only)."""

    permission = (CHANGE, OWN_ACCOUNT)

    def post(self, request, *args, **kwargs):
        if not (two_factor.applies_to(request.user) and request.user.is_verified()):
            return redirect("accounts:password_change")
        return recovery_codes_page(request, two_factor.new_recovery_codes(request.user))


def recovery_codes_page(request, codes):
    return render(request, "accounts/recovery_codes.html", {"codes": codes, "next": next_page(request)})
