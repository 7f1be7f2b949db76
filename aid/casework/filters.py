"""The visit list's filters: every choice offered comes from the user's scope."""
import django_filters
from django import forms
from django.db.models import Q
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from aid.casework.models import HomeVisit
from common.lists import StableOrderingFilter
from students.filters import visible_schools
from students.forms import DateInput
from students.models import Region


def visible_townships(request):
    return Region.objects.visible_to(request.user).townships()


class VisitFilter(django_filters.FilterSet):
    # Shown first; the others fold under "more filters" on a small screen.
    main_fields = ("visited_after", "visited_before", "mode", "risk")
    visited_after = django_filters.DateFilter(
        label=_("From"), field_name="visited_on", lookup_expr="gte", widget=DateInput
    )
    visited_before = django_filters.DateFilter(
        label=_("To"), field_name="visited_on", lookup_expr="lte", widget=DateInput
    )
    mode = django_filters.ChoiceFilter(
        label=capfirst(HomeVisit._meta.get_field("mode").verbose_name),
        choices=HomeVisit.Mode.choices,
    )
    school = django_filters.ModelChoiceFilter(
        label=_("School"), field_name="student__school", queryset=visible_schools
    )
    township = django_filters.ModelChoiceFilter(
        label=_("Township"),
        queryset=visible_townships,
        to_field_name="code",
        method="filter_township",
    )
    teacher = django_filters.CharFilter(
        label=capfirst(HomeVisit._meta.get_field("author").verbose_name),
        method="filter_teacher",
        widget=forms.TextInput(attrs={"placeholder": _("Name of the teacher who recorded it")}),
    )
    risk = django_filters.ChoiceFilter(
        label=capfirst(HomeVisit._meta.get_field("dropout_risk").verbose_name),
        field_name="dropout_risk",
        choices=HomeVisit.Risk.choices,
    )
    undelivered = django_filters.BooleanFilter(
        label=_("Only visits with a policy not delivered"),
        method="filter_undelivered",
        widget=forms.CheckboxInput,
    )
    o = StableOrderingFilter(
        label=_("Sort by"),
        fields=(
            ("visited_on", "date"),
            ("student__name", "student"),
            ("student__school__name", "school"),
            ("mode", "mode"),
            ("author__full_name", "author"),
            ("dropout_risk", "risk"),
            ("follow_up_needed", "follow_up"),
            ("has_undelivered_policy", "policies"),
        ),
    )

    class Meta:
        model = HomeVisit
        fields = []

    def filter_township(self, queryset, name, township):
        return queryset.filter(student__school__region__code__startswith=township.code)

    def filter_teacher(self, queryset, name, value):
        value = value.strip()
        return queryset.filter(Q(author__full_name__icontains=value) | Q(author__username=value))

    def filter_undelivered(self, queryset, name, value):
        return queryset.with_undelivered_policy() if value else queryset
