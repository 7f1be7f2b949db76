"""Grid supervision (网格督导): grid groups, inspections and their rectification items, and
school improvement projects (薄弱学校改造) with their totals and export.

Every change goes through aid.supervision.services; these views pick the records in the user's
scope (404 outside it), keep teachers out (403) and put the rules' messages beside fields.
"""
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db.models import Count, Max, Prefetch, Q
from django.http import Http404, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext
from django.views import View
from django.views.generic import DetailView, FormView, ListView, TemplateView
from django_filters.views import FilterView
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.utils import get_column_letter

from aid.supervision import services as supervision
from aid.supervision.filters import InspectionFilter, ProjectFilter, RectificationFilter
from aid.supervision.forms import (
    CloseForm,
    GridForm,
    InspectionForm,
    ProjectForm,
    ReopenForm,
    ReportForm,
)
from aid.supervision.models import GridGroup, Inspection, Rectification, SchoolProject
from common.excel import (
    BOLD,
    DATE_FORMAT,
    FORMULA_STARTS,
    MONEY_FORMAT,
    WHOLE_NUMBER,
    ExportColumn,
    text_cell,
    xlsx_response,
)
from common.locking import EditConflict, version_of
from students.models import Region, School
from students.permissions import ADD, CHANGE, EXPORT, VIEW
from students.views.base import ExcelExportMixin, StaffViewMixin, refuse_records_out_of_scope
from students.views.registry import history_entries

User = get_user_model()
CLOSED = Rectification.Status.CLOSED


def add_errors(form, error):
    """Put a ValidationError of aid.supervision beside the fields it names."""
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error)


def rectification_figures(path, today):
    """Counts of the unfinished and overdue rectification items reached through `path`;
    distinct, so that other joins of the same query do not multiply them."""
    unfinished = ~Q(**{f"{path}__status": CLOSED})
    return {
        "open_count": Count(path, filter=unfinished, distinct=True),
        "overdue_count": Count(
            path, filter=unfinished & Q(**{f"{path}__deadline__lt": today}), distinct=True
        ),
    }


# ---------------------------------------------------------------------------------------
# Grid groups
# ---------------------------------------------------------------------------------------


def grid_queryset(user):
    return (
        GridGroup.objects.visible_to(user)
        .select_related("leader", "region")
        .prefetch_related(
            Prefetch("members", queryset=User.objects.order_by("full_name", "username")),
            Prefetch("townships", queryset=Region.objects.order_by("code")),
        )
    )


def joined_names(objects):
    """People or townships in one cell, as the pages list them: 张三、李四."""
    return "、".join(str(obj) for obj in objects)


class GridListView(StaffViewMixin, ExcelExportMixin, ListView):
    permission = (VIEW, GridGroup)

    template_name = "aid/grid_list.html"
    context_object_name = "grids"
    paginate_by = 50
    export_title = gettext_lazy("Grid groups")
    export_list_name = "grid_groups"

    def export_columns(self):
        return (
            ExportColumn(_("Grid group"), 16),
            ExportColumn(_("Grid leader"), 10),
            ExportColumn(_("Members"), 30),
            ExportColumn(_("Townships covered"), 30),
            ExportColumn(_("Items to rectify"), 10, WHOLE_NUMBER),
            ExportColumn(_("Overdue"), 10, WHOLE_NUMBER),
        )

    def export_rows(self, grids):
        for grid in grids.iterator(chunk_size=2000):
            yield (
                grid.name,
                str(grid.leader),
                joined_names(grid.members.all()),
                joined_names(grid.townships.all()),
                grid.open_count,
                grid.overdue_count,
            )

    def get_queryset(self):
        figures = rectification_figures("inspections__rectifications", timezone.localdate())
        return grid_queryset(self.request.user).annotate(**figures).order_by("name", "pk")


