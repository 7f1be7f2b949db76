"""Subsidy pages (学生资助): disbursement batches and their lines, signature rosters (花名册),
the term summary and the precision checks (精准资助比对).

The views read through the scoped querysets and change nothing themselves: every change is
a call to aid.subsidies.services or aid.subsidies.precision. Each form carries the batch version the page
showed, so a page loaded before someone else's change gets a conflict (409) instead of
overwriting it, and comes back with the user's input.
"""
import io
from collections.abc import Callable
from decimal import Decimal
from typing import NamedTuple
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, DecimalField, Exists, Max, OuterRef, Q, Sum, Value
from django.db.models.functions import Coalesce
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views import View
from django.views.generic import FormView, TemplateView
from django_filters.views import FilterView

from aid.reference.models import AidProgram, Term
from aid.subsidies import services as d
from aid.subsidies.exports import (
    finding_description,
    precision_workbook,
    ROSTER_FIELDS,
    roster_columns,
    roster_rows,
    roster_xlsx,
    summary_workbook,
)
from aid.subsidies.filters import BatchFilter, LineFilter
from aid.subsidies.forms import (
    FindingsBulkForm,
    BatchCreateForm,
    BatchMoveForm,
    FindingResolveForm,
    LineAction,
    LineAddForm,
    LineUpdateForm,
    PrecisionForm,
    SchoolConfirmForm,
    SummaryForm,
)
from aid.subsidies.models import (
    DisbursementBatch,
    DisbursementLine,
    PrecisionResolution,
)
from aid.subsidies.precision import finding_resolve, findings_resolve, precision_report
from common.excel import (
    COUNT_FORMAT,
    DATE_FORMAT,
    MONEY_FORMAT,
    ExportColumn,
    xlsx_content_response,
    xlsx_response,
)
from common.locking import NO_HISTORY, EditConflict
from students.exports import log_export
from students.models import School, Student
from students.permissions import ADD, CHANGE, EXPORT, VIEW
from students.views.base import ExcelExportMixin, StaffViewMixin

State = DisbursementBatch.State
LineStatus = DisbursementLine.Status
MONEY = DecimalField(max_digits=14, decimal_places=2)


def line_figures(path="", scope=None, kinds=("planned", "paid", "failed", "removed")):
    """Count and amount of lines by what became of them, as aggregate expressions.

    planned: every line not removed (to be paid, paid, returned or failed); paid; failed:
    returned or failed; removed. Amounts are Decimal sums in the database, 0.00 if none.
    """
    status = f"{path}status"
    conditions = {
        "planned": Q(**{f"{status}__in": [s for s in LineStatus.values if s != LineStatus.REMOVED]}),
        "paid": Q(**{status: LineStatus.PAID}),
        "failed": Q(**{f"{status}__in": [LineStatus.RETURNED, LineStatus.FAILED]}),
        "removed": Q(**{status: LineStatus.REMOVED}),
    }
    figures = {}
    for kind in kinds:
        condition = conditions[kind] if scope is None else conditions[kind] & scope
        figures[f"{kind}_count"] = Count(f"{path}pk", filter=condition)
        figures[f"{kind}_amount"] = Coalesce(
            Sum(f"{path}amount", filter=condition), Value(Decimal("0.00")), output_field=MONEY
        )
    return figures


def edits_lines(user):
    """Bureau administrators edit any line of a draft; school administrators their school's
    (the only lines they see)."""
    return LineUpdateView.allows(user)


class BatchStaffMixin(StaffViewMixin):
    """The pages of one batch, found in the user's scope (404 outside it)."""

    def get_batch(self, pk):
        return get_object_or_404(
            DisbursementBatch.objects.visible_to(self.request.user).select_related(
                "program", "term", "region", "prepared_by", "submitted_by", "approved_by"
            ),
            pk=pk,
        )


# ---------------------------------------------------------------------------------------
# The list and a new batch
# ---------------------------------------------------------------------------------------


