"""Uploaded roster files (full ID numbers inside) are deleted by the daily job once past their
keeping time; the import's record stays."""
import datetime

import pytest
import time_machine
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from students import importer
from students.models import RosterImport
from tests.factories import BureauAdminFactory

pytestmark = pytest.mark.django_db

CONTENT = "姓名,身份证号\n张三,371324201205010011\n".encode()


def uploaded(user, *, days_ago, applied_days_ago=None):
    with time_machine.travel(timezone.now() - datetime.timedelta(days=days_ago), tick=False):
        roster_import = RosterImport.objects.create(
            uploaded_by=user, file_name="花名册.csv", checksum="0" * 64, content=CONTENT, rows_read="[]"
        )
    if applied_days_ago is not None:
        roster_import.state = RosterImport.State.APPLIED
        roster_import.applied_at = timezone.now() - datetime.timedelta(days=applied_days_ago)
        roster_import.save()
    return roster_import


@override_settings(ROSTER_FILE_UNAPPLIED_DAYS=14, ROSTER_FILE_APPLIED_DAYS=30)
def test_files_past_their_keeping_time_are_deleted_and_the_others_kept():
    user = BureauAdminFactory()
    old_unapplied = uploaded(user, days_ago=15)
    young_unapplied = uploaded(user, days_ago=13)
    old_applied = uploaded(user, days_ago=60, applied_days_ago=31)
    young_applied = uploaded(user, days_ago=60, applied_days_ago=29)

    assert importer.purge_roster_files() == 2

    def kept(roster_import):
        roster_import.refresh_from_db()
        return bytes(roster_import.content) == CONTENT and roster_import.file_purged_at is None

    assert not kept(old_unapplied) and not kept(old_applied)
    assert kept(young_unapplied) and kept(young_applied)
    old_unapplied.refresh_from_db()
    assert (bytes(old_unapplied.content), old_unapplied.rows_read, old_unapplied.file_name) == (b"", "", "花名册.csv")
    # The history never held the file, and records the purge.
    history_fields = {field.name for field in RosterImport.history.model._meta.fields}
    assert not {"content", "rows_read"} & history_fields
    assert old_unapplied.history.first().file_purged_at is not None
    assert importer.purge_roster_files() == 0  # once only


@override_settings(ROSTER_FILE_UNAPPLIED_DAYS=14)
def test_a_purged_check_sends_the_user_back_to_the_upload_page_saying_why(client_for):
    user = BureauAdminFactory()
    roster_import = uploaded(user, days_ago=20)
    importer.purge_roster_files()
    client = client_for(user)
    response = client.get(reverse("students:roster_import_detail", args=[roster_import.pk]))
    assert response.status_code == 302 and response.url == reverse("students:roster_import")
    response = client.post(reverse("students:roster_import_apply", args=[roster_import.pk]), follow=True)
    assert any(str(timezone.localdate()) in str(message) for message in response.context["messages"])
    assert RosterImport.objects.get(pk=roster_import.pk).state == RosterImport.State.CHECKED
