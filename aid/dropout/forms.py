"""Forms of the dropout-control pages (控辍保学): cases, their responsible persons,
persuasion attempts and closing, and the ledgers' period chooser.

They check the shape of the input and offer only choices from the user's scope; the rules
(who may act, which outcome needs what, which dates are allowed) are in aid.dropout and
aid.dropout.ledgers, whose errors come back beside these forms' fields.
"""
from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from aid.dropout.exports import LedgerKind
from aid.dropout.ledgers import Period
from aid.dropout.models import CaseResponsible, DropoutCase, PersuasionAttempt
from common.locking import EditConflict, VersionedForm
from students.forms import DateInput, clean_phone_number
from students.models import School, User

Outcome = DropoutCase.Outcome


class ServiceErrorsMixin:
    def add_service_error(self, error):
        """Put a ValidationError of aid.dropout beside its field, or above the form."""
        if isinstance(error, EditConflict):
            self.show_conflict(error)
            return
        if not hasattr(error, "error_dict"):
            self.add_error(None, error)
            return
        for key, messages in error.error_dict.items():
            self.add_error(key if key in self.fields else None, messages)


def reason_fields():
    return {
        "reason": forms.ChoiceField(
            label=_("Reason"), choices=[("", "---------"), *DropoutCase.Reason.choices], required=False
        ),
        "reason_note": forms.CharField(
            label=_("Details"),
            max_length=300,
            required=False,
            widget=forms.Textarea(attrs={"rows": 2}),
        ),
    }


class CaseOpenForm(ServiceErrorsMixin, forms.Form):
    """A case opened by hand for a student of the user's scope."""

    kind = forms.ChoiceField(
        label=_("Kind"), choices=DropoutCase.Kind.choices, widget=forms.RadioSelect
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields.update(reason_fields())


class CaseUpdateForm(ServiceErrorsMixin, VersionedForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields.update(reason_fields())


class ResponsibleForm(ServiceErrorsMixin, forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=CaseResponsible.Role.choices)
    name = forms.CharField(label=_("Name"), max_length=50, required=False)
    phone = forms.CharField(
        label=_("Phone"), max_length=20, required=False, widget=forms.TextInput(attrs={"inputmode": "tel"})
    )
    account = forms.ModelChoiceField(
        label=_("Staff account"), queryset=User.objects.none(), required=False,
        help_text=_("A teacher or administrator of the student's school: they are told of the case."),
    )

    def __init__(self, *args, staff=None, **kwargs):
        super().__init__(*args, **kwargs)
        if staff is not None:
            self.fields["account"].queryset = staff

    def clean_phone(self):
        return clean_phone_number(self.cleaned_data["phone"])

    def clean(self):
        cleaned = super().clean()
        if not cleaned.get("name") and cleaned.get("account"):
            cleaned["name"] = str(cleaned["account"])
        if not cleaned.get("name") and "name" not in self.errors:
            self.add_error("name", _("Give the person's name, or choose their account."))
        return cleaned


class AttemptForm(ServiceErrorsMixin, forms.Form):
    attempted_on = forms.DateField(label=_("Date"), widget=DateInput)
    persons = forms.CharField(
        label=_("Who"),
        max_length=200,
        widget=forms.TextInput(attrs={"placeholder": _("e.g. 李老师、村支书")}),
    )
    method = forms.ChoiceField(label=_("How"), choices=PersuasionAttempt.Method.choices)
    outcome = forms.CharField(
        label=_("Result"), max_length=300, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        today = timezone.localdate()
        self.fields["attempted_on"].initial = today
        self.fields["attempted_on"].widget.attrs["max"] = today.isoformat()


class CaseReopenForm(ServiceErrorsMixin, forms.Form):
    reason = forms.CharField(
        label=_("Reason for reopening"), max_length=300, widget=forms.Textarea(attrs={"rows": 2})
    )


class CaseCloseForm(ServiceErrorsMixin, forms.Form):
    """How the case ends. The field names are those of aid.dropout.case_close's errors."""

    outcome = forms.ChoiceField(
        label=pgettext_lazy("dropout case", "Outcome"), choices=Outcome.choices, widget=forms.RadioSelect
    )
    closed_on = forms.DateField(label=_("Date"), widget=DateInput)
    receiving_school = forms.CharField(
        label=_("Receiving school"),
        max_length=100,
        required=False,
        help_text=_("Required when the student transferred."),
    )
    note = forms.CharField(
        label=_("Explanation"),
        max_length=300,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Required when the outcome is “other”."),
    )
    return_school = forms.ModelChoiceField(
        label=_("School returned to"),
        queryset=School.objects.none(),
        required=False,
        empty_label=_("The same school"),
        help_text=_("Only when the student returned to another school."),
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        today = timezone.localdate()
        self.fields["closed_on"].initial = today
        self.fields["closed_on"].widget.attrs["max"] = today.isoformat()
        self.fields["return_school"].queryset = School.objects.visible_to(user).only("pk", "name")

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("return_school") and cleaned.get("outcome") != Outcome.RETURNED:
            self.add_error(
                "return_school", _("Choose a school only when the student returned to school.")
            )
        return cleaned


class LedgerForm(forms.Form):
    """Which ledger, for which month or quarter (schools report monthly, the county
    quarterly). The period arrives as text and leaves as an aid.dropout.ledgers.Period."""

    kind = forms.ChoiceField(label=_("Ledger"), choices=LedgerKind.choices)
    period = forms.CharField(
        label=_("Month or quarter"),
        max_length=10,
        help_text=_("A month as 2026-11, a quarter as 2026-Q4."),
        widget=forms.TextInput(attrs={"list": "periods", "autocomplete": "off"}),
    )

    def clean_period(self):
        return Period.parse(self.cleaned_data["period"])


def recent_periods(today):
    """The labels offered in the period chooser: this month and the eleven before it, then
    this quarter and the three before it."""
    months, quarters = [], []
    year, month = today.year, today.month
    for _step in range(12):
        months.append(f"{year}-{month:02d}")
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    year, quarter = today.year, (today.month - 1) // 3 + 1
    for _step in range(4):
        quarters.append(f"{year}-Q{quarter}")
        year, quarter = (year, quarter - 1) if quarter > 1 else (year - 1, 4)
    return months + quarters
