"""Pairing pages (结对帮扶): a teacher for one student or many, the work lists, teachers.

Only school and bureau administrators use them (services.may_pair); every queryset starts
from the user's scope, so a student, pairing or teacher outside it is a 404.
"""
import io

import django_filters
from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db.models import Count, Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.cache import patch_cache_control
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views import View
from django.views.generic import FormView, TemplateView
from django_filters.views import FilterView

from aid.casework import services, tallies, teacher_import
from aid.casework.forms import (
    PairSelectedForm,
    TeacherSlipsForm,
    BulkPairingForm,
    PairingAssignForm,
    PairingEndForm,
    TeacherForm,
    TeacherImportApplyForm,
    TeacherImportForm,
    TeacherPasswordForm,
)
from aid.casework.models import Pairing
from common.excel import DATE_FORMAT, WHOLE_NUMBER, ExportColumn
from common.lists import StableOrderingFilter
from students.choices import Grade, Role, Stage
from students.filters import DistributionFilter, visible_schools
from students.models import School, Student
from students.permissions import ADD, CHANGE, IMPORT, VIEW
from students.views.base import ExcelExportMixin, StaffViewMixin

User = get_user_model()
ROWS_SHOWN = 200


# ---------------------------------------------------------------------------------------
# One student
# ---------------------------------------------------------------------------------------


