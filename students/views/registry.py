"""Registry pages: home, students, schools, households."""
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.generic import DetailView, TemplateView
from django_filters.views import FilterView

from common.excel import COUNT_FORMAT, ExportColumn
from common import masking
from common.locking import EditConflict
from common.paging import KeysFirstPaginator
from students.permissions import ADD, CHANGE, EXPORT, VIEW

from .. import hooks, idnumber, services
from ..choices import IN_SCHOOL_STATUSES, Gender, Grade, HouseholdCategory, Stage, Status
from ..exports import student_columns, student_export_rows
from ..filters import SchoolFilter, StudentFilter
from ..forms import HouseholdForm, LeaveRosterForm, StudentForm
from ..models import ROSTER_ORDER, Household, School, Student
from .base import ExcelExportMixin, StaffViewMixin


class StudentListView(StaffViewMixin, ExcelExportMixin, FilterView):
    permission = (VIEW, Student)

    filterset_class = StudentFilter
    template_name = "students/student_list.html"
    paginate_by = 50
    paginator_class = KeysFirstPaginator
    context_object_name = "students"
    # The sheet keeps the importer's Chinese headers and title in every language, so an
    # export can be imported again.
    export_title = "学生名单"
    export_list_name = "students"
    export_carries_personal_data = True

    def export_columns(self):
        return student_columns(self.request.user)

    def export_rows(self, students):
        return student_export_rows(students, self.request.user)

    def get_queryset(self):
        return (
            Student.objects.visible_to(self.request.user)
            .select_related("school__region", "household")
            .order_by(*ROSTER_ORDER)
        )

    def count_for(self, filters):
        """From the roster's tallies (hooks.roster_count) where they can tell: a fifth of the
        first page's time, and of page 1000's, for a county of 200,000."""
        filters.pop("o", None)  # the order does not change the count
        return hooks.roster_count(self.request.user, filters)

    def paginate_queryset(self, queryset, page_size):
        """A page past the end (or no number) shows the last (or the first) page, not a 404."""
        paginator = self.get_paginator(queryset, page_size, allow_empty_first_page=True)
        page = paginator.get_page(self.request.GET.get(self.page_kwarg))
        return paginator, page, page.object_list, page.has_other_pages()

    def get_filterset_kwargs(self, filterset_class):
        kwargs = super().get_filterset_kwargs(filterset_class)
        kwargs["data"] = self.request.GET  # always bound, so the roster default applies
        return kwargs

    def get_filterset(self, filterset_class):
        """A ticked student outside the user's scope answers 404, as their page would."""
        filterset = super().get_filterset(filterset_class)
        if "id" in self.request.GET and not filterset.is_valid() and "id" in filterset.errors:
            raise Http404
        return filterset

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        query = self.request.GET
        context["labels"] = choice_labels()
        context["more_filters_used"] = any(
            query.get(name) for name in self.filterset.form.fields
            if name not in StudentFilter.main_fields and name not in ("o", "id")
        )
        context["selection_actions"] = hooks.selection_actions(self.request.user)
        return context


class StudentPrintView(StudentListView):
    """The ticked students (or the list as filtered, up to `paginate_by`) on A4 sheets."""

    permission = (EXPORT, Student)

    template_name = "students/student_print.html"
    paginate_by = 500

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        self.log_this_export(len(context["students"]))  # the same personal data as the export
        return context


def choice_labels():
    """The labels of the list's choice columns, translated once per page rather than once
    per cell (get_FOO_display translates the whole choice list at every call)."""
    labels = {
        name: {value: str(text) for value, text in choices.choices}
        for name, choices in (
            ("gender", Gender), ("stage", Stage), ("grade", Grade), ("status", Status), ("category", HouseholdCategory)
        )
    }
    labels["in_school"] = set(IN_SCHOOL_STATUSES)
    return labels


class StudentDetailView(StaffViewMixin, DetailView):
    permission = (VIEW, Student)

    template_name = "students/student_detail.html"
    context_object_name = "student"

    def get_queryset(self):
        return Student.objects.visible_to(self.request.user).select_related(
            "school__region", "household__township"
        )

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["history"] = history_entries(
            self.object, self.request.user, excluded_fields=["updated_at", "created_at"]
        )
        context.update(hooks.student_panel_context(self.object, self.request.user))
        context["siblings"] = (
            Student.objects.visible_to(self.request.user)
            .filter(household_id=self.object.household_id)
            .exclude(pk=self.object.pk)
            .select_related("school")
            if self.object.household_id
            else []
        )
        return context


