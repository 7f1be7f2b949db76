"""The reference lists' edit forms. A county's bureau administrator edits its own county's
entries, so the county is not asked and only its schools and programs are offered; IT staff
choose the county, or none for an entry shared by the province."""
from django import forms
from django.utils.translation import gettext_lazy as _

from aid.reference.models import AidProgram, ChecklistItem, DeliveryItem
from students.choices import HouseholdCategory, RegionLevel, Stage
from students.models import Region, School


class ReferenceForm(forms.ModelForm):
    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        if user.is_superuser:
            self.fields["region"].queryset = Region.objects.filter(level=RegionLevel.COUNTY)
        else:
            del self.fields["region"]


class ProgramForm(ReferenceForm):
    stages = forms.MultipleChoiceField(
        label=_("Eligible stages"), choices=Stage.choices, widget=forms.CheckboxSelectMultiple
    )
    household_categories = forms.MultipleChoiceField(
        label=_("Eligible household categories"), choices=HouseholdCategory.choices, required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Leave empty when every registered household is eligible."),
    )

    class Meta:
        model = AidProgram
        fields = [
            "name", "region", "kind", "funding_source", "stages", "household_categories",
            "requires_enrolment", "boarders_only", "schools", "is_active", "description",
        ]
        widgets = {"schools": forms.CheckboxSelectMultiple, "description": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, user=user, **kwargs)
        schools = School.objects.visible_to(user).select_related("region").order_by("region__code", "name")
        if self.instance.region_id and not user.is_superuser:
            schools = schools.filter(region__code__startswith=self.instance.region.code)
        self.fields["schools"].queryset = schools
        amounts = {standard.stage: standard.amount for standard in self.instance.standards.all()} if self.instance.pk else {}
        for stage, label in Stage.choices:
            self.fields[f"amount_{stage}"] = forms.DecimalField(
                label=_("Amount per term: %(stage)s") % {"stage": label}, max_digits=10, decimal_places=2,
                min_value=0, required=False, initial=amounts.get(stage),
            )

    def amount_fields(self):
        return [self[f"amount_{stage}"] for stage in Stage.values]

    def standards(self):
        return {stage: self.cleaned_data.get(f"amount_{stage}") for stage in Stage.values}

    def clean(self):
        data = super().clean()
        for stage in data.get("stages") or ():
            if data.get(f"amount_{stage}") is None:
                self.add_error(f"amount_{stage}", _("Give the amount for every eligible stage."))
        return data


class DeliveryItemForm(ReferenceForm):
    class Meta:
        model = DeliveryItem
        fields = ["name", "region", "unit", "program", "is_active"]

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, user=user, **kwargs)
        self.fields["program"].queryset = AidProgram.objects.visible_to(user).filter(kind=AidProgram.Kind.IN_KIND)


class ChecklistItemForm(ReferenceForm):
    class Meta:
        model = ChecklistItem
        fields = ["text", "region", "position", "is_active"]