class PairingAssignView(StaffViewMixin, TemplateView):
    """Pair a student on the roster with a teacher of their school, or change the teacher."""

    permission = (ADD, Pairing)

    template_name = "aid/pairing_assign.html"

    def load(self):
        self.student = get_object_or_404(
            Student.objects.visible_to(self.request.user).on_roster().select_related("school"),
            pk=self.kwargs["student_pk"],
        )
        pairings = list(self.student.pairings.select_related("teacher__school", "ended_by"))
        self.current = next((pairing for pairing in pairings if pairing.is_active), None)
        self.past = [pairing for pairing in pairings if not pairing.is_active]

    def get_form(self, data=None):
        return PairingAssignForm(
            data, user=self.request.user, student=self.student, current_pairing=self.current
        )

    def render_form(self, form, status=200):
        context = self.get_context_data(
            student=self.student,
            current_pairing=self.current,
            past_pairings=self.past,
            form=form,
            end_form=PairingEndForm() if self.current else None,
        )
        return self.render_to_response(context, status=status)

    def get(self, request, *args, **kwargs):
        self.load()
        return self.render_form(self.get_form())

    def post(self, request, *args, **kwargs):
        self.load()
        form = self.get_form(request.POST)
        if form.is_valid():
            try:
                services.pairing_assign(
                    actor=request.user,
                    students=[self.student],
                    teacher=form.cleaned_data["teacher"],
                    started_on=form.cleaned_data["started_on"],
                    reason=form.cleaned_data["reason"],
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                messages.success(
                    request,
                    _("%(student)s is now paired with %(teacher)s.")
                    % {"student": self.student.name, "teacher": form.cleaned_data["teacher"]},
                )
                return redirect(self.student)
        return self.render_form(form, status=400)


class PairSelectedView(StaffViewMixin, TemplateView):
    """The students ticked on the student list (?id=…), paired with one teacher of their
    school. A ticked student outside the user's scope (or off the roster) answers 404."""

    permission = (ADD, Pairing)

    template_name = "aid/pair_selected.html"

    def ticked(self, ids):
        if not ids or not all(str(pk).isdigit() for pk in ids):
            raise Http404
        students = list(
            Student.objects.visible_to(self.request.user).on_roster().filter(pk__in=ids)
            .select_related("school").order_by("school__name", "grade", "class_name", "name", "pk")
        )
        if len(students) != len(set(ids)):
            raise Http404
        return students

    def get_form(self, data=None, students=()):
        return PairSelectedForm(
            data, user=self.request.user, teachers=services.pairing_teachers(self.request.user),
            initial={"students": students},
        )

    def render_form(self, students, form, status=200):
        current = {
            pairing.student_id: pairing.teacher
            for pairing in Pairing.objects.active().filter(student__in=students).select_related("teacher")
        }
        rows = [(student, current.get(student.pk)) for student in students]
        return self.render_to_response(self.get_context_data(rows=rows, form=form), status=status)

    def get(self, request, *args, **kwargs):
        students = self.ticked(request.GET.getlist("id"))
        return self.render_form(students, self.get_form(students=students))

    def post(self, request, *args, **kwargs):
        students = self.ticked(request.POST.getlist("students"))
        form = self.get_form(request.POST)
        if form.is_valid():
            teacher = form.cleaned_data["teacher"]
            try:
                services.pairing_assign(
                    actor=request.user, students=students, teacher=teacher,
                    started_on=form.cleaned_data["started_on"], reason=form.cleaned_data["reason"].strip(),
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                message = ngettext(
                    "%(count)s student is now paired with %(teacher)s.",
                    "%(count)s students are now paired with %(teacher)s.",
                    len(students),
                )
                messages.success(request, message % {"count": len(students), "teacher": teacher})
                return redirect("students:student_list")
        return self.render_form(students, form, status=400)


def pair_selected_action(user):
    """The student list's "pair" button for the ticked students (students.hooks)."""
    if PairSelectedView.allows(user):
        return _("Pair with a teacher"), reverse("aid:pair_selected")
    return None


class PairingEndView(StaffViewMixin, TemplateView):
    """End a pairing without a successor; the student goes back to the unpaired list."""

    permission = (CHANGE, Pairing)

    template_name = "aid/pairing_end.html"

    def get_pairing(self):
        return get_object_or_404(
            Pairing.objects.visible_to(self.request.user).active().select_related("student", "teacher"),
            pk=self.kwargs["pk"],
        )

    def get(self, request, *args, **kwargs):
        pairing = self.get_pairing()
        return self.render_to_response(self.get_context_data(pairing=pairing, form=PairingEndForm()))

    def post(self, request, *args, **kwargs):
        pairing = self.get_pairing()
        form = PairingEndForm(request.POST)
        if form.is_valid():
            try:
                services.pairing_end(actor=request.user, pairing=pairing, **form.cleaned_data)
            except ValidationError as error:
                form.add_error(None, error)
            else:
                messages.success(
                    request,
                    _("The pairing of %(student)s with %(teacher)s has ended.")
                    % {"student": pairing.student.name, "teacher": pairing.teacher},
                )
                return redirect(pairing.student)
        context = self.get_context_data(pairing=pairing, form=form)
        return self.render_to_response(context, status=400)


# ---------------------------------------------------------------------------------------
# Work lists
# ---------------------------------------------------------------------------------------


class UnpairedFilter(DistributionFilter):
    q = django_filters.CharFilter(
        label=gettext_lazy("Search"),
        method="filter_search",
        widget=forms.TextInput(
            attrs={"placeholder": gettext_lazy("Name, student number or last digits of the ID number")}
        ),
    )
    school = django_filters.ModelChoiceFilter(label=gettext_lazy("School"), queryset=visible_schools)
    stage = django_filters.ChoiceFilter(label=gettext_lazy("Stage"), choices=Stage.choices)
    grade = django_filters.ChoiceFilter(label=gettext_lazy("Grade"), choices=Grade.choices)

    class Meta:
        model = Student
        fields = []

    def filter_search(self, queryset, name, value):
        return queryset.search(value)


class UnpairedListView(StaffViewMixin, ExcelExportMixin, FilterView):
    """未结对学生: students on the roster without a teacher, paired in bulk from the list."""

    permission = (VIEW, Pairing)

    filterset_class = UnpairedFilter
    template_name = "aid/unpaired.html"
    paginate_by = 50
    context_object_name = "students"
    bulk_form = None
    export_title = gettext_lazy("Unpaired students")
    export_list_name = "unpaired_students"
    export_carries_personal_data = True  # students' names

    def export_columns(self):
        return (
            ExportColumn(_("Name"), 10),
            ExportColumn(_("School"), 26),
            ExportColumn(_("Grade"), 10),
            ExportColumn(_("Class"), 8),
            ExportColumn(_("Township"), 12),
        )

    def export_rows(self, students):
        for student in students.iterator(chunk_size=2000):
            yield (
                student.name,
                student.school.name,
                student.get_grade_display(),
                student.class_name,
                student.school.region.name,
            )

    def get_queryset(self):
        return services.unpaired_students(self.request.user).select_related("school__region")

    def count_for(self, filters):
        """From the roster tallies where the filter is one they are kept by (region, school,
        stage): a third of the page's time at 200,000 students."""
        return tallies.unpaired_count(self.request.user, filters)

    def get_bulk_form(self, data=None):
        return BulkPairingForm(
            data, user=self.request.user, teachers=services.pairing_teachers(self.request.user)
        )

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        form = self.bulk_form or self.get_bulk_form()
        context["bulk_form"] = form
        context["selected"] = set(form.data.getlist("students")) if form.is_bound else set()
        return context

    def post(self, request, *args, **kwargs):
        form = self.get_bulk_form(request.POST)
        if form.is_valid():
            students = list(form.cleaned_data["students"])
            teacher = form.cleaned_data["teacher"]
            try:
                services.pairing_assign(
                    actor=request.user,
                    students=students,
                    teacher=teacher,
                    started_on=form.cleaned_data["started_on"],
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                message = ngettext(
                    "%(count)s student is now paired with %(teacher)s.",
                    "%(count)s students are now paired with %(teacher)s.",
                    len(students),
                )
                messages.success(request, message % {"count": len(students), "teacher": teacher})
                return redirect(request.get_full_path())
        self.bulk_form = form
        response = self.get(request, *args, **kwargs)
        response.status_code = 400
        return response


class ReassignmentFilter(django_filters.FilterSet):
    school = django_filters.ModelChoiceFilter(
        label=gettext_lazy("School"), field_name="student__school", queryset=visible_schools
    )

    class Meta:
        model = Pairing
        fields = []


class ReassignmentListView(StaffViewMixin, ExcelExportMixin, FilterView):
    """需重新安排结对: active pairings whose teacher left or moved to another school."""

    permission = (VIEW, Pairing)

    filterset_class = ReassignmentFilter
    template_name = "aid/reassignment.html"
    paginate_by = 50
    context_object_name = "pairings"
    export_title = gettext_lazy("Pairings needing reassignment")
    export_list_name = "pairings_needing_reassignment"
    export_carries_personal_data = True  # students' names

    def export_columns(self):
        return (
            ExportColumn(_("Student"), 10),
            ExportColumn(_("School"), 26),
            ExportColumn(_("Township"), 12),
            ExportColumn(_("Teacher"), 10),
            ExportColumn(_("Why"), 26),
            ExportColumn(_("Paired since"), 12, DATE_FORMAT),
        )

    def export_rows(self, pairings):
        for pairing in pairings.iterator(chunk_size=2000):
            student, teacher = pairing.student, pairing.teacher
            yield (
                student.name,
                student.school.name,
                student.school.region.name,
                str(teacher),
                pairing.reassignment_reason(),
                pairing.started_on,
            )

    def get_queryset(self):
        return (
            Pairing.objects.visible_to(self.request.user)
            .needing_reassignment()
            .select_related("student__school__region", "teacher__school")
            .order_by("student__school__name", "student__name", "pk")
        )


# ---------------------------------------------------------------------------------------
# Teachers
# ---------------------------------------------------------------------------------------


class TeacherFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        label=gettext_lazy("Search"),
        method="filter_search",
        widget=forms.TextInput(attrs={"placeholder": gettext_lazy("Name, mobile phone or subject")}),
    )
    school = django_filters.ModelChoiceFilter(label=gettext_lazy("School"), queryset=visible_schools)
    o = StableOrderingFilter(
        label=gettext_lazy("Sort by"),
        fields=(
            ("full_name", "name"),
            ("username", "login"),
            ("subject", "subject"),
            ("school__name", "school"),
            ("active_pairings", "paired"),
        ),
    )

    class Meta:
        model = User
        fields = []

    def filter_search(self, queryset, name, value):
        text = "".join(value.split())
        return queryset.filter(
            Q(full_name__icontains=text) | Q(phone__contains=text) | Q(username=text) | Q(subject__icontains=text)
        )


class TeacherListView(StaffViewMixin, ExcelExportMixin, FilterView):
    """Teachers of the schools in scope with their number of paired students.

    Each row has a small form to set the teacher's password (POST here): imported
    accounts have none until their school administrator sets the first one.
    """

    permission = (VIEW, User)

    filterset_class = TeacherFilter
    template_name = "aid/teacher_list.html"
    paginate_by = 50
    context_object_name = "teachers"
    export_title = gettext_lazy("Teachers")
    export_list_name = "teachers"
    export_carries_personal_data = True  # logins are mobile phone numbers

    def export_columns(self):
        return (
            ExportColumn(_("Name"), 10),
            ExportColumn(_("Login (mobile phone)"), 14),
            ExportColumn(_("Subject or duty"), 14),
            ExportColumn(_("School"), 26),
            ExportColumn(_("Paired students"), 10, WHOLE_NUMBER),
            ExportColumn(_("Account"), 10),
            ExportColumn(_("Password"), 10),
        )

    def export_rows(self, teachers):
        active, left = _("Active"), _("Left")
        password_set, not_set = _("Set"), _("Not set yet")
        for teacher in teachers.iterator(chunk_size=2000):
            yield (
                str(teacher),
                teacher.username,
                teacher.subject,
                teacher.school.name if teacher.school else "",
                teacher.active_pairings,
                active if teacher.is_active else left,
                password_set if teacher.has_usable_password() else not_set,
            )

    def get_queryset(self):
        return (
            User.objects.filter(
                role=Role.TEACHER, school__in=School.objects.visible_to(self.request.user)
            )
            .select_related("school")
            .annotate(active_pairings=Count("pairings", filter=Q(pairings__ended_on__isnull=True)))
            .order_by("school__name", "-is_active", "full_name", "pk")
        )

    def post(self, request, *args, **kwargs):
        form = TeacherPasswordForm(request.POST, user=request.user)
        if form.is_valid():
            teacher = form.cleaned_data["teacher"]
            services.teacher_set_password(
                actor=request.user, teacher=teacher, password=form.cleaned_data["password1"]
            )
            messages.success(
                request,
                _("The password of %(teacher)s is set; they log in with %(login)s.")
                % {"teacher": teacher, "login": teacher.username},
            )
        else:
            for errors in form.errors.values():
                for error in errors:
                    messages.error(request, error)
        return redirect(request.get_full_path())


class TeacherSlipsView(StaffViewMixin, View):
    """One-time passwords for the teachers ticked on the teacher list, shown once on an
    A4 sheet of login slips to cut and hand out (never stored in the clear, never cached);
    each teacher chooses their own password at the first login."""

    permission = (ADD, User)

    def post(self, request):
        form = TeacherSlipsForm(request.POST, user=request.user)
        if not form.is_valid():
            for error in form.errors.get("teachers", []):
                messages.error(request, error)
            return redirect(request.POST.get("back") if _is_teacher_list(request.POST.get("back")) else "aid:teacher_list")
        issued = services.teachers_issue_one_time_passwords(actor=request.user, teachers=form.cleaned_data["teachers"])
        response = render(request, "aid/teacher_slips.html", {"slips": issued, "login_url": request.build_absolute_uri("/")})
        patch_cache_control(response, private=True, no_store=True, max_age=0)
        return response


def _is_teacher_list(path):
    """Only the teacher list (with its filter) is a place to go back to."""
    return bool(path) and path.split("?")[0] == reverse("aid:teacher_list")


class TeacherCreateView(StaffViewMixin, FormView):
    """Open a teacher's account: the mobile phone is the login, the admin types the first password."""

    permission = (ADD, User)

    template_name = "aid/teacher_form.html"
    form_class = TeacherForm

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "user": self.request.user}

    def form_valid(self, form):
        data = form.cleaned_data
        try:
            teacher = services.teacher_create(
                actor=self.request.user,
                full_name=data["full_name"],
                phone=data["phone"],
                school=data["school"],
                subject=data["subject"],
                password=data["password1"],
            )
        except ValidationError as error:
            form.add_error(None, error)
            return self.form_invalid(form)
        messages.success(
            self.request,
            _("The account of %(teacher)s is open: they log in with %(login)s and the password you set.")
            % {"teacher": teacher, "login": teacher.username},
        )
        return redirect("aid:teacher_list")

    def form_invalid(self, form):
        response = super().form_invalid(form)
        response.status_code = 400
        return response


class TeacherImportView(StaffViewMixin, View):
    """Upload a teacher list and see the check; apply it as a whole from the check page."""

    permission = (IMPORT, User)

    def get(self, request):
        return render(request, "aid/teacher_import.html", {"form": TeacherImportForm()})

    def post(self, request):
        if "content" in request.POST:
            return self.apply(TeacherImportApplyForm(request.POST))
        form = TeacherImportForm(request.POST, request.FILES)
        if not form.is_valid():
            return render(request, "aid/teacher_import.html", {"form": form}, status=400)
        upload = form.cleaned_data["file"]
        try:
            plan = teacher_import.teacher_import_check(actor=request.user, file=upload, file_name=upload.name)
        except teacher_import.SpreadsheetRefused as refusal:
            form.add_error("file", refusal.message)
            return render(request, "aid/teacher_import.html", {"form": form}, status=400)
        upload.seek(0)
        return self.render_check(plan, TeacherImportApplyForm.for_file(upload.read(), upload.name))

    def apply(self, apply_form):
        if not apply_form.is_valid():
            messages.error(self.request, _("The checked file was not sent back intact; upload it again."))
            return redirect("aid:teacher_import")
        content, file_name = apply_form.cleaned_data["content"], apply_form.cleaned_data["file_name"]
        try:
            plan = teacher_import.teacher_import_apply(
                actor=self.request.user, file=io.BytesIO(content), file_name=file_name
            )
        except teacher_import.SpreadsheetRefused as refusal:
            messages.error(self.request, refusal.message)
            return redirect("aid:teacher_import")
        except teacher_import.ImportHasErrors as refusal:
            messages.error(self.request, _("The file has errors; nothing was written."))
            return self.render_check(refusal.plan, TeacherImportApplyForm.for_file(content, file_name), status=400)
        except ValidationError as error:
            messages.error(self.request, " ".join(error.messages))
            return redirect("aid:teacher_import")
        counts = plan.counts
        messages.success(
            self.request,
            _("Imported: %(new)s new teachers, %(unchanged)s already registered. Set each new teacher's first password on this list.")
            % counts,
        )
        return redirect("aid:teacher_list")

    def render_check(self, plan, apply_form, status=200):
        context = {
            "plan": plan,
            "counts": plan.counts,
            "apply_form": apply_form,
            "error_rows": plan.rows_with("error")[:ROWS_SHOWN],
            "new_rows": plan.rows_with("new")[:ROWS_SHOWN],
            "rows_shown": ROWS_SHOWN,
        }
        return render(self.request, "aid/teacher_import_check.html", context, status=status)
