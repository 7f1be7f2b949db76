"""Logging in: the lockout after repeated failures, the login log and who reads it."""
import datetime

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.html import escape
from django.utils.translation import gettext

from accounts.models import LoginEvent
from tests.factories import BureauAdminFactory, SchoolAdminFactory, TeacherFactory, ViewerFactory

pytestmark = pytest.mark.django_db

Result = LoginEvent.Result
LOCKOUT_MESSAGE = (
    "Too many failed logins: this login, or this computer's address, is locked for %(minutes)s minutes. "
    "Try again later, or ask the bureau's administrator to unlock it."
)


def log_in(client, username, password, address="10.0.0.7", **headers):
    return client.post(reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=address, **headers)


def lockout_text(minutes=30):
    with translation.override("zh-hans"):
        return escape(gettext(LOCKOUT_MESSAGE) % {"minutes": minutes})


def test_five_wrong_passwords_lock_the_login_even_against_the_right_one(client):
    user = TeacherFactory(username="13800001111")
    for _ in range(4):
        assert log_in(client, user.username, "wrong").status_code == 200  # the form again
    response = log_in(client, user.username, "wrong")
    assert response.status_code == 429
    response = log_in(client, user.username, "pass12345", address="10.0.0.8")  # another computer
    assert response.status_code == 429
    page = response.content.decode()
    assert '<html lang="zh-hans">' in page and lockout_text() in page
    assert "_auth_user_id" not in client.session


def test_the_lockout_ends_after_the_cool_off_time(client, settings):
    settings.AXES_COOLOFF_TIME = datetime.timedelta(minutes=15)
    user = TeacherFactory()
    for _ in range(5):
        log_in(client, user.username, "wrong")
    assert lockout_text(15) in log_in(client, user.username, "pass12345").content.decode()
    with time_machine.travel(timezone.now() + datetime.timedelta(minutes=14)):
        assert log_in(client, user.username, "pass12345").status_code == 429
    with time_machine.travel(timezone.now() + datetime.timedelta(minutes=16)):
        response = log_in(client, user.username, "pass12345")
        assert response.status_code == 302 and response["Location"] == reverse("home")
        assert client.session["_auth_user_id"] == str(user.pk)


def test_five_failures_from_one_address_lock_that_address_for_every_login(client):
    victim = TeacherFactory()
    for number in range(5):
        log_in(client, f"guess{number}", "wrong", address="203.0.113.9")
    assert log_in(client, victim.username, "pass12345", address="203.0.113.9").status_code == 429
    assert log_in(client, victim.username, "pass12345", address="203.0.113.10").status_code == 302


def test_the_forwarded_address_counts_only_behind_the_proxy(client, settings):
    user = TeacherFactory()
    settings.BEHIND_PROXY = False  # a client that writes the header itself gains nothing
    for number in range(5):
        log_in(client, user.username, "wrong", address="10.0.0.1", HTTP_X_FORWARDED_FOR=f"198.51.100.{number}")
    assert set(LoginEvent.objects.values_list("address", flat=True)) == {"10.0.0.1"}

    settings.BEHIND_PROXY = True  # nginx appends the address it saw last; earlier ones are the client's
    log_in(client, "someone", "wrong", address="127.0.0.1", HTTP_X_FORWARDED_FOR="1.2.3.4, 198.51.100.77")
    assert LoginEvent.objects.first().address == "198.51.100.77"
    log_in(client, "someone", "wrong", address="127.0.0.1", HTTP_X_FORWARDED_FOR="not-an-address")
    assert LoginEvent.objects.first().address == "127.0.0.1"


def test_logins_failures_and_logouts_are_logged_with_address_and_result(client):
    user = SchoolAdminFactory(username="wang")
    log_in(client, "wang", "wrong", address="10.1.1.1")
    log_in(client, "nobody", "wrong", address="10.1.1.2")
    log_in(client, "wang", "pass12345", address="10.1.1.3")
    client.post(reverse("logout"), REMOTE_ADDR="10.1.1.3")
    rows = list(LoginEvent.objects.order_by("pk").values_list("user", "username", "address", "result"))
    assert rows == [
        (user.pk, "wang", "10.1.1.1", Result.FAILED),
        (None, "nobody", "10.1.1.2", Result.FAILED),
        (user.pk, "wang", "10.1.1.3", Result.LOGGED_IN),
        (user.pk, "wang", "10.1.1.3", Result.LOGGED_OUT),
    ]


def test_the_bureau_reads_the_login_log_of_its_own_county_only(client_for, county, django_assert_max_num_queries):
    ours = TeacherFactory(school=county["primary"], full_name="李老师")
    theirs = TeacherFactory(school=county["other"], full_name="费县老师")
    bureau = BureauAdminFactory(region=county["county"])
    for user in (ours, theirs, ours):
        LoginEvent.objects.create(user=user, username=user.username, address="10.0.0.5", result=Result.LOGGED_IN)
    LoginEvent.objects.create(username="ghost", address="10.0.0.6", result=Result.FAILED)

    client = client_for(bureau)
    with django_assert_max_num_queries(12):
        response = client.get(reverse("accounts:login_log"))
    assert response.status_code == 200
    # Newest first: the bureau's own login (by client_for), then its teacher's.
    assert [event.user for event in response.context["events"]] == [bureau, ours, ours]
    assert "费县老师" not in response.content.decode() and "ghost" not in response.content.decode()
    filtered = client.get(reverse("accounts:login_log"), {"result": Result.FAILED})
    assert list(filtered.context["events"]) == []

    superuser = BureauAdminFactory(is_superuser=True)
    assert client_for(superuser).get(reverse("accounts:login_log")).context["paginator"].count == 6  # and both logins


@pytest.mark.parametrize("factory", [ViewerFactory, SchoolAdminFactory, TeacherFactory])
def test_only_the_bureau_opens_the_login_log(client_for, factory):
    assert client_for(factory()).get(reverse("accounts:login_log")).status_code == 403


def test_the_bureau_finds_the_login_log_in_its_menu(client_for):
    page = client_for(BureauAdminFactory()).get(reverse("home")).content.decode()
    assert f'href="{reverse("accounts:login_log")}"' in page
