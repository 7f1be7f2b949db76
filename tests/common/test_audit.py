"""The audit trail: every domain model keeps history, the history and audit tables refuse
UPDATE and DELETE in PostgreSQL itself, and only the retention command removes rows (the
old ones)."""
import datetime
import io

import pytest
import time_machine
from django.apps import apps
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.db import InternalError, connection, transaction
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from common import audit
from students.models import ExportLog, Student
from tests.factories import AidProgramFactory, StudentFactory, UserFactory

pytestmark = pytest.mark.django_db

# Records that are themselves the trail of something else and are written once, and counts
# the database keeps from other tables.
WITHOUT_HISTORY = {
    "students.user", "students.importedchange", "students.exportlog", "students.idnumbercount",
    "aid.rostertally", "aid.visittally", "aid.teachertally", "aid.linetally", "aid.eligibilitytally", "aid.studentfactstally",
}


def domain_models():
    return [
        model
        for label in ("students", "aid")
        for model in apps.get_app_config(label).get_models()
        if not model.__name__.startswith("Historical")
    ]


def test_every_domain_model_keeps_history():
    missing = [
        model._meta.label_lower
        for model in domain_models()
        if model._meta.label_lower not in WITHOUT_HISTORY and not hasattr(model, "history")
    ]
    assert missing == []


def test_every_history_table_and_the_export_log_carry_the_trigger_in_the_database():
    """Looked up in pg_trigger, not in the code: the migrations really installed them."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT tgrelid::regclass::text FROM pg_trigger WHERE tgname LIKE %s",
            ["pgtrigger_append_only_%"],
        )
        protected = {row[0].strip('"') for row in cursor.fetchall()}
    history_tables = {
        model._meta.db_table
        for model in apps.get_models()
        if hasattr(model, "history_date") or hasattr(model, "m2m_history_id")
    }
    assert len(history_tables) > 30
    assert history_tables | {ExportLog._meta.db_table} <= protected


def test_history_rows_cannot_be_updated_or_deleted(student):
    record = student.history.get()
    with pytest.raises(InternalError, match="append_only|Cannot update"), transaction.atomic():
        Student.history.filter(pk=record.pk).update(name="改过的名字")
    with pytest.raises(InternalError, match="append_only|Cannot update or delete"), transaction.atomic():
        Student.history.filter(pk=record.pk).delete()
    with pytest.raises(InternalError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {Student.history.model._meta.db_table}")
    assert Student.history.get().name == student.name


def test_export_log_rows_cannot_be_updated_or_deleted(bureau_admin):
    entry = ExportLog.objects.create(user=bureau_admin, list_name="students", row_count=12)
    with pytest.raises(InternalError), transaction.atomic():
        ExportLog.objects.filter(pk=entry.pk).update(row_count=0)
    with pytest.raises(InternalError), transaction.atomic():
        entry.delete()
    assert ExportLog.objects.get().row_count == 12


def test_a_user_who_wrote_history_cannot_be_deleted_behind_its_back():
    """Deleting the account would blank history_user on its rows: refused too."""
    user = UserFactory()
    student = StudentFactory()
    student._history_user = user
    student.name = "改名"
    student.save()
    with pytest.raises(InternalError), transaction.atomic():
        user.delete()


def made_days_ago(days, make):
    """Run `make` with the clock `days` days back, so auto_now_add and history dates follow."""
    with time_machine.travel(timezone.now() - datetime.timedelta(days=days), tick=False):
        return make()


@override_settings(AUDIT_RETENTION_DAYS=365)
def test_retention_command_removes_only_the_rows_older_than_the_retention(bureau_admin):
    old_student = made_days_ago(400, StudentFactory)
    kept_student = made_days_ago(300, StudentFactory)
    old_log = made_days_ago(366, lambda: ExportLog.objects.create(user=bureau_admin, list_name="students", row_count=1))
    kept_log = made_days_ago(364, lambda: ExportLog.objects.create(user=bureau_admin, list_name="students", row_count=2))
    old_student.name = "改名"
    old_student.save()  # today: this change is kept, the creation 400 days ago is not
    out = io.StringIO()
    call_command("purge_audit_trail", stdout=out)
    assert list(old_student.history.values_list("history_type", flat=True)) == ["~"]
    assert kept_student.history.count() == 1
    assert set(ExportLog.objects.values_list("pk", flat=True)) == {kept_log.pk}
    assert old_log.pk not in ExportLog.objects.values_list("pk", flat=True)
    assert "Kept the last 365 days" in out.getvalue()
    # What is left is still protected once the command is done.
    with pytest.raises(InternalError), transaction.atomic():
        ExportLog.objects.all().delete()


@override_settings(AUDIT_RETENTION_DAYS=365)
def test_retention_removes_the_history_of_many_to_many_fields_with_their_records(county):
    program = made_days_ago(400, AidProgramFactory)
    made_days_ago(400, lambda: program.schools.add(county["primary"]))
    through = apps.get_model("aid", "HistoricalAidProgram_schools")
    assert through.objects.count() == 1
    audit.purge_expired_audit_rows()
    assert through.objects.count() == 0
    assert program.history.count() == 0


@override_settings(AUDIT_RETENTION_DAYS=100)
def test_a_retention_shorter_than_six_months_is_refused():
    StudentFactory()
    with pytest.raises(ImproperlyConfigured):
        call_command("purge_audit_trail", stdout=io.StringIO())
    assert Student.history.count() == 1


def test_the_daily_job_queues_the_retention_and_the_file_purge():
    from django_tasks_db.models import DBTaskResult

    call_command("run_daily", stdout=io.StringIO())
    queued = set(DBTaskResult.objects.values_list("task_path", flat=True))
    assert {"jobs.tasks.purge_audit_trail", "jobs.tasks.purge_roster_files"} <= queued


def test_the_admin_lets_no_superuser_delete_export_log_rows(client):
    superuser = UserFactory(is_superuser=True, is_staff=True)
    client.force_login(superuser)
    entry = ExportLog.objects.create(user=superuser, list_name="students", row_count=3)
    assert client.get(reverse("admin:students_exportlog_delete", args=[entry.pk])).status_code == 403
    response = client.post(
        reverse("admin:students_exportlog_changelist"),
        {"action": "delete_selected", "_selected_action": [entry.pk], "post": "yes"},
    )
    assert ExportLog.objects.filter(pk=entry.pk).exists()
    assert response.status_code in (200, 302)

