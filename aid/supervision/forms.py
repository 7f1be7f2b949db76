"""Forms of the grid, inspection, rectification and project pages.

They check the shape of the input and offer only choices from the user's scope; the rules
(a note for every unsatisfactory item, deadlines after the inspection, who may act) are
stated once in aid.supervision.services and called from here so that messages sit beside fields.
"""
from decimal import Decimal

from django import forms
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from aid.evidence.forms import PhotosField
from aid.supervision import services as supervision
from aid.supervision.models import GridGroup, SchoolProject
from common.locking import VersionedForm
from students.forms import DateInput
from students.models import Region, School

User = get_user_model()
SATISFACTORY, UNSATISFACTORY = "yes", "no"


class PersonChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, user):
        return f"{user} · {user.get_role_display()}" if user.role else str(user)


class PeopleChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, user):
        return f"{user} · {user.subject}" if user.subject else str(user)


class GridForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=50)
    leader = PersonChoiceField(label=_("Grid leader"), queryset=User.objects.none())
    members = PeopleChoiceField(
        label=_("Members"),
        queryset=User.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    townships = forms.ModelMultipleChoiceField(
        label=_("Townships covered"),
        queryset=Region.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("Choose the townships the grid covers.")},
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        staff = supervision.grid_staff(user)
        self.fields["leader"].queryset = staff
        self.fields["members"].queryset = staff
        self.fields["townships"].queryset = Region.objects.visible_to(user).townships()


class InspectionForm(forms.Form):
    """An inspection of one school: the grid, date and inspectors, an answer (and a note
    when unsatisfactory) for every active checklist item, the findings, and up to
    MAX_RECTIFICATIONS rectification items in `self.rectifications`."""

    grid = forms.ModelChoiceField(label=_("Grid group"), queryset=GridGroup.objects.none())
    inspected_on = forms.DateField(label=_("Inspection date"), widget=DateInput)
    inspectors = PeopleChoiceField(
        label=_("Inspectors"),
        queryset=User.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("Name at least one inspector.")},
    )
    findings = forms.CharField(
        label=_("Findings"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 4})
    )

    def __init__(self, data=None, *, grids, inspectors, items, user):
        today = timezone.localdate()
        initial = {"inspected_on": today, "inspectors": [user.pk]}
        offered = list(grids)
        if len(offered) == 1:
            initial["grid"] = offered[0].pk
        super().__init__(data, initial=initial)
        self.has_grid = bool(offered)
        self.fields["grid"].queryset = grids
        self.fields["inspected_on"].widget.attrs["max"] = today.isoformat()
        self.fields["inspectors"].queryset = inspectors
        self.items = list(items)
        for item in self.items:
            self.fields[f"answer_{item.pk}"] = forms.ChoiceField(
                label=item.text,
                choices=[(SATISFACTORY, _("Satisfactory")), (UNSATISFACTORY, _("Not satisfactory"))],
                widget=forms.RadioSelect,
                error_messages={"required": _("Answer this item.")},
            )
            self.fields[f"note_{item.pk}"] = forms.CharField(
                label=_("Note"),
                max_length=300,
                required=False,
                widget=forms.TextInput(attrs={"placeholder": _("Required when not satisfactory")}),
            )
        self.rectifications = RectificationFormSet(data, prefix="rectifications")

    def checklist(self):
        """(item, answer field, note field) for each checklist item, in order."""
        return [(item, self[f"answer_{item.pk}"], self[f"note_{item.pk}"]) for item in self.items]

    def more_rectifications_used(self):
        """Whether a line after the first was filled in (the page then shows them all)."""
        return any(row.has_changed() for row in self.rectifications.forms[1:])

    def clean(self):
        cleaned = super().clean()
        for item in self.items:
            answer = cleaned.get(f"answer_{item.pk}")
            if answer:
                try:
                    supervision.check_answer(answer == SATISFACTORY, cleaned.get(f"note_{item.pk}", ""))
                except ValidationError as error:
                    self.add_error(f"note_{item.pk}", error)
        inspected_on = cleaned.get("inspected_on")
        self.rectifications.full_clean()
        if inspected_on:
            for row in self.rectifications:
                deadline = getattr(row, "cleaned_data", {}).get("deadline")
                if deadline and "deadline" not in row.errors:
                    try:
                        supervision.check_deadline(inspected_on, deadline)
                    except ValidationError as error:
                        row.add_error("deadline", error)
        return cleaned

    def is_valid(self):
        form_valid = super().is_valid()
        return self.rectifications.is_valid() and form_valid

    def answers(self):
        return [
            supervision.Answer(
                item=item,
                satisfactory=self.cleaned_data[f"answer_{item.pk}"] == SATISFACTORY,
                note=self.cleaned_data[f"note_{item.pk}"],
            )
            for item in self.items
        ]

    def rectification_items(self):
        return [
            supervision.RectificationItem(row.cleaned_data["description"], row.cleaned_data["deadline"])
            for row in self.rectifications
            if row.cleaned_data.get("description")
        ]


class RectificationItemForm(forms.Form):
    """One line of the inspection's rectification items; a blank line is ignored."""

    description = forms.CharField(
        label=_("What must be put right"),
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    deadline = forms.DateField(label=_("Deadline"), required=False, widget=DateInput)

    def clean(self):
        cleaned = super().clean()
        description = cleaned.get("description", "").strip()
        deadline = cleaned.get("deadline")
        if description and not deadline and "deadline" not in self.errors:
            self.add_error("deadline", _("Give a deadline."))
        if deadline and not description:
            self.add_error("description", _("Say what must be put right."))
        return cleaned


RectificationFormSet = forms.formset_factory(
    RectificationItemForm,
    extra=supervision.MAX_RECTIFICATIONS,
    max_num=supervision.MAX_RECTIFICATIONS,
    validate_max=True,
)


class ReportForm(VersionedForm):
    report = forms.CharField(
        label=_("What the school did"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4}),
        error_messages={"required": _("Say what the school did.")},
    )
    photos = PhotosField(
        label=_("Photos of the work done"),
        help_text=_("Up to 6 photos, each at most 10 MB; the camera opens on a phone."),
    )


class CloseForm(VersionedForm):
    note = forms.CharField(label=_("Note"), max_length=200, required=False)


class ReopenForm(VersionedForm):
    reason = forms.CharField(
        label=_("Why is the item reopened?"),
        max_length=200,
        error_messages={"required": _("Say why the item is reopened.")},
    )
    deadline = forms.DateField(
        label=_("New deadline"),
        required=False,
        widget=DateInput,
        help_text=_("Leave empty to keep the current deadline."),
    )


class SchoolChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, school):
        return f"{school.name} · {school.region.name}"


class ProjectForm(forms.ModelForm):
    school = SchoolChoiceField(label=_("School"), queryset=School.objects.none())

    class Meta:
        model = SchoolProject
        fields = [
            "school",
            "name",
            "type",
            "investment",
            "funding_source",
            "status",
            "started_on",
            "completed_on",
        ]
        labels = {
            "investment": _("Investment (yuan)"),
            "started_on": _("Construction started"),
            "completed_on": _("Construction completed"),
        }
        widgets = {
            "investment": forms.NumberInput(attrs={"min": "0", "step": "0.01", "inputmode": "decimal"}),
            "started_on": DateInput,
            "completed_on": DateInput,
        }

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["school"].queryset = School.objects.visible_to(user).select_related("region")
        self.fields["investment"].validators.append(MinValueValidator(Decimal("0")))
