"""The write path: check a file as an import, check it again with another column mapping,
apply it in one transaction, revert it, and settle a missing student of a full snapshot."""
import datetime
import hashlib

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from common import bulk_writes
from common.spreadsheets import (
    table_to_json,
)

from students import hooks
from students.models import (
    Household,
    ImportedChange,
    RosterImport,
    SnapshotAbsence,
    Student,
)

from .placing import HOUSEHOLD_FIELDS_COMPARED, STUDENT_FIELDS_COMPARED, household_key, plan_import
from .plan import ImportHasErrors
from .reading import collector_paused, import_limits, read_roster, rows_of


@collector_paused()
def plan_for(roster_import, actor, on_progress=None):
    """Check the import's rows again: the registry may have changed since."""
    table = rows_of(roster_import)
    snapshot = None
    if roster_import.is_snapshot:
        snapshot = roster_import.snapshot_school or roster_import.snapshot_region
    return plan_import(
        table,
        actor=actor,
        mapping_override=roster_import.column_mapping or None,
        snapshot=snapshot,
        on_progress=on_progress,
    )


@collector_paused()
def roster_import_check(*, actor, file, file_name, is_snapshot=False, snapshot_school=None,
                        snapshot_region=None, column_mapping=None):
    """Read and check an uploaded file; record it as a checked import. Nothing else is written.

    Raises SpreadsheetRefused when the file itself cannot be read.
    Returns (RosterImport, ImportPlan).
    """
    if not actor.may_import_roster:
        raise PermissionDenied
    content = file.read(import_limits()["max_bytes"] + 1)
    table = read_roster(content, file_name)
    snapshot = None
    if is_snapshot:
        snapshot = snapshot_school or snapshot_region
        if snapshot is None:
            raise ValidationError(_("Choose the school or region that the full snapshot covers."))
    plan = plan_import(table, actor=actor, mapping_override=column_mapping, snapshot=snapshot)
    roster_import = RosterImport(
        uploaded_by=actor,
        file_name=file_name[:255],
        checksum=hashlib.sha256(content).hexdigest(),
        content=content,
        rows_read=table_to_json(table),
        column_mapping={str(index): key for index, key in plan.header.mapping.items()},
        is_snapshot=is_snapshot,
        snapshot_school=snapshot_school if is_snapshot else None,
        snapshot_region=snapshot_region if is_snapshot and snapshot_school is None else None,
    )
    store_counts(roster_import, plan)
    roster_import.save()
    roster_import.parsed_table = table
    return roster_import, plan


@collector_paused()
def roster_import_remap(*, actor, roster_import, column_mapping):
    """Check the same file again with the user's corrections to the column mapping."""
    roster_import = RosterImport.objects.visible_to(actor).without_files().get(pk=roster_import.pk)
    RosterImport.MOVES.check(roster_import.state, RosterImport.State.CHECKED)
    roster_import.column_mapping = {str(index): key for index, key in column_mapping.items() if key}
    plan = plan_for(roster_import, actor)
    store_counts(roster_import, plan)
    roster_import.save(update_fields=[*COUNT_FIELDS, "column_mapping"])
    return plan


COUNT_FIELDS = ["created_count", "updated_count", "unchanged_count", "error_count"]


def store_counts(roster_import, plan):
    counts = plan.counts
    roster_import.created_count = counts["new"]
    roster_import.updated_count = counts["updated"]
    roster_import.unchanged_count = counts["unchanged"]
    roster_import.error_count = counts["error"] + len(plan.header.missing_required)


@collector_paused()
def roster_import_apply(*, actor, roster_import, on_progress=None):
    """Write every row of a checked import, or nothing: the file is checked again first.

    The check runs before the write's transaction, so that a background job's progress
    (`on_progress(rows_done, rows_total, stage)`) can be seen while it runs; the write then
    takes the import's lock and checks its state again, so an import is applied once.
    Raises ImportHasErrors (nothing written) when any row has an error.
    """
    parsed_table = getattr(roster_import, "parsed_table", None)
    roster_import = RosterImport.objects.visible_to(actor).without_files().get(pk=roster_import.pk)
    RosterImport.MOVES.check(roster_import.state, RosterImport.State.APPLIED)
    roster_import.parsed_table = parsed_table
    plan = plan_for(roster_import, actor, on_progress=on_progress)
    store_counts(roster_import, plan)
    if plan.has_errors:
        roster_import.save(update_fields=COUNT_FIELDS)
        raise ImportHasErrors(plan)
    if on_progress:
        on_progress(len(plan.rows), len(plan.rows), _("Writing to the registry"))
    with transaction.atomic():
        locked = RosterImport.objects.without_files().select_for_update(of=("self",)).get(pk=roster_import.pk)
        RosterImport.MOVES.check(locked.state, RosterImport.State.APPLIED)
        write_plan(plan, roster_import, actor)
    return plan