class BatchListView(BatchStaffMixin, ExcelExportMixin, FilterView):
    """发放批次: the batches the user sees, with their lines and amounts (the user's schools')."""

    permission = (VIEW, DisbursementBatch)

    filterset_class = BatchFilter
    template_name = "aid/batch_list.html"
    paginate_by = 50
    context_object_name = "batches"
    export_title = gettext_lazy("Disbursement batches")
    export_list_name = "disbursement_batches"

    def export_columns(self):
        return (
            ExportColumn(_("Aid program"), 24),
            ExportColumn(_("Term"), 16),
            ExportColumn(_("Region"), 12),
            ExportColumn(_("State"), 16),
            ExportColumn(_("Number of students"), 10, COUNT_FORMAT),
            ExportColumn(_("Planned amount"), 14, MONEY_FORMAT),
            ExportColumn(_("Paid students"), 10, COUNT_FORMAT),
            ExportColumn(_("Paid amount"), 14, MONEY_FORMAT),
            ExportColumn(_("Payment date"), 12, DATE_FORMAT),
            ExportColumn(_("Payment method"), 14),
        )

    def export_rows(self, batches):
        for batch in batches.iterator(chunk_size=2000):
            yield (
                batch.program.name,
                batch.term.name,
                batch.region.name,
                batch.get_state_display(),
                batch.planned_count,
                batch.planned_amount,
                batch.paid_count,
                batch.paid_amount,
                batch.paid_on,
                batch.get_payment_method_display(),
            )

    def get_queryset(self):
        user = self.request.user
        scope = Q(lines__school__in=School.objects.visible_to(user))
        return (
            DisbursementBatch.objects.visible_to(user)
            .select_related("program", "term", "region")
            .annotate(**line_figures("lines__", scope, kinds=("planned", "paid")))
            .order_by(*DisbursementBatch._meta.ordering)  # a GROUP BY ignores Meta.ordering
        )

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["summary_form"] = SummaryForm(
            initial={
                "term": self.request.GET.get("term") or Term.objects.current(),
                "program": self.request.GET.get("program"),
            },
            user=self.request.user,
        )
        return context


