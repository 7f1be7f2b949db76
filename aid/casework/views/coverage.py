"""Home-visit coverage (家访覆盖率) by school and township, and the unvisited students."""
import django_filters
from django.db.models import OuterRef, Subquery
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.generic import TemplateView
from django_filters.views import FilterView

from aid.casework.coverage import coverage_for, coverage_workbook, unvisited_students
from aid.casework.forms import TermForm
from aid.casework.models import HomeVisit, Pairing
from aid.reference.models import Term
from common.excel import DATE_FORMAT, ExportColumn, sheet_safe, xlsx_response
from students.filters import DistributionFilter, visible_schools
from students.models import Student
from students.permissions import VIEW
from students.views.base import ExcelExportMixin, StaffViewMixin


class CoverageView(StaffViewMixin, TemplateView):
    """The share of students on the roster visited at least once in the chosen term; with
    ?export=xlsx the same table as a printable workbook."""

    permission = (VIEW, HomeVisit)

    template_name = "aid/coverage.html"

    def get(self, request, *args, **kwargs):
        if request.GET.get("export") != "xlsx":
            return super().get(request, *args, **kwargs)
        context = self.get_context_data(**kwargs)
        if context["term"] is None:
            raise Http404
        today = timezone.localdate()
        workbook = coverage_workbook(context["coverage"], str(request.user.scope_label), today)
        title = sheet_safe(f"{_('Home-visit coverage')}（{context['term'].name}）")
        return xlsx_response(workbook, f"{title}_{today:%Y%m%d}.xlsx")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        current = Term.objects.current()
        form = TermForm(self.request.GET or None, initial={"term": current})
        term = form.cleaned_data["term"] if form.is_bound and form.is_valid() else current
        context["form"] = form
        context["term"] = term
        if term is not None:
            context["coverage"] = coverage_for(self.request.user, term)
        return context


class UnvisitedFilter(DistributionFilter):
    term = django_filters.ModelChoiceFilter(
        label=gettext_lazy("Term"), queryset=Term.objects.all(), method="filter_term", empty_label=None,
        required=True,
    )
    school = django_filters.ModelChoiceFilter(label=gettext_lazy("School"), queryset=visible_schools)

    class Meta:
        model = Student
        fields = []

    def filter_term(self, queryset, name, term):
        return unvisited_students(queryset, term)


class UnvisitedListView(StaffViewMixin, ExcelExportMixin, FilterView):
    """未家访学生: students on the roster without a visit in the term (the current one by default)."""

    permission = (VIEW, HomeVisit)

    filterset_class = UnvisitedFilter
    template_name = "aid/unvisited.html"
    paginate_by = 50
    context_object_name = "students"
    export_title = gettext_lazy("Students not visited")
    export_list_name = "unvisited_students"
    export_carries_personal_data = True  # students' names

    def get_export_title(self):
        term = self.filterset.form.cleaned_data.get("term") if self.filterset.is_valid() else None
        return f"{self.export_title}（{term.name}）" if term else str(self.export_title)

    def export_columns(self):
        return (
            ExportColumn(_("Name"), 10),
            ExportColumn(_("School"), 26),
            ExportColumn(_("Township"), 12),
            ExportColumn(_("Grade"), 10),
            ExportColumn(_("Class"), 8),
            ExportColumn(_("Pairing teacher"), 10),
            ExportColumn(_("Last visit"), 12, DATE_FORMAT),
        )

    def export_rows(self, students):
        not_paired = _("Not paired")
        for student in students.iterator(chunk_size=2000):
            yield (
                student.name,
                student.school.name,
                student.school.region.name,
                student.get_grade_display(),
                student.class_name,
                student.teacher_name or not_paired,
                student.last_visited_on,
            )

    def get_queryset(self):
        teacher = Pairing.objects.active().filter(student_id=OuterRef("pk")).values("teacher__full_name")
        last_visit = HomeVisit.objects.filter(student_id=OuterRef("pk")).order_by("-visited_on").values("visited_on")
        return (
            Student.objects.visible_to(self.request.user)
            .on_roster()
            .select_related("school__region")
            .annotate(teacher_name=Subquery(teacher[:1]), last_visited_on=Subquery(last_visit[:1]))
        )

    def get_filterset_kwargs(self, filterset_class):
        kwargs = super().get_filterset_kwargs(filterset_class)
        data = self.request.GET.copy()
        if not data.get("term"):
            current = Term.objects.current()
            if current is not None:
                data["term"] = current.pk
        kwargs["data"] = data  # always bound: without a term there is no list
        return kwargs

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["term"] = self.filterset.form.cleaned_data.get("term") if self.filterset.is_valid() else None
        return context
