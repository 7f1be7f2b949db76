"""The roster import pages: upload and check, correct the mapping, apply, revert."""
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views import View

from common.excel import xlsx_response
from students.permissions import CHANGE, IMPORT, VIEW

from .. import importer
from ..importer import background
from ..exports import error_report_workbook, roster_template_workbook
from ..forms import AbsenceCheckForm, ColumnMappingForm, RosterUploadForm
from ..models import ImportedChange, RosterImport, SnapshotAbsence
from .base import StaffViewMixin

ROWS_SHOWN = 200


class ImportViewMixin(StaffViewMixin):
    def dispatch(self, request, *args, **kwargs):
        """A step that needs a file deleted by the retention rules sends the user back to
        the upload page, saying so."""
        try:
            return super().dispatch(request, *args, **kwargs)
        except importer.RosterFilePurged as purged:
            messages.error(request, purged.message)
            return redirect("students:roster_import")

    def get_import(self):
        return get_object_or_404(
            RosterImport.objects.visible_to(self.request.user)
            .without_files()
            .select_related("uploaded_by", "snapshot_school", "snapshot_region"),
            pk=self.kwargs["pk"],
        )


class RosterImportView(ImportViewMixin, View):
    """Upload a file: it is read and checked, and the result shown; nothing is written yet."""

    permission = (IMPORT, RosterImport)

    template_name = "students/roster_import.html"

    def get(self, request):
        return self.render_page(RosterUploadForm(user=request.user))

    def post(self, request):
        form = RosterUploadForm(request.POST, request.FILES, user=request.user)
        if not form.is_valid():
            return self.render_page(form, status=400)
        upload = form.cleaned_data["file"]
        try:
            roster_import, plan = importer.roster_import_check(
                actor=request.user,
                file=upload,
                file_name=upload.name,
                is_snapshot=form.cleaned_data["is_snapshot"],
                snapshot_school=form.cleaned_data["snapshot_school"],
                snapshot_region=form.cleaned_data["snapshot_region"],
            )
        except importer.SpreadsheetRefused as refusal:
            form.add_error("file", refusal.message)
            return self.render_page(form, status=400)
        except ValidationError as error:
            form.add_error(None, error)
            return self.render_page(form, status=400)
        return redirect(roster_import)  # post/redirect/get: a reload does not upload again

    def render_page(self, form, status=200):
        imports = RosterImport.objects.visible_to(self.request.user).without_files().select_related("uploaded_by")[:20]
        return render(
            self.request, self.template_name, {"form": form, "imports": imports}, status=status
        )


def render_check(request, roster_import, plan, mapping_form=None, status=200):
    """The result of a check: counts, the rows behind each, and the column mapping."""
    mapping_form = mapping_form or ColumnMappingForm(
        headers=plan.header.headers, mapping=plan.header.mapping
    )
    context = {
        "roster_import": roster_import,
        "plan": plan,
        "counts": plan.counts,
        "error_rows": plan.rows_with("error")[:ROWS_SHOWN],
        "new_rows": plan.rows_with("new")[:ROWS_SHOWN],
        "updated_rows": plan.rows_with("updated")[:ROWS_SHOWN],
        "rows_shown": ROWS_SHOWN,
        "mapping_form": mapping_form,
    }
    return render(request, "students/roster_import_check.html", context, status=status)


class RosterImportDetailView(ImportViewMixin, View):
    permission = (VIEW, RosterImport)

    def get(self, request, pk):
        roster_import = self.get_import()
        if roster_import.state == RosterImport.State.CHECKED:
            try:
                plan = importer.plan_for(roster_import, request.user)
            except importer.SpreadsheetRefused as refusal:
                messages.error(request, refusal.message)
                return redirect("students:roster_import")
            return render_check(request, roster_import, plan)
        changes = roster_import.changes.select_related("student__school").order_by("row_number")
        absences = roster_import.absences.select_related("student__school", "checked_by")
        return render(
            request,
            "students/roster_import_detail.html",
            {
                "roster_import": roster_import,
                "changes": changes[:ROWS_SHOWN],
                "change_count": changes.count(),
                "absences": absences,
                "absence_form": AbsenceCheckForm(),
                "created": ImportedChange.Action.CREATED,
            },
        )