class BatchCreateView(StaffViewMixin, FormView):
    """A new batch of one program for one term and region (bureau administrators)."""

    permission = (ADD, DisbursementBatch)

    template_name = "aid/batch_create.html"
    form_class = BatchCreateForm

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "user": self.request.user}

    def get_initial(self):
        return {"term": Term.objects.current(), "region": self.request.user.region}

    def form_valid(self, form):
        try:
            batch = d.batch_create(actor=self.request.user, **form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
            return self.form_invalid(form)
        messages.success(
            self.request,
            _("The batch was created with %(count)s lines.") % {"count": batch.lines.count()},
        )
        return redirect(batch)

    def form_invalid(self, form):
        return self.render_to_response(self.get_context_data(form=form), status=400)


# ---------------------------------------------------------------------------------------
# The batch page, and the changes made from it
# ---------------------------------------------------------------------------------------

class Move(NamedTuple):
    to: str
    label: str
    change: Callable
    fields: tuple  # the form fields the change takes besides the batch
    done: str


MOVES = (
    Move(State.SUBMITTED, gettext_lazy("Submit for approval"), d.batch_submit, (),
         gettext_lazy("The batch was submitted for approval.")),
    Move(State.APPROVED, gettext_lazy("Approve"), d.batch_approve, (),
         gettext_lazy("The batch was approved.")),
    Move(State.DRAFT, gettext_lazy("Send back to draft"), d.batch_return, ("note",),
         gettext_lazy("The batch was sent back to draft.")),
    Move(State.PAID, gettext_lazy("Record the payment"), d.batch_record_payment, ("paid_on", "method"),
         gettext_lazy("The payment was recorded.")),
    Move(State.CLOSED, gettext_lazy("Close the batch"), d.batch_close, (),
         gettext_lazy("The batch was closed.")),
)
LINE_CHANGES = {
    LineAction.REMOVE: gettext_lazy("%(name)s was removed from the batch."),
    LineAction.AMOUNT: gettext_lazy("The amount for %(name)s was changed."),
    LineAction.RETURNED: gettext_lazy("The payment result for %(name)s was recorded."),
    LineAction.FAILED: gettext_lazy("The payment result for %(name)s was recorded."),
}


class BatchPageMixin(BatchStaffMixin, TemplateView):
    """The batch page: header, transitions, totals, schools and their confirmation, and the
    lines (100 a page, by school), in a fixed number of queries whatever the batch's size.
    A change that failed renders it again with the failed form in place."""

    template_name = "aid/batch_detail.html"
    lines_per_page = 100

    def render_page(self, batch, status=200, **forms):
        return self.render_to_response(self.get_context_data(batch=batch, **forms), status=status)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        batch = context["batch"]
        lines = DisbursementLine.objects.visible_to(user).filter(batch=batch)
        may_edit = batch.state == State.DRAFT and edits_lines(user)
        schools = self.school_rows(batch, lines)
        moves = self.moves(batch, context.get("move_form"))
        context.update(
            totals=lines.aggregate(**line_figures()),
            transitions=batch.transitions.select_related("by"),
            schools=schools,
            unconfirmed_count=sum(1 for row in schools if row["planned_count"] and not row["confirmation"]),
            moves=moves,
            line_editors=d.line_editors(batch),
            # A bureau administrator shown no Approve button on a submitted batch is told why.
            approval_barred=batch.state == State.SUBMITTED and d.is_bureau_admin(user)
            and all(move["to"] != State.APPROVED for move in moves),
            may_edit_lines=may_edit,
            query=self.request.GET.urlencode(),
        )
        context.update(self.line_page(batch, lines, may_edit, context.get("line_form"), context.get("line_form_pk")))
        return context

    def school_rows(self, batch, lines):
        rows = list(
            lines.values("school_id", "school__name")
            .annotate(**line_figures(kinds=("planned",)))
            .order_by("school__name")
        )
        confirmations = {c.school_id: c for c in batch.confirmations.select_related("confirmed_by")}
        signed_pages = {}
        for page in batch.signed_rosters.visible_to(self.request.user).select_related("uploaded_by"):
            signed_pages.setdefault(page.school_id, []).append(page)
        for row in rows:
            row["confirmation"] = confirmations.get(row["school_id"])
            row["signed_pages"] = signed_pages.get(row["school_id"], [])
        return rows

    def moves(self, batch, failed_form):
        moves = []
        for move in MOVES:
            if not d.may_make_move(self.request.user, batch, move.to):
                continue
            if failed_form is not None and failed_form.data.get("to") == move.to:
                form = failed_form
            else:
                form = BatchMoveForm(initial={"to": move.to}, auto_id=f"move-{move.to}-%s")
            moves.append({"to": move.to, "label": move.label, "form": form})
        return moves

    def line_page(self, batch, lines, may_edit, failed_form, failed_pk):
        user = self.request.user
        schools = School.objects.visible_to(user).filter(pk__in=batch.lines.values("school_id"))
        ordered = lines.select_related("student", "school").order_by("school__name", "school_id", "student__name", "pk")
        filterset = LineFilter(self.request.GET, queryset=ordered, schools=schools, request=self.request)
        page = Paginator(filterset.qs, self.lines_per_page).get_page(self.request.GET.get("page"))
        results = d.RESULTS_ALLOWED.get(batch.state, {}) if d.is_bureau_admin(user) else {}
        versions = dict(
            DisbursementLine.history.filter(id__in=[line.pk for line in page.object_list])
            .values("id").annotate(latest=Max("history_id")).values_list("id", "latest")
        )
        for line in page.object_list:
            line.version = versions.get(line.pk, NO_HISTORY)
            actions = [LineAction.REMOVE, LineAction.AMOUNT] if may_edit and line.status == LineStatus.PLANNED else []
            actions += [LineAction(status) for status in sorted(results.get(line.status, ()))]
            line.actions = [(action.value, action.label) for action in actions]
            line.amount_editable = LineAction.AMOUNT in actions
            line.form = failed_form if line.pk == failed_pk else None
        return {
            "filter": filterset,
            "page_obj": page,
            "lines": page.object_list,
            "line_actions_column": any(line.actions for line in page.object_list),
        }


class BatchDetailView(BatchPageMixin):
    permission = (VIEW, DisbursementBatch)

    def get(self, request, *args, **kwargs):
        return self.render_page(self.get_batch(kwargs["pk"]))


class BatchChangeMixin(BatchPageMixin):
    """POST only: one call to aid.subsidies.services. On a conflict the page comes back with the
    message (409); on another error with the form's errors (400); the input is kept."""

    http_method_names = ["post"]

    def apply(self, batch, form, change, arguments, done, anchor="", **forms):
        try:
            change(actor=self.request.user, expected_version=form.cleaned_data["version"], **arguments)
        except (d.BatchConflict, EditConflict) as conflict:
            messages.error(self.request, " ".join(conflict.messages))
            form.add_error(None, conflict)
            return self.render_page(self.get_batch(batch.pk), status=409, **forms)
        except ValidationError as error:
            form.add_error(None, error)
            return self.render_page(self.get_batch(batch.pk), status=400, **forms)
        messages.success(self.request, done)
        query = self.request.GET.urlencode()
        return redirect(batch.get_absolute_url() + (f"?{query}" if query else "") + anchor)


class BatchMoveView(BatchChangeMixin):
    """Submit, approve, send back, record the payment or close, as may_make_move allows."""

    permission = (CHANGE, DisbursementBatch)

    def post(self, request, *args, **kwargs):
        batch = self.get_batch(kwargs["pk"])
        form = BatchMoveForm(request.POST)
        if not form.is_valid():
            return self.render_page(batch, status=400, move_form=form)
        data = form.cleaned_data
        move = next(move for move in MOVES if move.to == data["to"])
        arguments = {"batch": batch, **{name: data[name] for name in move.fields}}
        return self.apply(batch, form, move.change, arguments, move.done, move_form=form)


class SchoolConfirmView(BatchChangeMixin):
    """A school (or the bureau for it) confirms the school's lines of a draft."""

    permission = (CHANGE, DisbursementLine)

    def post(self, request, *args, **kwargs):
        batch = self.get_batch(kwargs["pk"])
        schools = School.objects.visible_to(request.user).filter(pk__in=batch.lines.values("school_id"))
        form = SchoolConfirmForm(request.POST, schools=schools)
        if not form.is_valid():
            return self.render_page(batch, status=400, confirm_form=form)
        school = form.cleaned_data["school"]
        done = _("%(school)s confirmed its lines.") % {"school": school.name}
        arguments = {"batch": batch, "school": school}
        return self.apply(batch, form, d.school_confirm, arguments, done, confirm_form=form)


class LineUpdateView(BatchChangeMixin):
    """One line: remove or change the amount (draft), or record a payment result."""

    permission = (CHANGE, DisbursementLine)

    def post(self, request, *args, **kwargs):
        line = get_object_or_404(
            DisbursementLine.objects.visible_to(request.user)
            .filter(batch__isnull=False)
            .select_related("student"),
            pk=kwargs["pk"],
        )
        batch = line.batch = self.get_batch(line.batch_id)
        form = LineUpdateForm(request.POST)
        forms = {"line_form": form, "line_form_pk": line.pk}
        if not form.is_valid():
            return self.render_page(batch, status=400, **forms)
        data = form.cleaned_data
        arguments = {"line": line, "reason": data["reason"], "seen_version": data["seen"]}
        if data["action"] == LineAction.REMOVE:
            change = d.line_remove
        elif data["action"] == LineAction.AMOUNT:
            change, arguments["amount"] = d.line_set_amount, data["amount"]
        else:
            change, arguments["status"] = d.line_mark_result, data["action"]
        done = LINE_CHANGES[data["action"]] % {"name": line.student.name}
        return self.apply(batch, form, change, arguments, done, anchor=f"#line-{line.pk}", **forms)


class LineAddView(BatchStaffMixin, TemplateView):
    """Add a student the generation left out: search the user's students on the roster of
    the stages the program covers who have no line of it this term, choose one, say why.
    Only the first matches are offered, so the choice stays short however many there are."""

    permission = (ADD, DisbursementLine)

    template_name = "aid/batch_line_add.html"
    shown = 20

    def candidates(self, batch):
        taken = DisbursementLine.objects.counting().filter(
            program_id=batch.program_id, term_id=batch.term_id, student_id=OuterRef("pk")
        )
        return (
            Student.objects.visible_to(self.request.user)
            .on_roster()
            .filter(school__region__code__startswith=batch.region.code, stage__in=batch.program.stages)
            .filter(~Exists(taken))
        )

    def choices(self, batch):
        """The search, how many candidates match it, and the first of them to choose from."""
        query = self.request.GET.get("q", "").strip()
        candidates = self.candidates(batch)
        matches = candidates.search(query) if query else candidates
        shown = (
            candidates.filter(pk__in=matches.order_by("name", "pk").values("pk")[: self.shown])
            .select_related("school")
            .order_by("name", "pk")
        )
        return query, matches, shown

    def render_form(self, batch, form=None, status=200):
        query, matches, shown = self.choices(batch)
        if form is None:
            form = LineAddForm(candidates=shown)
        context = self.get_context_data(
            batch=batch, form=form, query=query, candidates=shown, match_count=matches.count()
        )
        return self.render_to_response(context, status=status)

    def get(self, request, *args, **kwargs):
        return self.render_form(self.get_batch(kwargs["pk"]))

    def post(self, request, *args, **kwargs):
        batch = self.get_batch(kwargs["pk"])
        _query, _matches, shown = self.choices(batch)
        form = LineAddForm(request.POST, candidates=shown)
        if not form.is_valid():
            return self.render_form(batch, form, status=400)
        student = form.cleaned_data["student"]
        try:
            d.line_add(
                actor=request.user, batch=batch, student=student, reason=form.cleaned_data["reason"],
                expected_version=form.cleaned_data["version"],
            )
        except d.BatchConflict as conflict:
            messages.error(request, conflict.message)
            form.add_error(None, conflict)
            return self.render_form(self.get_batch(batch.pk), form, status=409)
        except ValidationError as error:
            form.add_error(None, error)
            return self.render_form(batch, form, status=400)
        messages.success(request, _("%(name)s was added to the batch.") % {"name": student.name})
        return redirect(batch)


# ---------------------------------------------------------------------------------------
# Spreadsheets: the signature roster of a school and the term summary
# ---------------------------------------------------------------------------------------


class RosterExportView(BatchStaffMixin, View):
    """花名册: one school's lines of a batch as a printable .xlsx to sign (?school=<pk>;
    a school administrator gets their own school)."""

    permission = (EXPORT, DisbursementBatch)

    def get(self, request, pk):
        user = request.user
        batch, school, lines, total = self.roster(pk)
        log_export(
            user=user,
            list_name="batch_roster",
            query=urlencode({"batch": batch.pk, "school": school.pk}),
            row_count=total["count"],
        )
        return self.respond(batch=batch, school=school, lines=lines, total=total)

    def respond(self, *, batch, school, lines, total):
        content = io.BytesIO()
        roster_xlsx(content, batch=batch, school=school, rows=roster_rows(lines, self.request.user), total=total,
                    user=self.request.user)
        return xlsx_content_response(
            content.getvalue(), f"花名册_{school.name}_{batch.term.name}_{batch.program.name}.xlsx"
        )

    def roster(self, pk):
        """The batch, the school (404 outside the scope), its lines to sign for (as
        roster_rows reads them: the school's lines only, no model instances), and their count
        and sum computed by the database."""
        user = self.request.user
        batch = self.get_batch(pk)
        school_pk = self.request.GET.get("school") or user.school_id
        if not str(school_pk).isdigit():
            raise Http404
        schools = School.objects.visible_to(user).filter(pk__in=batch.lines.values("school_id"))
        school = get_object_or_404(schools, pk=school_pk)
        lines = DisbursementLine.objects.visible_to(user).counting().filter(batch=batch, school=school)
        total = lines.aggregate(
            count=Count("pk"), amount=Coalesce(Sum("amount"), Value(Decimal("0.00")), output_field=MONEY)
        )
        lines = lines.order_by("student__grade", "student__class_name", "student__name", "pk").values_list(
            *ROSTER_FIELDS
        )
        return batch, school, lines, total


class RosterPrintView(RosterExportView):
    """The same signature roster as an A4 page to print and sign (logged as its export is)."""

    def respond(self, *, batch, school, lines, total):
        preparers = [batch.prepared_by]
        if batch.submitted_by_id and batch.submitted_by_id != batch.prepared_by_id:
            preparers.append(batch.submitted_by)
        return render(self.request, "aid/batch_roster_print.html", {
            "batch": batch,
            "school": school,
            "columns": roster_columns(),
            "rows": roster_rows(lines, self.request.user),
            "total": total,
            "preparers": preparers,
        })


class SummaryExportView(BatchStaffMixin, View):
    """The term's figures by school and by program (?term=<pk>, optional ?program=<pk>;
    the current term when none is given), over the lines the user sees."""

    permission = (EXPORT, DisbursementBatch)

    def get(self, request):
        form = SummaryForm(request.GET or None, user=request.user)
        if form.is_bound:
            if not form.is_valid():
                raise Http404
            term, program = form.cleaned_data["term"], form.cleaned_data["program"]
        else:
            term, program = Term.objects.current(), None
        if term is None:
            raise Http404
        lines = DisbursementLine.objects.visible_to(request.user).filter(term=term)
        if program is not None:
            lines = lines.filter(program=program)
        figures = line_figures(kinds=("planned", "paid", "failed"))
        by_school = (
            lines.values("school_id", "school__name", "school__region__name")
            .annotate(**figures)
            .order_by("school__region__code", "school__name")
        )
        by_program = lines.values("program_id", "program__name").annotate(**figures).order_by("program__name")
        workbook = summary_workbook(term=term, program=program, by_school=by_school, by_program=by_program)
        name = f"资助发放汇总_{term.name}" + (f"_{program.name}" if program else "")
        return xlsx_response(workbook, f"{name}.xlsx")


# ---------------------------------------------------------------------------------------
# Precision checks (精准资助比对)
# ---------------------------------------------------------------------------------------


class PrecisionMixin(BatchStaffMixin):
    """The program and term chosen on the precision page; the page lists at most
    `findings_shown` findings of each kind (the export has them all)."""

    findings_shown = 200

    def chosen(self):
        """The form, and the program and term it chose (by default the current term and the
        first program with a batch in it, else the first active program; None for an
        invalid choice)."""
        term = Term.objects.current()
        programs = AidProgram.objects.visible_to(self.request.user).filter(is_active=True)
        program = programs.filter(batches__term=term).first() or programs.first()
        initial = {"program": program, "term": term}
        form = PrecisionForm(self.request.GET or None, initial=initial, user=self.request.user)
        if not form.is_bound:
            return form, initial["program"], initial["term"]
        if form.is_valid():
            return form, form.cleaned_data["program"], form.cleaned_data["term"]
        return form, None, None


class PrecisionView(PrecisionMixin, TemplateView):
    """The five checks of one program and term with their students, the resolved findings,
    and a resolve form under each open finding (bureau and school administrators)."""

    permission = (VIEW, PrecisionResolution)

    template_name = "aid/precision.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        form, program, term = self.chosen()
        context.update(
            form=form,
            program=program,
            term=term,
            may_resolve=FindingResolveView.allows(user),
            bulk_form=context.get("bulk_form"),
        )
        if program is None or term is None:
            return context
        report = precision_report(user, program, term, limit=self.findings_shown)
        failed = context.get("resolve_form")
        failed_key = (failed.data.get("kind"), failed.data.get("student")) if failed else None
        sections = []
        for kind, label in PrecisionResolution.Kind.choices:
            findings = report.findings[kind]
            for finding in findings:
                finding.description = finding_description(finding)
                finding.form = failed if failed_key == (kind, str(finding.student.pk)) else None
            sections.append({"kind": kind, "label": label, "count": report.counts[kind], "findings": findings})
        for finding in report.resolved:
            finding.description = finding_description(finding)
        context.update(
            draft_batches=list(
                DisbursementBatch.objects.visible_to(user)
                .filter(program=program, term=term, state=DisbursementBatch.State.DRAFT)
                .select_related("region")
            ),
            sections=sections,
            resolved=report.resolved,
            resolved_count=report.resolved_count,
            open_count=report.open_count(),
            query=urlencode({"program": program.pk, "term": term.pk}),
        )
        return context


class FindingResolveView(PrecisionView):
    """Record what was found about one finding, then back to the checks."""

    permission = (ADD, PrecisionResolution)

    http_method_names = ["post"]

    def post(self, request, *args, **kwargs):
        form = FindingResolveForm(request.POST, user=request.user)
        if form.is_valid():
            data = form.cleaned_data
            try:
                finding_resolve(actor=request.user, **data)
            except ValidationError as error:
                form.add_error(None, error)
            else:
                messages.success(
                    request, _("The finding about %(name)s is resolved.") % {"name": data["student"].name}
                )
                query = urlencode({"program": data["program"].pk, "term": data["term"].pk})
                return redirect(f"{reverse('aid:precision')}?{query}")
        return self.render_to_response(self.get_context_data(resolve_form=form), status=400)


class FindingsBulkView(PrecisionView):
    """The ticked findings of one kind: resolved with one note, or their students added
    to a draft batch; then back to the checks. A student outside the user's scope refuses
    the whole request with a message."""

    permission = (ADD, PrecisionResolution)

    http_method_names = ["post"]

    def post(self, request, *args, **kwargs):
        form = FindingsBulkForm(request.POST, user=request.user)
        if form.is_valid():
            data = form.cleaned_data
            students = list(data["students"])
            try:
                if data["action"] == FindingsBulkForm.ADD_TO_BATCH:
                    d.lines_add(actor=request.user, batch=data["batch"], students=students, reason=data["note"])
                    message = ngettext(
                        "%(count)d student was added to the batch.",
                        "%(count)d students were added to the batch.",
                        len(students),
                    )
                else:
                    findings_resolve(
                        actor=request.user, program=data["program"], term=data["term"], kind=data["kind"],
                        students=students, note=data["note"],
                    )
                    message = ngettext(
                        "%(count)d finding is resolved.", "%(count)d findings are resolved.", len(students)
                    )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                messages.success(request, message % {"count": len(students)})
                query = urlencode({"program": data["program"].pk, "term": data["term"].pk})
                return redirect(f"{reverse('aid:precision')}?{query}#kind-{data['kind']}")
        return self.render_to_response(self.get_context_data(bulk_form=form), status=400)


class PrecisionExportView(PrecisionMixin, View):
    """The same findings as .xlsx: a sheet per kind and one of the resolved findings."""

    permission = (EXPORT, PrecisionResolution)

    def get(self, request):
        _form, program, term = self.chosen()
        if program is None or term is None:
            raise Http404
        report = precision_report(request.user, program, term)
        workbook, row_count = precision_workbook(report, request.user)
        log_export(
            user=request.user,
            list_name="precision",
            query=urlencode({"program": program.pk, "term": term.pk}),
            row_count=row_count,
        )
        return xlsx_response(workbook, f"精准资助比对_{term.name}_{program.name}.xlsx")