def write_plan(plan, roster_import, actor):
    now = timezone.now()
    rows = plan.rows_with("new") + plan.rows_with("updated")
    write_households(rows, actor, roster_import.history_reason, now)
    write_students(rows, actor, roster_import.history_reason, now)
    hooks.status_changed([row.student for row in rows], actor)
    bulk_writes.create_from_values(ImportedChange, [change_record(roster_import, row) for row in rows])
    bulk_writes.create_with_history(
        [SnapshotAbsence(roster_import=roster_import, student=s) for s in plan.absent_students],
        user=actor, reason=roster_import.history_reason, date=now,
    )
    roster_import.state = RosterImport.State.APPLIED
    roster_import.applied_at = now
    roster_import.save(update_fields=[*COUNT_FIELDS, "state", "applied_at"])


def write_households(rows, actor, reason, now):
    """Update the households of known students; create the new ones (siblings share one)."""
    registered = {
        household.registration_number: household
        for household in Household.objects.filter(
            registration_number__in={
                row.household_fields["registration_number"]
                for row in rows if row.household_fields.get("registration_number")
            }
        )
    }
    new_households, new_rows, changed = {}, [], {}
    for row in rows:
        fields = row.household_fields
        existing = row.student.household if row.student is not None else None
        existing = existing or registered.get(fields.get("registration_number"))
        if existing is not None:
            if any(getattr(existing, key) != value for key, value in fields.items()):
                row.household_before = snapshot_of(existing, HOUSEHOLD_FIELDS_COMPARED)
                for key, value in fields.items():
                    setattr(existing, key, value)
                changed[existing.pk] = existing
            row.household = existing
            continue
        key = household_key(fields) or ("row", row.number)
        new_households.setdefault(key, fields)
        new_rows.append((row, key))
        row.household_created = True
    created = bulk_writes.create_from_values_with_history(
        Household, list(new_households.values()), user=actor, reason=reason, date=now
    )
    created_by_key = dict(zip(new_households, created, strict=True))
    for row, key in new_rows:
        row.household = created_by_key[key]
    bulk_writes.update_with_history(
        list(changed.values()), HOUSEHOLD_FIELDS_COMPARED, user=actor, reason=reason, date=now
    )


STUDENT_FIELDS_WRITTEN = STUDENT_FIELDS_COMPARED + (
    "id_number", "birth_date", "gender", "household",
    "left_roster_on", "left_roster_reason", "left_roster_note", "updated_at",
)


def write_students(rows, actor, reason, now):
    new_rows, updated = [], []
    for row in rows:
        if row.action == "new":
            new_rows.append(row)
            continue
        student = row.student
        row.student_before = snapshot_of(student, STUDENT_FIELDS_WRITTEN)
        for key, value in row.student_fields.items():
            setattr(student, key, value)
        student.household = row.household
        student.left_roster_on = None
        student.left_roster_reason = ""
        student.left_roster_note = ""
        student.updated_at = now
        updated.append(student)
    created = bulk_writes.create_from_values_with_history(
        Student, [{**row.student_fields, "household": row.household} for row in new_rows],
        user=actor, reason=reason, date=now,
    )
    for row, student in zip(new_rows, created, strict=True):
        row.student = student
    bulk_writes.update_with_history(updated, STUDENT_FIELDS_WRITTEN, user=actor, reason=reason, date=now)


