"""Two-factor login (django-otp): a TOTP authenticator app, and one-time recovery codes.

When settings.TWO_FACTOR_REQUIRED is on, bureau administrators and superusers (IT staff)
are asked after their password for a six-digit code from their authenticator app, or one
of their recovery codes; until then every page sends them to that step
(accounts.middleware). At their first such login they enrol: they scan the QR code, type
the code it shows, and are given their recovery codes, each good for one login.
"""
from base64 import b32encode

import segno
from django.conf import settings
from django.db import transaction
from django_otp import login as otp_login
from django_otp import match_token
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from students.choices import Role

AUTHENTICATOR = "authenticator"
RECOVERY = "recovery codes"
RECOVERY_CODE_COUNT = 10


def applies_to(user):
    """Whether this user must pass the second factor (the setting is on and the user is a
    bureau administrator or IT staff)."""
    return (
        settings.TWO_FACTOR_REQUIRED
        and user.is_authenticated
        and (user.is_superuser or user.role == Role.BUREAU_ADMIN)
    )


def is_enrolled(user):
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def enrolment_device(user):
    """The authenticator being enrolled: unconfirmed until its first code is typed. The same
    key is shown again until then, so reloading the page does not invalidate a scan."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False, name=AUTHENTICATOR).first()
    return device or TOTPDevice.objects.create(user=user, confirmed=False, name=AUTHENTICATOR)


def qr_code_svg(device):
    """The device's otpauth:// address as an SVG QR code, drawn here (no outside service)."""
    return segno.make(device.config_url, error="m").svg_inline(scale=5, border=2)


def secret_for_typing(device):
    """The key in base32 groups of four, for typing into an app that cannot scan."""
    secret = b32encode(device.bin_key).decode()
    return " ".join(secret[index:index + 4] for index in range(0, len(secret), 4))


@transaction.atomic
def confirm_enrolment(request, device, code):
    """The first code from the new authenticator: when right, the device replaces any earlier
    one, the session counts as verified, and new recovery codes are returned; else None."""
    device = TOTPDevice.objects.select_for_update().get(pk=device.pk, user=request.user)
    if not device.verify_token(code.strip()):
        return None
    device.confirmed = True
    device.save()
    TOTPDevice.objects.filter(user=request.user).exclude(pk=device.pk).delete()
    otp_login(request, device)
    return new_recovery_codes(request.user)


@transaction.atomic
def new_recovery_codes(user):
    """Replace the user's recovery codes with new ones and return them (shown once)."""
    device, _ = StaticDevice.objects.get_or_create(user=user, name=RECOVERY, defaults={"confirmed": True})
    device.token_set.all().delete()
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODE_COUNT)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
    return codes


def recovery_codes_left(user):
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()


def verify(request, code):
    """Check a code from the authenticator or a recovery code (spent when used); when right,
    the session counts as verified. django-otp slows down guessing: each wrong code makes a
    device wait twice as long before it accepts the next."""
    device = match_token(request.user, code.strip().replace(" ", ""))
    if device is None:
        return False
    otp_login(request, device)
    return True
