"""The home-visit form, built for a teacher's phone. It checks the shape of the input;
aid.services decides what a visit must contain (e.g. a reason for every policy not delivered)."""
from django import forms
from django.contrib.auth import get_user_model
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from students.forms import DateInput

from .models import HomeVisit, PolicyCheck

DELIVERED, NOT_DELIVERED = "yes", "no"


class VisitorChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, user):
        return f"{user} · {user.subject}" if user.subject else str(user)


class VisitForm(forms.ModelForm):
    """A visit with its other visitors, its policy checklist (delivered or not, and why,
    for each program that applies to the student) and the items handed over."""

    other_visitors = VisitorChoiceField(
        label=capfirst(HomeVisit._meta.get_field("other_visitors").verbose_name),
        queryset=get_user_model().objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = HomeVisit
        fields = [
            "visited_on",
            "mode",
            "study_situation",
            "living_situation",
            "remote_learning_feedback",
            "family_concerns",
            "measures",
            "dropout_risk",
            "follow_up_needed",
            "next_visit_on",
        ]
        widgets = {
            "visited_on": DateInput,
            "next_visit_on": DateInput,
            "mode": forms.RadioSelect,
            "dropout_risk": forms.RadioSelect,
            "study_situation": forms.Textarea(attrs={"rows": 2}),
            "living_situation": forms.Textarea(attrs={"rows": 2}),
            "remote_learning_feedback": forms.Textarea(attrs={"rows": 2}),
            "family_concerns": forms.Textarea(attrs={"rows": 2}),
            "measures": forms.Textarea(attrs={"rows": 3}),
        }

    def __init__(self, *args, colleagues, programs, items, correction=False, **kwargs):
        """`colleagues`: who may be named as other visitors; `programs`: the checklist;
        `items`: the items that can be handed over; `correction`: a reason is asked for."""
        super().__init__(*args, **kwargs)
        visited_on = self.fields["visited_on"]
        visited_on.show_hidden_initial = False
        visited_on.widget.attrs["max"] = timezone.localdate().isoformat()
        if self.instance.pk is None:
            visited_on.initial = timezone.localdate()
        self.fields["other_visitors"].queryset = colleagues
        self.programs = programs
        self.delivery_items = items
        checks, quantities = {}, {}
        if self.instance.pk and not self.is_bound:
            checks, quantities = self._saved_details()
        reason_label = capfirst(PolicyCheck._meta.get_field("reason").verbose_name)
        for program in programs:
            check = checks.get(program.pk)
            answer = None if check is None else (DELIVERED if check.delivered else NOT_DELIVERED)
            self.fields[self.policy_field(program)] = forms.ChoiceField(
                label=program.name,
                choices=[(DELIVERED, _("Delivered")), (NOT_DELIVERED, _("Not delivered"))],
                widget=forms.RadioSelect,
                required=False,
                initial=answer,
            )
            self.fields[self.reason_field(program)] = forms.CharField(
                label=reason_label,
                max_length=200,
                required=False,
                initial="" if check is None else check.reason,
            )
        for item in items:
            self.fields[self.item_field(item)] = forms.IntegerField(
                label=item.name,
                min_value=0,
                max_value=999,
                required=False,
                initial=quantities.get(item.pk, 0),
                widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
            )
        if correction:
            self.fields["reason"] = forms.CharField(
                label=_("Reason for the correction"),
                max_length=500,
                widget=forms.Textarea(attrs={"rows": 2}),
            )

    def _saved_details(self):
        """What the visit being edited holds: its visitors, checklist and items."""
        self.initial["other_visitors"] = list(self.instance.other_visitors.all())
        checks = {check.program_id: check for check in self.instance.policy_checks.all()}
        quantities = dict(self.instance.deliveries.values_list("item_id", "quantity"))
        return checks, quantities

    @staticmethod
    def policy_field(program):
        return f"policy_{program.pk}"

    @staticmethod
    def reason_field(program):
        return f"policy_{program.pk}_reason"

    @staticmethod
    def item_field(item):
        return f"item_{item.pk}"

    def policy_lines(self):
        """(program, delivered field, reason field) for each line of the checklist."""
        return [
            (program, self[self.policy_field(program)], self[self.reason_field(program)])
            for program in self.programs
        ]

    def item_lines(self):
        return [(item, self[self.item_field(item)]) for item in self.delivery_items]

    def policy_answers(self):
        """{program id: (delivered, reason)} for the lines answered, as aid.services wants."""
        answers = {}
        for program in self.programs:
            answer = self.cleaned_data.get(self.policy_field(program))
            if answer:
                answers[program.pk] = (
                    answer == DELIVERED,
                    self.cleaned_data.get(self.reason_field(program), ""),
                )
        return answers

    def deliveries(self):
        """{item: quantity}, 0 for the items not handed over."""
        return {
            item: self.cleaned_data.get(self.item_field(item)) or 0 for item in self.delivery_items
        }

    def add_service_error(self, error):
        """Put a ValidationError of aid.services beside its field or checklist line."""
        if not hasattr(error, "error_dict"):
            self.add_error(None, error)
            return
        by_id = {program.pk: program for program in self.programs}
        for key, messages in error.error_dict.items():
            if key in by_id:
                self.add_error(self.policy_field(by_id[key]), messages)
            elif key in self.fields:
                self.add_error(key, messages)
            else:
                self.add_error(None, messages)