class GridDetailView(StaffViewMixin, DetailView):
    """The grid's people and townships, and each school of those townships with its last
    inspection and its open and overdue rectification items (one query for all schools)."""

    permission = (VIEW, GridGroup)

    template_name = "aid/grid_detail.html"
    context_object_name = "grid"

    def get_queryset(self):
        return grid_queryset(self.request.user)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user, grid = self.request.user, self.object
        schools = (
            School.objects.visible_to(user)
            .filter(region__grid_groups=grid)
            .select_related("region")
            .annotate(
                last_inspected_on=Max("inspections__inspected_on"),
                **rectification_figures("rectifications", timezone.localdate()),
            )
            .order_by("region__code", "name")
        )
        context.update(
            schools=schools,
            may_manage=supervision.may_manage(user),
            may_record=supervision.may_record_under(user, grid),
        )
        return context


class GridFormView(StaffViewMixin, FormView):
    template_name = "aid/grid_form.html"
    form_class = GridForm
    grid = None

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "user": self.request.user}

    def get_context_data(self, **kwargs):
        return super().get_context_data(grid=self.grid, **kwargs)

    def form_valid(self, form):
        try:
            grid = self.save(form.cleaned_data)
        except ValidationError as error:
            add_errors(form, error)
            return self.form_invalid(form)
        messages.success(self.request, _("The grid group is saved."))
        return redirect("aid:grid_detail", pk=grid.pk)

    def form_invalid(self, form):
        response = super().form_invalid(form)
        response.status_code = 400
        return response


class GridCreateView(GridFormView):
    permission = (ADD, GridGroup)

    def save(self, data):
        return supervision.grid_create(actor=self.request.user, **data)


class GridUpdateView(GridFormView):
    permission = (CHANGE, GridGroup)

    def dispatch(self, request, *args, **kwargs):
        if self.allows(request.user):
            self.grid = get_object_or_404(GridGroup.objects.visible_to(request.user), pk=kwargs["pk"])
        return super().dispatch(request, *args, **kwargs)

    def get_initial(self):
        return {
            "name": self.grid.name,
            "leader": self.grid.leader_id,
            "members": list(self.grid.members.values_list("pk", flat=True)),
            "townships": list(self.grid.townships.values_list("pk", flat=True)),
        }

    def save(self, data):
        return supervision.grid_update(actor=self.request.user, grid=self.grid, **data)


# ---------------------------------------------------------------------------------------
# Inspections
# ---------------------------------------------------------------------------------------


class InspectionListView(StaffViewMixin, ExcelExportMixin, FilterView):
    permission = (VIEW, Inspection)

    filterset_class = InspectionFilter
    template_name = "aid/inspection_list.html"
    context_object_name = "inspections"
    paginate_by = 50
    export_title = gettext_lazy("Inspections")
    export_list_name = "inspections"

    def export_columns(self):
        return (
            ExportColumn(_("Date"), 12, DATE_FORMAT),
            ExportColumn(_("School"), 26),
            ExportColumn(_("Township"), 12),
            ExportColumn(_("Grid group"), 16),
            ExportColumn(_("Inspectors"), 24),
            ExportColumn(_("Not satisfactory"), 10, WHOLE_NUMBER),
            ExportColumn(_("Items to rectify"), 10, WHOLE_NUMBER),
            ExportColumn(_("Rectification items"), 10, WHOLE_NUMBER),
            ExportColumn(_("Overdue"), 10, WHOLE_NUMBER),
            ExportColumn(_("Findings"), 40),
        )

    def export_rows(self, inspections):
        for inspection in inspections.iterator(chunk_size=2000):
            yield (
                inspection.inspected_on,
                inspection.school.name,
                inspection.school.region.name,
                inspection.grid.name,
                joined_names(inspection.inspectors.all()),
                inspection.unsatisfactory_count,
                inspection.open_count,
                inspection.rectification_count,
                inspection.overdue_count,
                inspection.findings,
            )

    def get_queryset(self):
        return (
            Inspection.objects.visible_to(self.request.user)
            .select_related("school__region", "grid")
            .prefetch_related(
                Prefetch("inspectors", queryset=User.objects.order_by("full_name", "username"))
            )
            .annotate(
                unsatisfactory_count=Count(
                    "answers", filter=Q(answers__satisfactory=False), distinct=True
                ),
                rectification_count=Count("rectifications", distinct=True),
                **rectification_figures("rectifications", timezone.localdate()),
            )
            .order_by("-inspected_on", "-pk")
        )


