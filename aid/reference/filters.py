"""Filters of the reference lists."""
import django_filters
from django.utils.translation import gettext_lazy as _

from aid.reference.models import AidProgram, ChecklistItem, DeliveryItem


class SharedFilterMixin(django_filters.FilterSet):
    shared = django_filters.BooleanFilter(
        label=_("Shared by the province"), field_name="region", lookup_expr="isnull"
    )
    is_active = django_filters.BooleanFilter(label=_("Active"))


class ProgramFilter(SharedFilterMixin):
    name = django_filters.CharFilter(label=_("Name"), lookup_expr="icontains")
    kind = django_filters.ChoiceFilter(label=_("Kind"), choices=AidProgram.Kind.choices)

    class Meta:
        model = AidProgram
        fields = []


class DeliveryItemFilter(SharedFilterMixin):
    name = django_filters.CharFilter(label=_("Name"), lookup_expr="icontains")

    class Meta:
        model = DeliveryItem
        fields = []


class ChecklistItemFilter(SharedFilterMixin):
    text = django_filters.CharFilter(label=_("Item"), lookup_expr="icontains")

    class Meta:
        model = ChecklistItem
        fields = []
