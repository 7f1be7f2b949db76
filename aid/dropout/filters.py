"""The dropout-case list's filters: every choice offered comes from the user's scope."""
import django_filters
from django.utils.translation import gettext_lazy as _

from aid.dropout.models import DropoutCase
from common.lists import StableOrderingFilter
from students.filters import visible_regions, visible_schools


class CaseStateFilter(django_filters.ChoiceFilter):
    """Open cases by default; closed ones (动态销号) only when asked for."""

    OPEN, CLOSED, ALL = "open", "closed", "all"

    def __init__(self, *args, **kwargs):
        kwargs.setdefault(
            "choices",
            [(self.OPEN, _("Open cases")), (self.CLOSED, _("Closed cases")), (self.ALL, _("All cases"))],
        )
        kwargs.setdefault("empty_label", None)
        super().__init__(*args, **kwargs)

    def filter(self, qs, value):
        if value == self.ALL:
            return qs
        if value == self.CLOSED:
            return qs.filter(closed_on__isnull=False)
        return qs.open()


class CaseFilter(django_filters.FilterSet):
    state = CaseStateFilter(label=_("State"))
    kind = django_filters.ChoiceFilter(label=_("Kind"), choices=DropoutCase.Kind.choices)
    reason = django_filters.ChoiceFilter(label=_("Reason"), choices=DropoutCase.Reason.choices)
    region = django_filters.ModelChoiceFilter(
        label=_("Region"),
        queryset=visible_regions,
        to_field_name="code",
        method="filter_region",
    )
    school = django_filters.ModelChoiceFilter(
        label=_("School"), field_name="student__school", queryset=visible_schools
    )
    o = StableOrderingFilter(
        label=_("Sort by"),
        fields=(
            ("student__name", "student"),
            ("student__school__name", "school"),
            ("kind", "kind"),
            ("opened_on", "opened"),
            ("open_for", "days_open"),  # annotated by the list's queryset (views.case_list_queryset)
            ("attempt_count", "attempts"),
            ("last_attempt_on", "last_attempt"),
        ),
    )

    class Meta:
        model = DropoutCase
        fields = []

    def filter_region(self, queryset, name, region):
        return queryset.filter(student__school__region__code__startswith=region.code)

