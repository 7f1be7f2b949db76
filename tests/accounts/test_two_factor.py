"""Two-factor login for bureau administrators and IT staff, when the setting asks for it."""
import base64
import datetime
import hashlib
import hmac
import re
import struct

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from accounts.models import LoginEvent
from tests.factories import BureauAdminFactory, TeacherFactory

pytestmark = pytest.mark.django_db

HOME = reverse("home")
ENROL = reverse("accounts:two_factor_enrol")
VERIFY = reverse("accounts:two_factor_verify")


def totp(secret, at=None):
    """RFC 6238: six digits from HMAC-SHA1 of the 30-second step, computed here."""
    key = base64.b32decode(secret.replace(" ", ""))
    step = int((at or timezone.now()).timestamp()) // 30
    digest = hmac.new(key, struct.pack(">Q", step), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    number = struct.unpack(">I", digest[offset:offset + 4])[0] & 0x7FFFFFFF
    return f"{number % 1_000_000:06d}"


def in_seconds(seconds):
    return time_machine.travel(timezone.now() + datetime.timedelta(seconds=seconds))


@pytest.fixture
def two_factor_on(settings):
    settings.TWO_FACTOR_REQUIRED = True


def log_in(client, user):
    response = client.post(reverse("login"), {"username": user.username, "password": "pass12345"})
    assert response.status_code == 302
    return client.get(HOME)


def enrol(client, user):
    """Logs in, enrols the authenticator with a code computed here; returns (secret, codes)."""
    assert log_in(client, user)["Location"] == f"{ENROL}?next=%2F"
    page = client.get(ENROL).content.decode()
    assert "<svg" in page  # the QR code, drawn on the server
    secret = re.search(r'id="totp-secret">([A-Z2-7 ]+)<', page).group(1)
    response = client.post(ENROL, {"code": totp(secret), "next": HOME})
    codes = re.findall(r"<li><code>([a-z2-7]+)</code></li>", response.content.decode())
    return secret, codes


def test_a_bureau_administrator_enrols_at_the_first_login_and_gets_recovery_codes(client, two_factor_on):
    user = BureauAdminFactory()
    secret, codes = enrol(client, user)
    assert len(codes) == 10 and len(set(codes)) == 10
    assert client.get(HOME).status_code == 200
    results = list(LoginEvent.objects.filter(user=user).order_by("pk").values_list("result", flat=True))
    assert results == [LoginEvent.Result.LOGGED_IN, LoginEvent.Result.CODE_ACCEPTED]


def test_the_next_login_asks_for_the_code_and_refuses_a_wrong_one(client, two_factor_on):
    user = BureauAdminFactory()
    secret, _ = enrol(client, user)
    client.post(reverse("logout"))
    with in_seconds(60):
        assert log_in(client, user)["Location"] == f"{VERIFY}?next=%2F"
        assert client.get(reverse("students:student_list"))["Location"].startswith(VERIFY)
        wrong = f"{(int(totp(secret)) + 1) % 1_000_000:06d}"
        response = client.post(VERIFY, {"code": wrong})
        assert response.status_code == 200 and response.context["form"].errors["code"]
        assert client.get(HOME).status_code == 302
    with in_seconds(120):  # past django-otp's pause after a wrong code
        response = client.post(VERIFY, {"code": totp(secret), "next": reverse("students:student_list")})
        assert response["Location"] == reverse("students:student_list")
        assert client.get(HOME).status_code == 200
    assert LoginEvent.objects.filter(user=user, result=LoginEvent.Result.CODE_REFUSED).count() == 1


def test_a_recovery_code_logs_in_once(client, two_factor_on):
    user = BureauAdminFactory()
    _, codes = enrol(client, user)
    client.post(reverse("logout"))
    log_in(client, user)
    assert client.post(VERIFY, {"code": codes[0]})["Location"] == HOME
    client.post(reverse("logout"))
    with in_seconds(60):
        log_in(client, user)
        assert client.post(VERIFY, {"code": codes[0]}).status_code == 200  # spent
        assert client.get(HOME).status_code == 302


def test_enrolling_again_is_refused_to_a_session_that_has_not_passed_the_code(client, two_factor_on):
    user = BureauAdminFactory()
    enrol(client, user)
    client.post(reverse("logout"))
    log_in(client, user)
    assert client.get(ENROL)["Location"] == VERIFY


def test_it_staff_pass_the_second_factor_before_the_admin_site(client, two_factor_on):
    user = BureauAdminFactory(is_superuser=True, is_staff=True)
    log_in(client, user)
    assert client.get(reverse("admin:index"))["Location"].startswith(ENROL)


def test_teachers_and_everyone_while_the_setting_is_off_log_in_with_the_password_alone(client, settings):
    teacher = TeacherFactory()
    settings.TWO_FACTOR_REQUIRED = True
    log_in(client, teacher)
    assert client.get(reverse("aid:my_students")).status_code == 200
    client.post(reverse("logout"))
    settings.TWO_FACTOR_REQUIRED = False
    assert log_in(client, BureauAdminFactory()).status_code == 200


def test_new_recovery_codes_replace_the_old_ones(client, two_factor_on):
    user = BureauAdminFactory()
    _, old_codes = enrol(client, user)
    page = client.get(reverse("accounts:password_change")).content.decode()
    assert "10" in re.search(r'id="two-factor">.*?</p>', page, re.S).group(0)
    response = client.post(reverse("accounts:recovery_codes"))
    new_codes = re.findall(r"<li><code>([a-z2-7]+)</code></li>", response.content.decode())
    assert len(new_codes) == 10 and not set(new_codes) & set(old_codes)
    client.post(reverse("logout"))
    with in_seconds(60):
        log_in(client, user)
        assert client.post(VERIFY, {"code": old_codes[1]}).status_code == 200
    with in_seconds(120):
        assert client.post(VERIFY, {"code": new_codes[1]})["Location"] == HOME
