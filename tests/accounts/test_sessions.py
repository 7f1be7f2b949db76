"""Sessions end when idle and after a fixed time; a password chosen by someone else must be
replaced at the first login; passwords follow the level-3 rules."""
import datetime
import io

import pytest
import time_machine
from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from accounts.models import LoginEvent
from aid.casework import services as casework
from students.models import User
from tests.factories import RegionFactory, SchoolAdminFactory, TeacherFactory

pytestmark = pytest.mark.django_db

HOME = reverse("home")
NEW_PASSWORD = "Xiangcheng-2027"


def later(minutes):
    return time_machine.travel(timezone.now() + datetime.timedelta(minutes=minutes))


def test_a_session_idle_for_longer_than_the_limit_ends(client_for, teacher, settings):
    settings.SESSION_IDLE_MINUTES = 30
    client = client_for(teacher)
    with later(29):
        assert client.get(reverse("aid:my_students")).status_code == 200
    with later(29 + 31):
        response = client.get(reverse("aid:my_students"))
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next=%2Faid%2Fmy-students%2F"
    assert "_auth_user_id" not in client.session
    assert LoginEvent.objects.filter(user=teacher).latest("pk").result == LoginEvent.Result.TIMED_OUT


def test_a_busy_session_still_ends_at_the_absolute_limit(client_for, teacher, settings):
    settings.SESSION_IDLE_MINUTES, settings.SESSION_MAX_HOURS = 30, 2
    client = client_for(teacher)
    for minutes in (25, 50, 75, 100):
        with later(minutes):
            assert client.get(reverse("aid:my_students")).status_code == 200
    with later(121):
        assert client.get(reverse("aid:my_students"))["Location"].startswith(reverse("login"))


def test_the_session_cookie_lasts_no_longer_than_the_absolute_limit(settings):
    assert settings.SESSION_COOKIE_AGE == settings.SESSION_MAX_HOURS * 3600 == 12 * 3600


@pytest.mark.parametrize(
    ("password", "accepted"),
    [("Lanling2027", True), ("lanling-2027", True), ("lanling2027", False), ("Ln-27", False), ("12345678", False)],
)
def test_passwords_need_eight_characters_of_three_kinds(password, accepted):
    try:
        password_validation.validate_password(password, User(username="li"))
    except ValidationError:
        assert not accepted
    else:
        assert accepted


def test_the_password_rules_follow_the_settings(settings):
    settings.AUTH_PASSWORD_VALIDATORS = [
        {"NAME": "accounts.validators.CharacterClassesValidator", "OPTIONS": {"min_classes": 4}},
    ]
    with pytest.raises(ValidationError):
        password_validation.validate_password("Lanling2027")
    password_validation.validate_password("Lanling-2027")


def test_a_teacher_opened_by_the_school_must_choose_a_password_first(client, school):
    admin = SchoolAdminFactory(school=school)
    teacher = casework.teacher_create(
        actor=admin, full_name="张老师", phone="13800001234", school=school, password="Lanling-2026!"
    )
    assert teacher.must_change_password
    client.post(reverse("login"), {"username": "13800001234", "password": "Lanling-2026!"})
    response = client.get(reverse("aid:my_students"))
    assert response["Location"] == f"{reverse('accounts:password_change')}?next=%2Faid%2Fmy-students%2F"
    assert client.post(reverse("logout")).status_code == 302  # logging out is always possible


def test_the_forced_change_refuses_a_weak_or_unchanged_password_then_lets_the_user_on(client_for, school):
    teacher = TeacherFactory(school=school, must_change_password=True)
    client = client_for(teacher)
    url = reverse("accounts:password_change")
    for weak in ("pass12345", "abc"):
        response = client.post(url, {"old_password": "pass12345", "new_password1": weak, "new_password2": weak})
        errors = response.context["form"].errors
        assert response.status_code == 200 and (errors.get("new_password1") or errors.get("new_password2"))
    response = client.post(
        url, {"old_password": "pass12345", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD,
              "next": reverse("aid:my_students")},
    )
    assert response["Location"] == reverse("aid:my_students")
    teacher.refresh_from_db()
    assert not teacher.must_change_password and teacher.check_password(NEW_PASSWORD)
    assert client.get(reverse("aid:my_students")).status_code == 200  # still logged in


def test_a_password_set_by_the_school_must_be_replaced_again(school):
    admin = SchoolAdminFactory(school=school)
    teacher = TeacherFactory(school=school)
    casework.teacher_set_password(actor=admin, teacher=teacher, password="Lanling-2026!")
    teacher.refresh_from_db()
    assert teacher.must_change_password


def test_every_user_changes_their_own_password_from_the_menu(client_for, teacher):
    client = client_for(teacher)
    page = client.get(reverse("aid:my_students")).content.decode()
    assert f'href="{reverse("accounts:password_change")}"' in page
    assert client.get(reverse("accounts:password_change")).status_code == 200


def test_a_bureau_administrator_made_by_it_staff_must_change_the_password():
    RegionFactory()
    call_command("bureau_admin", "zhang", "--region", "371324", stdout=io.StringIO())
    assert User.objects.get(username="zhang").must_change_password


def test_demo_accounts_keep_the_printed_password_unless_the_setting_asks(client, settings, monkeypatch):
    monkeypatch.delenv("DEMO_PASSWORD", raising=False)
    call_command("seed_demo", students=40, no_casework=True, stdout=io.StringIO())
    assert not User.objects.filter(must_change_password=True).exists()
    client.post(reverse("login"), {"username": "bureau", "password": "demo12345"})
    assert client.get(HOME).status_code == 200  # straight in, as the printed login promises
    assert LoginEvent.objects.filter(user__username="bureau").exists()  # and the reset takes it too
    settings.DEMO_MUST_CHANGE_PASSWORD = True
    call_command("seed_demo", students=40, no_casework=True, reset=True, stdout=io.StringIO())
    assert User.objects.filter(username="bureau", must_change_password=True).exists()


def test_an_account_it_staff_open_in_the_admin_site_must_change_its_password(client_for):
    it_staff = User.objects.create_superuser("it", password="pass12345")
    client = client_for(it_staff)
    response = client.post(reverse("admin:students_user_add"), {
        "username": "liu", "password1": "Lanling-2027!", "password2": "Lanling-2027!", "usable_password": "true",
        "role": "viewer", "region": RegionFactory().pk,
    })
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert User.objects.get(username="liu").must_change_password
