"""Forms of the subsidy pages: batches, their lines and the precision checks.

They check the shape of the input and offer only choices from the user's scope; the rules
(who may act, in which state, which reasons are needed) are in aid.subsidies.services and
aid.subsidies.precision, whose errors come back onto these forms' fields.
"""
from django import forms
from django.db import models
from django.utils.translation import gettext_lazy as _

from aid.reference.models import AidProgram, Term
from aid.subsidies.models import DisbursementBatch, PaymentMethod, PrecisionResolution
from students.forms import DateInput
from students.models import Region, Student


class BatchCreateForm(forms.Form):
    program = forms.ModelChoiceField(label=_("Aid program"), queryset=AidProgram.objects.filter(is_active=True))
    term = forms.ModelChoiceField(label=_("Term"), queryset=Term.objects.all())
    region = forms.ModelChoiceField(
        label=_("Region"),
        queryset=Region.objects.none(),
        help_text=_("Lines are generated for the eligible students of the schools in this region."),
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["region"].queryset = Region.objects.visible_to(user)
        self.fields["program"].queryset = AidProgram.objects.visible_to(user).filter(is_active=True)


class BatchChangeForm(forms.Form):
    """Every change to a batch carries the version of the batch the page showed."""

    version = forms.IntegerField(min_value=0, widget=forms.HiddenInput)


class LineAction(models.TextChoices):
    REMOVE = "remove", _("Remove from the batch")
    AMOUNT = "amount", _("Change the amount")
    RETURNED = "returned", _("Payment returned")
    FAILED = "failed", _("Payment failed")


class LineUpdateForm(BatchChangeForm):
    """One line: remove it or change its amount (draft), or record a payment result."""

    action = forms.ChoiceField(label=_("Action"), choices=LineAction.choices)
    amount = forms.DecimalField(
        label=_("Amount"), max_digits=10, decimal_places=2, min_value=0, required=False
    )
    reason = forms.CharField(label=_("Reason"), max_length=200, required=False)
    # The line's own version (common.locking.version_of), to say what changed on a conflict.
    seen = forms.IntegerField(min_value=0, required=False, widget=forms.HiddenInput)

    def clean(self):
        data = super().clean()
        if data.get("action") == LineAction.AMOUNT and data.get("amount") is None:
            if "amount" not in self.errors:
                self.add_error("amount", _("Enter the amount."))
        return data


class LineAddForm(BatchChangeForm):
    """A student the generation left out, chosen from the (bounded) search results."""

    student = forms.ModelChoiceField(queryset=Student.objects.none(), widget=forms.HiddenInput)
    reason = forms.CharField(
        label=_("Reason for adding"),
        max_length=200,
        help_text=_("For example: enrolled in September, became a boarder this term."),
    )

    def __init__(self, *args, candidates, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["student"].queryset = candidates


class SchoolConfirmForm(BatchChangeForm):
    school = forms.ModelChoiceField(queryset=None, widget=forms.HiddenInput)

    def __init__(self, *args, schools, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["school"].queryset = schools


class BatchMoveForm(BatchChangeForm):
    """Move the batch on: submit, approve, send back (with a note), record payment, close."""

    to = forms.ChoiceField(choices=DisbursementBatch.State.choices, widget=forms.HiddenInput)
    note = forms.CharField(label=_("Why it is sent back"), max_length=200, required=False)
    paid_on = forms.DateField(label=_("Payment date"), widget=DateInput, required=False)
    method = forms.ChoiceField(
        label=_("Payment method"), choices=[("", "---------"), *PaymentMethod.choices], required=False
    )

    def clean(self):
        data = super().clean()
        paying = data.get("to") == DisbursementBatch.State.PAID
        if paying and data.get("paid_on") is None and "paid_on" not in self.errors:
            self.add_error("paid_on", _("Enter the payment date."))
        return data


class ProgramChoiceForm(forms.Form):
    """Offers the programs of the user's county and the shared ones, no other county's."""

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["program"].queryset = AidProgram.objects.visible_to(user)


class SummaryForm(ProgramChoiceForm):
    term = forms.ModelChoiceField(label=_("Term"), queryset=Term.objects.all())
    program = forms.ModelChoiceField(
        label=_("Aid program"), queryset=AidProgram.objects.all(), required=False, empty_label=_("All programs")
    )


class PrecisionForm(ProgramChoiceForm):
    program = forms.ModelChoiceField(label=_("Aid program"), queryset=AidProgram.objects.all(), empty_label=None)
    term = forms.ModelChoiceField(label=_("Term"), queryset=Term.objects.all(), empty_label=None)


class FindingResolveForm(forms.Form):
    """What a person found about one finding (a kind of problem with one student)."""

    program = forms.ModelChoiceField(queryset=AidProgram.objects.all(), widget=forms.HiddenInput)
    term = forms.ModelChoiceField(queryset=Term.objects.all(), widget=forms.HiddenInput)
    kind = forms.ChoiceField(choices=PrecisionResolution.Kind.choices, widget=forms.HiddenInput)
    student = forms.ModelChoiceField(queryset=Student.objects.none(), widget=forms.HiddenInput)
    note = forms.CharField(
        label=_("What was found and done"),
        max_length=300,
        help_text=_("For example: transferred out in September, paid by the new school."),
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["student"].queryset = Student.objects.visible_to(user)


class FindingsBulkForm(forms.Form):
    """Several findings of one kind at once: resolved with one note, or (students eligible
    but not included) added to a draft batch of the same program and term."""

    RESOLVE = "resolve"
    ADD_TO_BATCH = "add_to_batch"

    program = forms.ModelChoiceField(queryset=AidProgram.objects.all(), widget=forms.HiddenInput)
    term = forms.ModelChoiceField(queryset=Term.objects.all(), widget=forms.HiddenInput)
    kind = forms.ChoiceField(choices=PrecisionResolution.Kind.choices, widget=forms.HiddenInput)
    action = forms.ChoiceField(choices=[(RESOLVE, RESOLVE), (ADD_TO_BATCH, ADD_TO_BATCH)])
    students = forms.ModelMultipleChoiceField(
        queryset=Student.objects.none(),
        error_messages={
            "required": _("Tick the findings to act on."),
            "invalid_choice": _("A ticked student is not in your scope; nothing was changed."),
        },
    )
    note = forms.CharField(
        label=_("What was found and done"),
        max_length=300,
        required=False,
        help_text=_("Kept with each ticked finding, or as the reason each student is added to the batch."),
    )
    batch = forms.ModelChoiceField(label=_("Draft batch"), queryset=DisbursementBatch.objects.none(), required=False)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["students"].queryset = Student.objects.visible_to(user)
        self.fields["batch"].queryset = DisbursementBatch.objects.visible_to(user).filter(
            state=DisbursementBatch.State.DRAFT
        ).select_related("program", "term", "region")

    def clean(self):
        data = super().clean()
        if not data.get("note", "").strip():
            self.add_error("note", _("Say what was found and done."))
        if data.get("action") == self.ADD_TO_BATCH:
            batch = data.get("batch")
            if data.get("kind") != PrecisionResolution.Kind.MISSED:
                self.add_error(None, _("Only students eligible but not included can be added to a batch."))
            elif batch is None:
                self.add_error("batch", _("Choose the draft batch to add the students to."))
            elif (batch.program_id, batch.term_id) != (getattr(data.get("program"), "pk", None), getattr(data.get("term"), "pk", None)):
                self.add_error("batch", _("Choose a batch of this program and term."))
        return data