def history_entries(instance, user, *, excluded_fields=(), more_changes=None):
    """The instance's history records, newest first, each with the fields it changed,
    shown as `user` may see them (old values masked like the current ones).

    `more_changes(older, newer)` adds changes that are not the model's own fields.
    """
    records = list(
        instance.history.select_related("history_user").order_by("-history_date", "-history_id")
    )
    model = type(instance)
    entries = []
    for newer, older in zip(records, records[1:] + [None]):
        changes = []
        if older is not None:
            for change in newer.diff_against(older, excluded_fields=list(excluded_fields)).changes:
                field = model._meta.get_field(change.field)
                changes.append(
                    {
                        "field": field.verbose_name,
                        "old": display_value(field, change.old, user),
                        "new": display_value(field, change.new, user),
                    }
                )
            if more_changes is not None:
                changes += more_changes(older, newer)
        entries.append({"record": newer, "changes": changes})
    return entries


# The fields whose values, old or new, a history shows as the user may see them.
MASKED_FIELDS = {
    "id_number": masking.id_number_for,
    "student_number": masking.student_number_for,
    "birth_date": masking.birth_date_for,
    "phone": masking.phone_for,
    "guardian_phone": masking.phone_for,
}


def display_value(field, value, user):
    if field.name in MASKED_FIELDS:
        return MASKED_FIELDS[field.name](user, value)
    if field.choices and value not in (None, ""):
        return dict(field.flatchoices).get(value, value)
    if field.is_relation and value is not None:
        return field.related_model.objects.filter(pk=value).first() or value
    return value


class StudentFormViewMixin(StaffViewMixin):
    """Student and household forms on one page, saved together or not at all."""

    template_name = "students/student_form.html"

    def get_forms(self, student, household):
        data = self.request.POST if self.request.method == "POST" else None
        if data is not None and household is None:
            household = self.existing_household(data.get("household-registration_number"))
        return (
            StudentForm(data, instance=student, user=self.request.user),
            HouseholdForm(data, instance=household, prefix="household", user=self.request.user),
        )

    def existing_household(self, registration_number):
        """A new student of an already registered household joins it (siblings)."""
        number = idnumber.normalize(registration_number)
        if not number:
            return None
        return Household.objects.visible_to(self.request.user).filter(
            registration_number=number
        ).first()

    def render_forms(self, student_form, household_form, status=200):
        context = {
            "form": student_form,
            "household_form": household_form,
            "student": student_form.instance if student_form.instance.pk else None,
        }
        return self.response_class(
            request=self.request,
            template=[self.template_name],
            context=context,
            status=status,
        )

    def save(self, student_form, household_form, opened_household):
        household = None
        if household_form.instance.pk is None or household_form.has_changed():
            household = household_form.save(commit=False)
        try:
            with transaction.atomic():
                student = services.student_save(
                    actor=self.request.user,
                    student=student_form.save(commit=False),
                    household=household,
                    seen_version=student_form.seen_version(),
                    # A household found by its number as the form is sent was not seen.
                    household_seen_version=household_form.seen_version() if opened_household else None,
                )
        except EditConflict as conflict:
            form = household_form if conflict.record is household else student_form
            form.show_conflict(conflict)
            return self.render_forms(student_form, household_form, status=409)
        except ValidationError as error:
            student_form.add_error(None, error)
            return self.render_forms(student_form, household_form, status=400)
        messages.success(self.request, _("Saved."))
        return redirect(student)

    def post(self, request, *args, **kwargs):
        student, household = self.instances()
        student_form, household_form = self.get_forms(student, household)
        if student_form.is_valid() and household_form.is_valid():
            return self.save(student_form, household_form, household)
        return self.render_forms(student_form, household_form, status=400)

    def get(self, request, *args, **kwargs):
        return self.render_forms(*self.get_forms(*self.instances()))


class StudentCreateView(StudentFormViewMixin, TemplateView):
    permission = (ADD, Student)

    def instances(self):
        return None, None


class StudentUpdateView(StudentFormViewMixin, TemplateView):
    permission = (CHANGE, Student)

    def instances(self):
        student = get_object_or_404(
            Student.objects.visible_to(self.request.user).select_related("household"),
            pk=self.kwargs["pk"],
        )
        return student, student.household