class RosterImportMappingView(ImportViewMixin, View):
    """Check the same file again with the columns mapped as the user says."""

    permission = (CHANGE, RosterImport)

    def post(self, request, pk):
        roster_import = self.get_import()
        plan = importer.plan_for(roster_import, request.user)
        form = ColumnMappingForm(
            request.POST, headers=plan.header.headers, mapping=plan.header.mapping
        )
        if not form.is_valid():
            return render_check(request, roster_import, plan, mapping_form=form, status=400)
        try:
            plan = importer.roster_import_remap(
                actor=request.user, roster_import=roster_import, column_mapping=form.mapping()
            )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        return redirect(roster_import)


class RosterImportApplyView(ImportViewMixin, View):
    permission = (IMPORT, RosterImport)

    def post(self, request, pk):
        roster_import = self.get_import()
        if background.applies_in_background(roster_import):
            return start_job_or_explain(request, roster_import, background.start_apply)
        try:
            plan = importer.roster_import_apply(actor=request.user, roster_import=roster_import)
        except importer.ImportHasErrors as refusal:
            messages.error(request, _("The file has errors; nothing was written."))
            roster_import.refresh_from_db()
            return render_check(request, roster_import, refusal.plan, status=400)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
            return redirect(roster_import)
        counts = plan.counts
        messages.success(
            request,
            _("Applied: %(new)s new, %(updated)s updated, %(unchanged)s unchanged.") % counts,
        )
        return redirect(roster_import)


class RosterImportRevertView(ImportViewMixin, View):
    """GET asks to confirm what the revert undoes; POST reverts."""

    permission = (CHANGE, RosterImport)

    def get(self, request, pk):
        roster_import = self.get_import()
        if roster_import.state != RosterImport.State.APPLIED:
            return redirect(roster_import)
        return render(request, "students/roster_import_revert.html", {"roster_import": roster_import})

    def post(self, request, pk):
        roster_import = self.get_import()
        if background.reverts_in_background(roster_import):
            return start_job_or_explain(request, roster_import, background.start_revert)
        try:
            importer.roster_import_revert(actor=request.user, roster_import=roster_import)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, _("The import was reverted."))
        return redirect(roster_import)


def start_job_or_explain(request, roster_import, start):
    """A large import is applied or reverted by the worker: follow its progress."""
    try:
        job = start(actor=request.user, roster_import=roster_import)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect(roster_import)
    return redirect(job)


class RosterImportReportView(ImportViewMixin, View):
    """The file's rows with their errors, as .xlsx."""

    permission = (VIEW, RosterImport)

    def get(self, request, pk):
        roster_import = self.get_import()
        table = importer.rows_of(roster_import)
        plan = importer.plan_for(roster_import, request.user)
        workbook = error_report_workbook(plan, table)
        stem = roster_import.file_name.rsplit(".", 1)[0]
        return xlsx_response(workbook, f"{stem}_错误报告.xlsx")


class RosterTemplateView(StaffViewMixin, View):
    permission = (IMPORT, RosterImport)

    def get(self, request):
        return xlsx_response(roster_template_workbook(), "建档立卡学生花名册模板.xlsx")


class AbsenceCheckView(ImportViewMixin, View):
    """Record what was found about a student missing from a snapshot."""

    permission = (CHANGE, RosterImport)

    def post(self, request, pk, absence_pk):
        roster_import = self.get_import()
        absence = get_object_or_404(
            SnapshotAbsence.objects.filter(roster_import=roster_import), pk=absence_pk
        )
        form = AbsenceCheckForm(request.POST)
        if form.is_valid():
            importer.snapshot_absence_check(
                actor=request.user, absence=absence, note=form.cleaned_data["note"]
            )
            messages.success(request, _("Noted."))
        else:
            messages.error(request, _("Say what was found."))
        return redirect(roster_import)
