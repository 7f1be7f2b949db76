"""City–rural school pairings (学校结对帮扶) and their exchange activities."""
from functools import cached_property

import django_filters
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count, Exists, Max, OuterRef, Q
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.generic import DetailView, FormView
from django_filters.views import FilterView

from aid.casework import services
from aid.casework.forms import ActivityForm, SchoolPairingForm
from aid.casework.models import ExchangeActivity, SchoolPairing
from aid.reference.models import Term
from common.excel import DATE_FORMAT, WHOLE_NUMBER, ExportColumn
from students.filters import visible_schools
from students.permissions import ADD, VIEW
from students.views.base import ExcelExportMixin, StaffViewMixin


class SchoolPairingFilter(django_filters.FilterSet):
    school = django_filters.ModelChoiceFilter(
        label=gettext_lazy("School"), queryset=visible_schools, method="filter_school"
    )

    class Meta:
        model = SchoolPairing
        fields = []

    def filter_school(self, queryset, name, school):
        supported = SchoolPairing.supported_schools.through.objects.filter(
            schoolpairing_id=OuterRef("pk"), school_id=school.pk
        )
        return queryset.filter(Q(lead_school_id=school.pk) | Exists(supported))


class SchoolPairingListView(StaffViewMixin, ExcelExportMixin, FilterView):
    """Each pairing with its supported schools and its activities this term; pairings with
    none this term (paper-only pairings) are flagged."""

    permission = (VIEW, SchoolPairing)

    filterset_class = SchoolPairingFilter
    template_name = "aid/school_pairing_list.html"
    paginate_by = 50
    context_object_name = "pairings"
    export_title = gettext_lazy("School pairings")
    export_list_name = "school_pairings"

    def get_export_title(self):
        return f"{self.export_title}（{self.term.name}）" if self.term else str(self.export_title)

    def export_columns(self):
        return (
            ExportColumn(_("Supporting school"), 26),
            ExportColumn(_("Township"), 12),
            ExportColumn(_("Supported schools"), 40),
            ExportColumn(_("Started on"), 12, DATE_FORMAT),
            ExportColumn(_("Ended on"), 12, DATE_FORMAT),
            ExportColumn(_("Activities this term"), 10, WHOLE_NUMBER),
            ExportColumn(_("Last activity"), 12, DATE_FORMAT),
        )

    def export_rows(self, pairings):
        for pairing in pairings.iterator(chunk_size=2000):
            yield (
                pairing.lead_school.name,
                pairing.lead_school.region.name,
                "、".join(school.name for school in pairing.supported_schools.all()),
                pairing.started_on,
                pairing.ended_on,
                pairing.term_activities if self.term else None,
                pairing.last_activity_on,
            )

    def get(self, request, *args, **kwargs):
        self.term = Term.objects.current()
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        figures = {"last_activity_on": Max("activities__held_on")}
        if self.term is not None:
            figures["term_activities"] = Count(
                "activities",
                filter=Q(activities__held_on__gte=self.term.starts_on, activities__held_on__lte=self.term.ends_on),
            )
        return (
            SchoolPairing.objects.visible_to(self.request.user)
            .select_related("lead_school__region")
            .prefetch_related("supported_schools")
            .annotate(**figures)
            .order_by("lead_school__name", "-started_on", "pk")
        )

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["term"] = self.term
        return context


class SchoolPairingCreateView(StaffViewMixin, FormView):
    """The bureau pairs a supporting school with one or more supported schools."""

    permission = (ADD, SchoolPairing)

    template_name = "aid/school_pairing_form.html"
    form_class = SchoolPairingForm

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "user": self.request.user}

    def form_valid(self, form):
        try:
            pairing = services.school_pairing_create(actor=self.request.user, **form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
            return self.form_invalid(form)
        messages.success(self.request, _("The school pairing is saved."))
        return redirect(pairing)

    def form_invalid(self, form):
        response = super().form_invalid(form)
        response.status_code = 400
        return response


class SchoolPairingDetailView(StaffViewMixin, DetailView):
    permission = (VIEW, SchoolPairing)

    template_name = "aid/school_pairing_detail.html"
    context_object_name = "pairing"

    def get_queryset(self):
        return (
            SchoolPairing.objects.visible_to(self.request.user)
            .select_related("lead_school__region")
            .prefetch_related("supported_schools__region")
        )

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        activities = list(self.object.activities.select_related("recorded_by"))
        term = Term.objects.current()
        context["activities"] = activities
        context["term"] = term
        if term is not None:
            context["term_activity_count"] = sum(
                1 for activity in activities if term.starts_on <= activity.held_on <= term.ends_on
            )
        context["may_record"] = ActivityCreateView.allows(self.request.user)
        return context


class ActivityCreateView(StaffViewMixin, FormView):
    """Bureau administrators and the administrators of either school record an activity."""

    permission = (ADD, ExchangeActivity)

    template_name = "aid/activity_form.html"
    form_class = ActivityForm

    @cached_property
    def pairing(self):
        return get_object_or_404(
            SchoolPairing.objects.visible_to(self.request.user).select_related("lead_school"),
            pk=self.kwargs["pk"],
        )

    def get_context_data(self, **kwargs):
        return super().get_context_data(pairing=self.pairing, **kwargs)

    def form_valid(self, form):
        try:
            services.exchange_activity_record(actor=self.request.user, pairing=self.pairing, **form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
            return self.form_invalid(form)
        messages.success(self.request, _("The activity is recorded."))
        return redirect(self.pairing)

    def form_invalid(self, form):
        response = super().form_invalid(form)
        response.status_code = 400
        return response