def change_record(roster_import, row):
    """The ImportedChange of one applied row, as the column values bulk_writes takes."""
    return {
        "roster_import_id": roster_import.pk,
        "student_id": row.student.pk,
        "household_id": row.household.pk,
        "household_created": row.household_created,
        "action": ImportedChange.Action.CREATED if row.action == "new" else ImportedChange.Action.UPDATED,
        "row_number": row.number,
        "student_before": row.student_before,
        "household_before": row.household_before,
    }


def snapshot_of(instance, names):
    """Field values as JSON-safe data, keyed by column name, to restore on revert."""
    values = {}
    for name in names:
        model_field = instance._meta.get_field(name)
        value = getattr(instance, model_field.attname)
        if isinstance(value, (datetime.date, datetime.datetime)):
            value = value.isoformat()
        values[model_field.attname] = value
    return values


def restore(instance, values):
    for attname, value in values.items():
        model_field = next(f for f in instance._meta.concrete_fields if f.attname == attname)
        setattr(instance, attname, model_field.to_python(value) if value is not None else None)


def revert_blockers(roster_import):
    """Students or households changed by someone else after the import was applied."""
    reason = roster_import.history_reason
    changes = list(roster_import.changes.all())
    student_ids = [c.student_id for c in changes if c.student_id]
    household_ids = [c.household_id for c in changes if c.household_id]
    later = {"history_date__gt": roster_import.applied_at}
    touched_students = set(
        Student.history.filter(id__in=student_ids, **later)
        .exclude(history_change_reason=reason)
        .values_list("id", flat=True)
    )
    touched_households = set(
        Household.history.filter(id__in=household_ids, **later)
        .exclude(history_change_reason=reason)
        .values_list("id", flat=True)
    )
    return touched_students, touched_households


@transaction.atomic
def roster_import_revert(*, actor, roster_import):
    """Undo an applied import as a whole, while nothing later has touched its rows.

    Students it created are removed (the history keeps them), students it updated get their
    earlier values back, and households it created go when no student is left in them.
    """
    roster_import = (
        RosterImport.objects.visible_to(actor).without_files().select_for_update(of=("self",)).get(pk=roster_import.pk)
    )
    RosterImport.MOVES.check(roster_import.state, RosterImport.State.REVERTED)
    touched_students, touched_households = revert_blockers(roster_import)
    if touched_students or touched_households:
        raise ValidationError(
            _("%(count)s of its students or households were changed after the import; it can no longer be reverted.")
            % {"count": len(touched_students) + len(touched_households)}
        )
    reason = _("Revert of roster import %(id)s") % {"id": roster_import.pk}
    changes = list(roster_import.changes.select_related("student", "household"))
    restored = []
    for change in changes:
        if change.action == ImportedChange.Action.UPDATED and change.student is not None:
            restore(change.student, change.student_before)
            restored.append(change.student)
    bulk_writes.update_with_history(restored, STUDENT_FIELDS_WRITTEN, user=actor, reason=reason)
    restored_households = {}
    for change in changes:
        if change.household_before and change.household is not None:
            restore(change.household, change.household_before)
            restored_households[change.household.pk] = change.household
    bulk_writes.update_with_history(
        list(restored_households.values()), HOUSEHOLD_FIELDS_COMPARED, user=actor, reason=reason
    )
    created_ids = [c.student_id for c in changes if c.action == ImportedChange.Action.CREATED and c.student_id]
    for student in Student.objects.filter(pk__in=created_ids):
        student._history_user = actor
        student._change_reason = reason
        student.delete()
    created_households = {c.household_id for c in changes if c.household_created and c.household_id}
    for household in Household.objects.filter(pk__in=created_households, students__isnull=True):
        household._history_user = actor
        household._change_reason = reason
        household.delete()
    roster_import.absences.all().delete()
    roster_import.state = RosterImport.State.REVERTED
    roster_import.reverted_at = timezone.now()
    roster_import.reverted_by = actor
    roster_import.save()


@transaction.atomic
def snapshot_absence_check(*, actor, absence, note):
    """A person checked a student missing from a snapshot and says what they found."""
    if not Student.objects.visible_to(actor).filter(pk=absence.student_id).exists():
        raise PermissionDenied
    absence.checked_at = timezone.now()
    absence.checked_by = actor
    absence.note = note
    absence.save(update_fields=["checked_at", "checked_by", "note"])
    return absence
