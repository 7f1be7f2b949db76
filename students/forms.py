"""Forms check the shape of input; the services and models hold the rules."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from common.locking import VersionedModelForm

from . import idnumber
from .choices import LeaveReason
from .importer import COLUMNS
from .models import Household, Region, School, Student



def clean_phone_number(text):
    """A phone number as digits only (spaces and dashes dropped): 7 to 12 digits, mobile or
    fixed line with its area code; empty stays empty."""
    phone = idnumber.normalize(text).replace("-", "")
    if phone and not (phone.isdigit() and 7 <= len(phone) <= 12):
        raise ValidationError(_("Enter a phone number of 7 to 12 digits."))
    return phone

class DateInput(forms.DateInput):
    """A browser date picker; it needs ISO dates whatever the language."""

    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%d")


class StudentForm(VersionedModelForm):
    class Meta:
        model = Student
        fields = [
            "name",
            "id_number",
            "student_number",
            "school",
            "stage",
            "grade",
            "class_name",
            "status",
            "note",
        ]
        widgets = {"note": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["school"].queryset = School.objects.visible_to(user)
        self.fields["id_number"].widget.attrs.update(
            {"autocomplete": "off", "inputmode": "text", "maxlength": 20}
        )
        if not user.sees_full_id_numbers:
            self.fields["id_number"].disabled = True

    def clean_name(self):
        return "".join(self.cleaned_data["name"].split())

    def clean_id_number(self):
        number = idnumber.normalize(self.cleaned_data["id_number"])
        idnumber.validate(number)
        duplicates = Student.objects.on_roster().filter(id_number=number)
        if self.instance.pk:
            duplicates = duplicates.exclude(pk=self.instance.pk)
        existing = duplicates.first()
        if existing is not None:
            if Student.objects.visible_to(self.user).filter(pk=existing.pk).exists():
                raise ValidationError(
                    format_html(
                        '{} <a href="{}">{}</a>',
                        _("A student on the roster already has this ID number:"),
                        existing.get_absolute_url(),
                        existing.name,
                    ),
                    code="duplicate",
                )
            raise ValidationError(
                _(
                    "A student at a school outside your scope already has this ID number; "
                    "ask the county bureau to transfer the record."
                ),
                code="duplicate",
            )
        return number

    def _post_clean(self):
        # Fill the derived fields before the model validates the instance.
        number = self.cleaned_data.get("id_number")
        if number:
            self.instance.id_number = number
            self.instance.fill_from_id_number()
        super()._post_clean()


class HouseholdForm(VersionedModelForm):
    class Meta:
        model = Household
        fields = [
            "registration_number",
            "head_name",
            "township",
            "village",
            "category",
            "poverty_cause",
            "guardian_name",
            "guardian_phone",
        ]

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["township"].queryset = Region.objects.visible_to(user).townships()
        self.fields["guardian_phone"].widget.attrs["inputmode"] = "tel"

    def clean_guardian_phone(self):
        return clean_phone_number(self.cleaned_data["guardian_phone"])

    def clean_registration_number(self):
        number = idnumber.normalize(self.cleaned_data["registration_number"])
        if not number:
            return number
        others = Household.objects.filter(registration_number=number)
        if self.instance.pk:
            others = others.exclude(pk=self.instance.pk)
        if others.exists():
            raise ValidationError(
                _("Another household already has this registration number."), code="duplicate"
            )
        return number


class LeaveRosterForm(forms.Form):
    on = forms.DateField(label=_("Date"), widget=DateInput, initial=timezone.localdate)
    reason = forms.ChoiceField(label=_("Reason"), choices=LeaveReason.choices)
    note = forms.CharField(label=_("Explanation"), max_length=200, required=False)

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("reason") == LeaveReason.OTHER and not cleaned.get("note"):
            self.add_error("note", _("Explain the reason when it is “other”."))
        on = cleaned.get("on")
        if on and on > timezone.localdate():
            self.add_error("on", _("The date cannot be in the future."))
        return cleaned


class RosterUploadForm(forms.Form):
    file = forms.FileField(
        label=_("Roster file"),
        help_text=_("An .xlsx, .xls or .csv file; the header row may be below a title."),
        widget=forms.ClearableFileInput(attrs={"accept": ".xlsx,.xls,.csv,.et"}),
    )
    is_snapshot = forms.BooleanField(
        label=_("This file is a full snapshot"),
        required=False,
        help_text=_(
            "Tick when the file lists every student of a school or region: students of that "
            "scope missing from it are listed for checking."
        ),
    )
    snapshot_school = forms.ModelChoiceField(
        label=_("Snapshot of school"), queryset=School.objects.none(), required=False
    )
    snapshot_region = forms.ModelChoiceField(
        label=_("Snapshot of region"), queryset=Region.objects.none(), required=False
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["snapshot_school"].queryset = School.objects.visible_to(user)
        self.fields["snapshot_region"].queryset = Region.objects.visible_to(user).exclude(
            level="province"
        )

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("is_snapshot") and not (
            cleaned.get("snapshot_school") or cleaned.get("snapshot_region")
        ):
            self.add_error(
                "snapshot_school", _("Choose the school or region that the snapshot covers.")
            )
        return cleaned


class ColumnMappingForm(forms.Form):
    """One choice per column of the file: which registry field it holds, or none."""

    def __init__(self, *args, headers, mapping, **kwargs):
        super().__init__(*args, **kwargs)
        choices = [("", _("(ignore this column)"))] + [
            (column.key, column.header) for column in COLUMNS
        ]
        for index, header in enumerate(headers):
            if not header:
                continue
            self.fields[f"column_{index}"] = forms.ChoiceField(
                label=header, choices=choices, required=False, initial=mapping.get(index, "")
            )

    def clean(self):
        cleaned = super().clean()
        chosen = [value for value in cleaned.values() if value]
        if len(chosen) != len(set(chosen)):
            raise ValidationError(_("Each field can be chosen for one column only."))
        return cleaned

    def mapping(self):
        return {
            int(name.removeprefix("column_")): value
            for name, value in self.cleaned_data.items()
            if value
        }


class AbsenceCheckForm(forms.Form):
    note = forms.CharField(
        label=_("What was found"),
        max_length=200,
        widget=forms.TextInput(attrs={"placeholder": _("e.g. transferred to 临沂一中 in September")}),
    )
