"""Filters of the subsidy pages: every choice offered comes from the user's scope."""
import django_filters
from django import forms
from django.utils.translation import gettext_lazy as _

from aid.reference.models import AidProgram, Term
from aid.subsidies.models import DisbursementBatch, DisbursementLine
from common.lists import StableOrderingFilter
from students.models import School, Student


class BatchFilter(django_filters.FilterSet):
    program = django_filters.ModelChoiceFilter(
        label=_("Aid program"), queryset=lambda request: AidProgram.objects.visible_to(request.user)
    )
    term = django_filters.ModelChoiceFilter(label=_("Term"), queryset=Term.objects.all())
    state = django_filters.ChoiceFilter(label=_("State"), choices=DisbursementBatch.State.choices)
    o = StableOrderingFilter(
        label=_("Sort by"),
        fields=(
            ("program__name", "program"),
            ("term__starts_on", "term"),
            ("region__code", "region"),
            ("state", "state"),
            ("planned_count", "students"),
            ("planned_amount", "planned"),
            ("paid_amount", "paid"),
        ),
    )

    class Meta:
        model = DisbursementBatch
        fields = []


class LineFilter(django_filters.FilterSet):
    """The lines of one batch, by school (the batch's schools the user sees), status or name."""

    school = django_filters.ModelChoiceFilter(label=_("School"), queryset=School.objects.none())
    status = django_filters.ChoiceFilter(label=_("Status"), choices=DisbursementLine.Status.choices)
    q = django_filters.CharFilter(
        label=_("Search"),
        method="filter_search",
        widget=forms.TextInput(
            attrs={"placeholder": _("Name, student number or last digits of the ID number")}
        ),
    )

    class Meta:
        model = DisbursementLine
        fields = []

    def __init__(self, *args, schools, **kwargs):
        super().__init__(*args, **kwargs)
        self.filters["school"].queryset = schools

    def filter_search(self, queryset, name, value):
        full_numbers = self.request.user.sees_full_id_numbers
        return queryset.filter(student__in=Student.objects.search(value, full_numbers=full_numbers))
