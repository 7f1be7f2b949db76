"""Optimistic locking for edit forms, on the record's history.

The form carries the id of the record's latest history row when it was opened (`seen`,
a hidden field of `VersionedForm`); the service, in the transaction that saves, locks the
row and compares (`check_unchanged`). Someone else's save in between made a newer history
row: the later save is refused with what they changed, their value beside the one the
user submitted, and the view renders the form again with the user's input and the new
version, so a second submit saves it knowingly.

Every write path keeps history (common.audit), so the latest history row is the version.
"""
from dataclasses import dataclass

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

NO_HISTORY = 0  # the version of a record that has no history row yet


def version_of(instance):
    """The id of the record's latest history row (NO_HISTORY when it has none)."""
    if instance is None or instance.pk is None:
        return NO_HISTORY
    latest = instance.history.order_by("-history_id").values_list("history_id", flat=True).first()
    return latest or NO_HISTORY


class VersionedForm(forms.Form):
    """A form for editing one record: give it `version=version_of(record)` when unbound."""

    seen = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=0)

    def __init__(self, *args, version=None, **kwargs):
        super().__init__(*args, **kwargs)
        if version is not None:
            self.fields["seen"].initial = version

    def seen_version(self):
        return self.cleaned_data.get("seen")

    def show_conflict(self, conflict):
        """Keep the user's input, move the form to the version now saved, and say why."""
        self.data = self.data.copy()
        self.data[self.add_prefix("seen")] = conflict.current_version
        self.add_error(None, conflict)


class VersionedModelForm(forms.ModelForm):
    """VersionedForm for a ModelForm: the version of its instance is filled in."""

    seen = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=0)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["seen"].initial = version_of(self.instance)

    seen_version = VersionedForm.seen_version
    show_conflict = VersionedForm.show_conflict


@dataclass
class FieldChange:
    label: str
    theirs: str
    yours: str


class EditConflict(ValidationError):
    """Someone else saved the record after the user opened the form."""

    def __init__(self, *, record, by, at, changes, current_version):
        self.record, self.by, self.at, self.changes = record, by, at, changes
        self.current_version = current_version
        parts = [
            _("%(person)s saved this record at %(time)s, after you opened it; your changes were not saved and are still in the form.")
            % {"person": by or _("someone"), "time": timezone.localtime(at).strftime("%Y-%m-%d %H:%M")}
        ]
        for change in changes:
            parts.append(
                _("%(field)s: theirs “%(theirs)s”, yours “%(yours)s”.")
                % {"field": change.label, "theirs": change.theirs, "yours": change.yours}
            )
        parts.append(_("Check the form and save again to keep your values."))
        super().__init__(" ".join(parts), code="edit_conflict")


def check_unchanged(instance, seen_version, *, fields=None):
    """Refuse the save (EditConflict) when the record has a history row newer than the one
    the form was opened at. Call it inside the saving transaction: it locks the row first,
    so of two saves at the same moment the second waits and then sees the first.

    `instance` holds the values the user submitted (not yet saved); `fields` limits the
    comparison (default: every editable field the history keeps). Saves since then that
    changed none of them are no conflict. `seen_version` None: nothing to check (not a form).
    """
    if seen_version is None or instance.pk is None:
        return
    model = type(instance)
    model._base_manager.select_for_update().filter(pk=instance.pk).values_list("pk", flat=True).get()
    history = instance.history.order_by("-history_id")
    latest = history.first()
    if latest is None or latest.history_id == seen_version:
        return
    seen = history.filter(history_id=seen_version).first()
    changes = changes_since(seen, latest, instance, fields) if seen is not None else []
    if seen is not None and not changes:
        return  # saved again without a change to what this form edits: nothing to lose
    raise EditConflict(
        record=instance,
        by=latest.history_user,
        at=latest.history_date,
        changes=changes,
        current_version=latest.history_id,
    )


def changes_since(seen, latest, yours, fields):
    """The fields the other person changed, their value and the user's (the fields a form
    edits: not the derived ones, such as a student's birth date, nor the time stamps)."""
    delta = latest.diff_against(seen, included_fields=fields)
    changes = []
    for change in delta.changes:
        model_field = type(yours)._meta.get_field(change.field)
        changes.append(
            FieldChange(
                label=str(model_field.verbose_name),
                theirs=shown(model_field, change.new),
                yours=shown(model_field, model_field.value_from_object(yours)),
            )
        )
    return changes


EMPTY = gettext_lazy("(empty)")


def shown(model_field, value):
    """A field's value as the form shows it: the label of a choice, the name of a record."""
    if value in (None, ""):
        return str(EMPTY)
    if model_field.choices:
        return str(dict(model_field.flatchoices).get(value, value))
    if model_field.is_relation:
        related = model_field.related_model._base_manager.filter(pk=value).first()
        return str(related) if related is not None else str(value)
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    return str(value)