class InspectionCreateView(StaffViewMixin, TemplateView):
    """The inspection form for the school in `?school=`; without it, a choice of school."""

    permission = (ADD, Inspection)

    template_name = "aid/inspection_form.html"

    def dispatch(self, request, *args, **kwargs):
        if self.allows(request.user):
            self.school = None
            school_pk = request.GET.get("school")
            if school_pk is not None:
                if not school_pk.isdigit():
                    raise Http404
                self.school = get_object_or_404(
                    School.objects.visible_to(request.user).select_related("region"), pk=school_pk
                )
        return super().dispatch(request, *args, **kwargs)

    def get_form(self):
        user = self.request.user
        grids = supervision.inspection_grids(user, self.school).order_by("name")
        return InspectionForm(
            self.request.POST if self.request.method == "POST" else None,
            grids=grids,
            inspectors=supervision.grid_people(grids).order_by("full_name", "username"),
            items=supervision.active_checklist(self.school.region),
            user=user,
        )

    def render_page(self, form=None, status=200):
        context = self.get_context_data(school=self.school, form=form)
        if self.school is None:
            context["schools"] = (
                supervision.inspectable_schools(self.request.user)
                .select_related("region")
                .order_by("region__code", "name")
            )
        return self.render_to_response(context, status=status)

    def get(self, request, *args, **kwargs):
        if self.school is None:
            return self.render_page()
        return self.render_page(self.get_form())

    def post(self, request, *args, **kwargs):
        if self.school is None:
            raise Http404
        form = self.get_form()
        if form.is_valid():
            try:
                inspection = supervision.inspection_record(
                    actor=request.user,
                    school=self.school,
                    grid=form.cleaned_data["grid"],
                    inspected_on=form.cleaned_data["inspected_on"],
                    inspectors=form.cleaned_data["inspectors"],
                    findings=form.cleaned_data["findings"],
                    answers=form.answers(),
                    rectifications=form.rectification_items(),
                )
            except ValidationError as error:
                add_errors(form, error)
            else:
                messages.success(request, _("The inspection is recorded."))
                return redirect(inspection)
        return self.render_page(form, status=400)


class InspectionDetailView(StaffViewMixin, DetailView):
    permission = (VIEW, Inspection)

    template_name = "aid/inspection_detail.html"
    context_object_name = "inspection"

    def get_queryset(self):
        return Inspection.objects.visible_to(self.request.user).select_related(
            "school__region", "grid__leader", "recorded_by"
        )

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        inspection = self.object
        context.update(
            answers=inspection.answers.select_related("item").order_by("item__position", "item__pk"),
            inspectors=inspection.inspectors.order_by("full_name", "username"),
            rectifications=inspection.rectifications.order_by("deadline", "pk"),
        )
        return context


# ---------------------------------------------------------------------------------------
# Rectification items
# ---------------------------------------------------------------------------------------


class RectificationListView(StaffViewMixin, ExcelExportMixin, FilterView):
    permission = (VIEW, Rectification)

    filterset_class = RectificationFilter
    template_name = "aid/rectification_list.html"
    context_object_name = "rectifications"
    paginate_by = 50
    export_title = gettext_lazy("Rectification items")
    export_list_name = "rectification_items"

    def export_columns(self):
        return (
            ExportColumn(_("School"), 26),
            ExportColumn(_("Township"), 12),
            ExportColumn(_("What must be put right"), 40),
            ExportColumn(_("Deadline"), 12, DATE_FORMAT),
            ExportColumn(_("Days overdue"), 10, WHOLE_NUMBER),
            ExportColumn(pgettext("supervision", "Status"), 12),
            ExportColumn(_("Closed on"), 12, DATE_FORMAT),
            ExportColumn(_("Inspection date"), 12, DATE_FORMAT),
            ExportColumn(_("Grid group"), 16),
        )

    def export_rows(self, rectifications):
        today = timezone.localdate()
        for rectification in rectifications.iterator(chunk_size=2000):
            yield (
                rectification.school.name,
                rectification.school.region.name,
                rectification.description,
                rectification.deadline,
                supervision.days_overdue(rectification, today) or None,  # empty when not overdue
                rectification.get_status_display(),
                rectification.closed_on,
                rectification.inspection.inspected_on,
                rectification.inspection.grid.name,
            )

    def get_queryset(self):
        return (
            Rectification.objects.visible_to(self.request.user)
            .select_related("school__region", "inspection__grid")
            .order_by("deadline", "pk")
        )


