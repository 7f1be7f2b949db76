import django_filters
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from students.forms import DateInput

from .models import LoginEvent


class LoginEventFilter(django_filters.FilterSet):
    person = django_filters.CharFilter(label=_("User or login"), method="filter_person")
    result = django_filters.ChoiceFilter(label=_("Result"), choices=LoginEvent.Result.choices)
    address = django_filters.CharFilter(label=_("Address"), field_name="address", lookup_expr="startswith")
    happened_after = django_filters.DateFilter(
        field_name="happened_at", lookup_expr="date__gte", label=_("From"), widget=DateInput
    )
    happened_before = django_filters.DateFilter(
        field_name="happened_at", lookup_expr="date__lte", label=_("To"), widget=DateInput
    )

    class Meta:
        model = LoginEvent
        fields = []

    def filter_person(self, queryset, name, value):
        return queryset.filter(Q(username__icontains=value) | Q(user__full_name__icontains=value))
