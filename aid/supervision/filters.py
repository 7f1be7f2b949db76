"""Filters of the inspection, rectification and project lists; every choice offered comes
from the user's scope."""
import django_filters
from django import forms
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from aid.supervision.models import GridGroup, Inspection, Rectification, SchoolProject
from students.filters import visible_regions, visible_schools
from students.forms import DateInput


def visible_grids(request):
    return GridGroup.objects.visible_to(request.user)


def label(model, field):
    return capfirst(model._meta.get_field(field).verbose_name)


class InspectionFilter(django_filters.FilterSet):
    school = django_filters.ModelChoiceFilter(label=_("School"), queryset=visible_schools)
    grid = django_filters.ModelChoiceFilter(label=_("Grid group"), queryset=visible_grids)
    inspected_after = django_filters.DateFilter(
        label=_("From"), field_name="inspected_on", lookup_expr="gte", widget=DateInput
    )
    inspected_before = django_filters.DateFilter(
        label=_("To"), field_name="inspected_on", lookup_expr="lte", widget=DateInput
    )

    class Meta:
        model = Inspection
        fields = []


class RectificationFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(
        label=label(Rectification, "status"), choices=Rectification.Status.choices
    )
    school = django_filters.ModelChoiceFilter(label=_("School"), queryset=visible_schools)
    grid = django_filters.ModelChoiceFilter(
        label=_("Grid group"), field_name="inspection__grid", queryset=visible_grids
    )
    overdue = django_filters.BooleanFilter(
        label=_("Only overdue items"), method="filter_overdue", widget=forms.CheckboxInput
    )

    class Meta:
        model = Rectification
        fields = []

    def filter_overdue(self, queryset, name, value):
        return queryset.overdue() if value else queryset


class ProjectFilter(django_filters.FilterSet):
    type = django_filters.ChoiceFilter(
        label=label(SchoolProject, "type"), choices=SchoolProject.Type.choices
    )
    status = django_filters.ChoiceFilter(
        label=label(SchoolProject, "status"), choices=SchoolProject.Status.choices
    )
    region = django_filters.ModelChoiceFilter(
        label=_("Region"),
        queryset=visible_regions,
        to_field_name="code",
        method="filter_region",
    )
    school = django_filters.ModelChoiceFilter(label=_("School"), queryset=visible_schools)

    class Meta:
        model = SchoolProject
        fields = []

    def filter_region(self, queryset, name, region):
        return queryset.filter(school__region__code__startswith=region.code)