class RectificationUpdateView(StaffViewMixin, TemplateView):
    """The item with its history; the school reports what it did, the grid (or the
    bureau) closes or reopens it. The form posted says which by its `action`."""

    permission = (VIEW, Rectification)

    template_name = "aid/rectification_update.html"
    forms = {"report": ReportForm, "close": CloseForm, "reopen": ReopenForm}
    actions = {
        "report": supervision.rectification_report,
        "close": supervision.rectification_close,
        "reopen": supervision.rectification_reopen,
    }

    def dispatch(self, request, *args, **kwargs):
        if self.allows(request.user):
            self.rectification = get_object_or_404(
                Rectification.objects.visible_to(request.user).select_related(
                    "school__region", "inspection__grid__leader"
                ),
                pk=kwargs["pk"],
            )
        return super().dispatch(request, *args, **kwargs)

    def render_page(self, bound=None, status=200):
        user, rectification = self.request.user, self.rectification
        allowed = supervision.rectification_actions(user, rectification)
        version = version_of(rectification)
        forms = {action: self.forms[action](version=version) for action in allowed}
        forms.update(bound or {})
        context = self.get_context_data(
            rectification=rectification,
            inspection=rectification.inspection,
            action_forms=forms,
            history=history_entries(rectification, user, excluded_fields=["reported_at"]),
            photos=rectification.photos.select_related("uploaded_by"),
        )
        return self.render_to_response(context, status=status)

    def get(self, request, *args, **kwargs):
        return self.render_page()

    def post(self, request, *args, **kwargs):
        action = request.POST.get("action")
        if action not in self.forms:
            return HttpResponseBadRequest()
        form = self.forms[action](request.POST, request.FILES)
        if form.is_valid():
            data = dict(form.cleaned_data)
            seen_version = data.pop("seen")
            try:
                self.actions[action](
                    actor=request.user, rectification=self.rectification, seen_version=seen_version, **data
                )
            except EditConflict as conflict:
                form.show_conflict(conflict)
                return self.render_page({action: form}, status=409)
            except ValidationError as error:
                add_errors(form, error)
            else:
                messages.success(request, self.success_message(action))
                return redirect("aid:rectification_update", pk=self.rectification.pk)
        return self.render_page({action: form}, status=400)

    def success_message(self, action):
        return {
            "report": _("The report is sent to the grid group."),
            "close": _("The item is closed."),
            "reopen": _("The item is reopened."),
        }[action]


# ---------------------------------------------------------------------------------------
# School improvement projects
# ---------------------------------------------------------------------------------------


def project_queryset(user):
    return (
        SchoolProject.objects.visible_to(user)
        .select_related("school__region")
        .order_by("school__region__code", "school__name", "name", "pk")
    )


class ProjectListView(StaffViewMixin, FilterView):
    """The projects with their totals per type and per township, for the filtered list."""

    permission = (VIEW, SchoolProject)

    filterset_class = ProjectFilter
    template_name = "aid/project_list.html"
    context_object_name = "projects"
    paginate_by = 50

    def get_queryset(self):
        return project_queryset(self.request.user)

    def get_context_data(self, **kwargs):
        user = self.request.user
        return super().get_context_data(
            totals=supervision.projects_totals(user, self.object_list),
            **kwargs,
        )


