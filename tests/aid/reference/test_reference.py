"""Who maintains the reference lists where; terms."""
import datetime
import io

import pytest
from django.core.management import call_command
from django.urls import reverse

from aid.reference.models import Term
from students.models import User
from tests.factories import RegionFactory

pytestmark = pytest.mark.django_db


def test_bureau_admin_command_creates_a_county_administrator_without_the_admin_site(client):
    """The county's reference lists are edited in the app's pages; the admin site, which
    would reach every county's, is for IT staff only."""
    RegionFactory()
    out = io.StringIO()
    call_command("bureau_admin", "zhang", "--region", "371324", "--full-name", "张主任", stdout=out)
    user = User.objects.get(username="zhang")
    assert (user.role, user.region.code, user.is_staff, user.is_superuser) == ("bureau_admin", "371324", False, False)
    assert "changepassword zhang" in out.getvalue()
    assert user.must_change_password  # IT chose the first password
    user.must_change_password = False
    user.save()
    client.force_login(user)
    assert client.get(reverse("aid:program_list")).status_code == 200
    assert client.get(reverse("admin:aid_aidprogram_changelist")).status_code == 302  # to the admin login


def test_only_it_staff_reach_the_reference_lists_in_the_admin_site(client):
    staff = User.objects.create_user("it", is_staff=True, is_superuser=False)
    client.force_login(staff)
    assert client.get(reverse("admin:aid_aidprogram_changelist")).status_code == 403
    staff.is_superuser = True
    staff.save()
    assert client.get(reverse("admin:aid_aidprogram_changelist")).status_code == 200
    term = Term.objects.create(name="2027 春季学期", starts_on="2027-02-20", ends_on="2027-07-10")
    assert client.get(reverse("admin:aid_term_change", args=[term.pk])).status_code == 200


def test_unknown_region_is_refused():
    from django.core.management import CommandError

    with pytest.raises(CommandError):
        call_command("bureau_admin", "li", "--region", "999999", stdout=io.StringIO())


def test_the_current_term_contains_the_day_or_else_is_the_latest_begun():
    autumn = Term.objects.create(name="2026 秋季学期", starts_on="2026-09-01", ends_on="2027-01-20")
    summer_school = Term.objects.create(name="2026 暑期班", starts_on="2026-07-15", ends_on="2026-12-31")  # overlaps
    spring = Term.objects.create(name="2027 春季学期", starts_on="2027-02-20", ends_on="2027-07-10")
    on = datetime.date.fromisoformat
    assert Term.objects.current(on("2026-08-01")) == summer_school
    assert Term.objects.current(on("2026-12-31")) == autumn  # both contain it: the later begun
    assert Term.objects.current(on("2027-01-10")) == autumn  # only autumn contains it
    assert Term.objects.current(on("2027-02-01")) == autumn  # the holiday: the term just over
    assert Term.objects.current(on("2027-02-20")) == spring
    assert Term.objects.current(on("2026-07-01")) is None