class StudentLeaveView(StaffViewMixin, TemplateView):
    permission = (CHANGE, Student)

    template_name = "students/student_leave.html"

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated:
            self.student = get_object_or_404(
                Student.objects.visible_to(request.user), pk=kwargs["pk"]
            )
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["student"] = self.student
        context.setdefault("form", LeaveRosterForm())
        return context

    def post(self, request, *args, **kwargs):
        if "return" in request.POST:
            return self.return_to_roster()
        form = LeaveRosterForm(request.POST)
        if form.is_valid():
            try:
                services.student_leave_roster(
                    actor=request.user, student=self.student, **form.cleaned_data
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                messages.success(request, _("The student has left the roster."))
                return redirect(self.student)
        return self.render_to_response(self.get_context_data(form=form), status=400)

    def return_to_roster(self):
        try:
            services.student_return_to_roster(actor=self.request.user, student=self.student)
        except ValidationError as error:
            for message in error.messages:
                messages.error(self.request, message)
        else:
            messages.success(self.request, _("The student is back on the roster."))
        return redirect(self.student)


class SchoolListView(StaffViewMixin, ExcelExportMixin, FilterView):
    permission = (VIEW, School)

    template_name = "students/school_list.html"
    filterset_class = SchoolFilter
    context_object_name = "schools"
    paginate_by = 100
    export_title = gettext_lazy("Schools")
    export_list_name = "schools"

    def get_queryset(self):
        on_roster = Q(students__left_roster_on__isnull=True)
        return (
            School.objects.visible_to(self.request.user)
            .select_related("region")
            .annotate(
                student_count=Count("students", filter=on_roster),
                in_school_count=Count(
                    "students", filter=on_roster & Q(students__status__in=IN_SCHOOL_STATUSES)
                ),
            )
            .order_by("region__code", "name")
        )

    def export_columns(self):
        return (
            ExportColumn(_("School"), 28),
            ExportColumn(_("School code"), 14),
            ExportColumn(_("Township"), 12),
            ExportColumn(_("Stages taught"), 16),
            ExportColumn(_("Urban or rural"), 10),
            ExportColumn(_("Weak school"), 10),
            ExportColumn(_("Poor village"), 10),
            ExportColumn(_("Students on the roster"), 12, COUNT_FORMAT),
            ExportColumn(_("In school"), 10, COUNT_FORMAT),
            ExportColumn(_("Address"), 30),
        )

    def export_rows(self, schools):
        urban, rural, yes = _("Urban"), _("Rural"), _("Yes")
        for school in schools.iterator(chunk_size=2000):
            yield (
                school.name,
                school.code,
                school.region.name,
                "、".join(str(label) for label in school.stage_labels()),
                urban if school.is_urban else rural,
                yes if school.is_weak else "",
                yes if school.is_poor_village else "",
                school.student_count,
                school.in_school_count,
                school.address,
            )


class SchoolDetailView(StaffViewMixin, DetailView):
    permission = (VIEW, School)

    template_name = "students/school_detail.html"
    context_object_name = "school"

    def get_queryset(self):
        return School.objects.visible_to(self.request.user).select_related("region")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        students = Student.objects.visible_to(self.request.user).on_roster().filter(
            school=self.object
        )
        in_school = Q(status__in=IN_SCHOOL_STATUSES)
        rows = students.values("stage").annotate(
            total=Count("pk"),
            in_school=Count("pk", filter=in_school),
            not_in_school=Count("pk", filter=~in_school),
        )
        by_stage = {row["stage"]: row for row in rows}
        context["stage_rows"] = [
            {"stage": stage, "label": label, **by_stage[stage]}
            for stage, label in Stage.choices
            if stage in by_stage
        ]
        context["total"] = sum(row["total"] for row in context["stage_rows"])
        context["staff"] = self.object.staff.filter(is_active=True).order_by("role", "full_name")
        return context


class HouseholdDetailView(StaffViewMixin, DetailView):
    permission = (VIEW, Household)

    template_name = "students/household_detail.html"
    context_object_name = "household"

    def get_queryset(self):
        return Household.objects.visible_to(self.request.user).select_related("township")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["members"] = (
            Student.objects.visible_to(self.request.user)
            .filter(household=self.object)
            .select_related("school")
        )
        return context
