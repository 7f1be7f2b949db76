"""The student list's filters: every choice offered comes from the user's scope."""
import django_filters
from django import forms
from django.utils.translation import gettext_lazy as _

from .choices import Grade, HouseholdCategory, Stage, Status
from .models import Region, School, Student


def visible_regions(request):
    return Region.objects.visible_to(request.user).exclude(level="province")


def visible_students(request):
    return Student.objects.visible_to(request.user).only("pk")


def visible_schools(request):
    return School.objects.visible_to(request.user).only("pk", "name")


class RosterFilter(django_filters.ChoiceFilter):
    """On the roster by default; students who left are shown only when asked for."""

    CURRENT, LEFT, ALL = "current", "left", "all"

    def __init__(self, *args, **kwargs):
        kwargs.setdefault(
            "choices",
            [(self.LEFT, _("Left the roster")), (self.ALL, _("All, including those who left"))],
        )
        kwargs.setdefault("empty_label", _("On the roster"))
        super().__init__(*args, **kwargs)

    def filter(self, qs, value):
        if value == self.ALL:
            return qs
        if value == self.LEFT:
            return qs.filter(left_roster_on__isnull=False)
        return qs.on_roster()


class InSchoolWidget(django_filters.widgets.BooleanWidget):
    def __init__(self, attrs=None):
        super().__init__(attrs)
        self.choices = (("", "---------"), ("true", _("In school")), ("false", _("Not in school")))


class DistributionFilter(django_filters.FilterSet):
    """The region filter, shared by the distribution table and the student list."""

    region = django_filters.ModelChoiceFilter(
        label=_("Region"),
        queryset=visible_regions,
        to_field_name="code",
        method="filter_region",
    )

    class Meta:
        model = Student
        fields = []

    def filter_region(self, queryset, name, region):
        return queryset.filter(school__region__code__startswith=region.code)


SORT_FIELDS = (
    ("name", "name"),
    ("school__name", "school"),
    ("stage", "stage"),
    ("grade", "grade"),
    ("status", "status"),
    ("birth_date", "birth_date"),
    ("updated_at", "updated"),
)


class StudentFilter(DistributionFilter):
    # Shown first; the others fold under "more filters" on a small screen.
    main_fields = ("q", "region", "school", "stage")
    q = django_filters.CharFilter(
        label=_("Search"),
        method="filter_search",
        widget=forms.TextInput(
            attrs={"placeholder": _("Name, student number or last digits of the ID number")}
        ),
    )
    school = django_filters.ModelChoiceFilter(label=_("School"), queryset=visible_schools)
    stage = django_filters.ChoiceFilter(label=_("Stage"), choices=Stage.choices)
    grade = django_filters.ChoiceFilter(label=_("Grade"), choices=Grade.choices)
    status = django_filters.ChoiceFilter(label=_("Enrolment status"), choices=Status.choices)
    in_school = django_filters.BooleanFilter(
        label=_("In school or not"),
        method="filter_in_school",
        widget=InSchoolWidget(),
    )
    category = django_filters.ChoiceFilter(
        label=_("Household category"),
        field_name="household__category",
        choices=HouseholdCategory.choices,
    )
    roster = RosterFilter(label=_("Roster"))
    # The students ticked on the list (export or print just those); one outside the
    # user's scope makes the filter invalid, which the list answers with 404.
    id = django_filters.ModelMultipleChoiceFilter(
        queryset=visible_students, method="filter_ticked", widget=forms.MultipleHiddenInput
    )
    o = django_filters.OrderingFilter(label=_("Sort by"), fields=SORT_FIELDS)

    class Meta:
        model = Student
        fields = []

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.request is not None and not self.request.user.sees_full_id_numbers:
            # They search by the last four characters they are shown (StudentQuerySet.search).
            self.filters["q"].extra["widget"] = forms.TextInput(
                attrs={"placeholder": _("Name or the last four characters of the ID number")}
            )
            # Sorted by birth date, a year's students would give their hidden dates away
            # by their places in the list.
            ordering = self.filters["o"]  # this filterset's own copy
            del ordering.param_map["birth_date"]
            ordering.extra["choices"] = [
                choice for choice in ordering.extra["choices"] if choice[0].lstrip("-") != "birth_date"
            ]

    def filter_search(self, queryset, name, value):
        return queryset.search(value, full_numbers=self.request.user.sees_full_id_numbers)

    def filter_ticked(self, queryset, name, students):
        return queryset.filter(pk__in=[student.pk for student in students]) if students else queryset

    def filter_in_school(self, queryset, name, value):
        in_school = queryset.in_school()
        return in_school if value else queryset.exclude(pk__in=in_school.values("pk"))

    def filter_queryset(self, queryset):
        # The roster filter must apply even when it is absent from the query string.
        if "roster" not in self.form.cleaned_data:
            queryset = queryset.on_roster()
        return super().filter_queryset(queryset)


class SchoolFilter(DistributionFilter):
    """The school list's filters: region, name, stage taught and kind of school."""

    URBAN, RURAL, WEAK, POOR_VILLAGE = "urban", "rural", "weak", "poor_village"

    q = django_filters.CharFilter(label=_("Search"), field_name="name", lookup_expr="icontains")
    stage = django_filters.ChoiceFilter(label=_("Stage"), choices=Stage.choices, method="filter_stage")
    kind = django_filters.ChoiceFilter(
        label=_("Type"),
        method="filter_kind",
        choices=[
            (URBAN, _("Urban")),
            (RURAL, _("Rural")),
            (WEAK, _("Weak school")),
            (POOR_VILLAGE, _("Poor village")),
        ],
    )

    class Meta:
        model = School
        fields = []

    def filter_region(self, queryset, name, region):
        return queryset.filter(region__code__startswith=region.code)

    def filter_stage(self, queryset, name, stage):
        # `stages` is a JSON list such as ["primary", "junior"]; matching its text with the
        # quotes works on PostgreSQL and on the SQLite demo alike.
        return queryset.filter(stages__icontains=f'"{stage}"')

    def filter_kind(self, queryset, name, kind):
        return queryset.filter(
            **{
                self.URBAN: {"is_urban": True},
                self.RURAL: {"is_urban": False},
                self.WEAK: {"is_weak": True},
                self.POOR_VILLAGE: {"is_poor_village": True},
            }[kind]
        )