class ProjectCreateView(StaffViewMixin, FormView):
    permission = (ADD, SchoolProject)

    template_name = "aid/project_form.html"
    form_class = ProjectForm
    project = None

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "user": self.request.user, "instance": self.project}

    def get_context_data(self, **kwargs):
        return super().get_context_data(project=self.project, **kwargs)

    def form_valid(self, form):
        try:
            supervision.project_save(actor=self.request.user, project=self.project, **form.cleaned_data)
        except ValidationError as error:
            add_errors(form, error)
            return self.form_invalid(form)
        messages.success(self.request, _("The project is saved."))
        return redirect("aid:project_list")

    def form_invalid(self, form):
        response = super().form_invalid(form)
        response.status_code = 400
        return response


class ProjectUpdateView(ProjectCreateView):
    permission = (CHANGE, SchoolProject)

    def dispatch(self, request, *args, **kwargs):
        if self.allows(request.user):
            self.project = get_object_or_404(
                SchoolProject.objects.visible_to(request.user), pk=kwargs["pk"]
            )
        return super().dispatch(request, *args, **kwargs)


def project_columns():
    return (
        ExportColumn(_("School"), 26),
        ExportColumn(_("Township"), 12),
        ExportColumn(_("Project"), 30),
        ExportColumn(_("Type"), 16),
        ExportColumn(_("Investment (yuan)"), 16, MONEY_FORMAT),
        ExportColumn(_("Funding source"), 10),
        ExportColumn(_("Construction started"), 12, DATE_FORMAT),
        ExportColumn(_("Construction completed"), 12, DATE_FORMAT),
        ExportColumn(pgettext("supervision", "Status"), 10),
    )


def _cell(sheet, value, number_format="", bold=False):
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        cell = text_cell(sheet, value)
    else:
        cell = WriteOnlyCell(sheet, value=value)
    if number_format and value is not None:
        cell.number_format = number_format
    if bold:
        cell.font = BOLD
    return cell


def _header(sheet, labels):
    sheet.append([_cell(sheet, label, bold=True) for label in labels])


def project_workbook(projects, totals):
    """The filtered projects, and a sheet of totals per type and per township; money is
    written as numbers ("#,##0.00"), summed by the database."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(_("Projects"))
    columns = project_columns()
    for index, column in enumerate(columns, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = column.width
    sheet.freeze_panes = "A2"
    _header(sheet, [column.header for column in columns])
    for project in projects.iterator(chunk_size=2000):
        values = (
            project.school.name,
            project.school.region.name,
            project.name,
            project.get_type_display(),
            project.investment,
            project.get_funding_source_display(),
            project.started_on,
            project.completed_on,
            project.get_status_display(),
        )
        sheet.append(
            [_cell(sheet, value, column.number_format) for value, column in zip(values, columns)]
        )

    summary = workbook.create_sheet(_("Totals"))
    for letter, width in zip("ABC", (24, 12, 18)):
        summary.column_dimensions[letter].width = width
    sections = (
        (_("By type"), _("Type"), [(row["label"], row) for row in totals.by_type]),
        (_("By township"), _("Township"), [(row["township"], row) for row in totals.by_township]),
    )
    for title, group_label, rows in sections:
        summary.append([_cell(summary, title, bold=True)])
        _header(summary, [group_label, _("Projects"), _("Investment (yuan)")])
        for name, row in rows:
            summary.append(
                [_cell(summary, str(name)), row["count"], _cell(summary, row["investment"], MONEY_FORMAT)]
            )
        summary.append(
            [
                _cell(summary, _("Total"), bold=True),
                _cell(summary, totals.count, bold=True),
                _cell(summary, totals.investment, MONEY_FORMAT, bold=True),
            ]
        )
        summary.append([])
    return workbook


class ProjectExportView(StaffViewMixin, View):
    """The project list exactly as filtered on the page, with its totals, as .xlsx."""

    permission = (EXPORT, SchoolProject)

    def get(self, request):
        filterset = ProjectFilter(
            request.GET, queryset=project_queryset(request.user), request=request
        )
        if not filterset.is_valid():
            refuse_records_out_of_scope(filterset.form)
        projects = filterset.qs if filterset.is_valid() else SchoolProject.objects.none()
        totals = supervision.projects_totals(request.user, projects)
        file_name = f"薄弱学校改造项目_{timezone.localdate():%Y%m%d}.xlsx"
        return xlsx_response(project_workbook(projects, totals), file_name)
