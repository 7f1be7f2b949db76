"""Dropout control (控辍保学): the case list and its export, a case's page with its
responsible persons (包保责任人), persuasion attempts (劝返记录) and closing, cases opened
by hand, and the three county ledgers (台账) with their printable exports.

Every change is a call to aid.dropout and every ledger comes from aid.ledgers; these views
pick the records in the user's scope, show the forms and put the services' errors beside
the fields, keeping what was typed.
"""
import datetime
import itertools
import secrets
import tempfile
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, DurationField, ExpressionWrapper, F, Prefetch, Q, Value
from django.db.models.functions import Coalesce
from django.http import FileResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.utils.text import normalize_newlines
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from django.utils.translation import gettext_lazy
from django.views import View
from django.views.generic import FormView, TemplateView
from django_filters.views import FilterView

from aid.casework.models import HomeVisit
from aid.dropout import services as dropout
from aid.dropout.exports import LedgerKind, build_ledger, ledger_response
from aid.dropout.filters import CaseFilter
from aid.dropout.forms import (
    AttemptForm,
    CaseCloseForm,
    CaseOpenForm,
    CaseReopenForm,
    CaseUpdateForm,
    LedgerForm,
    ResponsibleForm,
    recent_periods,
)
from aid.dropout.ledgers import Period
from aid.dropout.models import CaseResponsible, DropoutCase, PersuasionAttempt
from common.excel import (
    DATE_FORMAT,
    WHOLE_NUMBER,
    ExportColumn,
)
from common.locking import version_of
from common.masking import id_number_for, phone_for
from students.exports import log_export
from students.models import Student
from students.permissions import ADD, CHANGE, EXPORT, LEDGERS, VIEW
from students.views.base import ExcelExportMixin, StaffViewMixin


def case_list_queryset(user):
    """The user's cases, oldest first, with their responsible persons and the number and
    last date of their persuasion attempts: a fixed number of queries for any page."""
    return (
        DropoutCase.objects.visible_to(user)
        .select_related("student__school__region")
        .with_attempts()
        .annotate(
            # As DropoutCase.days_open counts, for sorting by it.
            open_for=ExpressionWrapper(
                Coalesce("closed_on", Value(timezone.localdate())) - F("opened_on"), output_field=DurationField()
            ),
        )
        .prefetch_related(Prefetch("responsibles", queryset=CaseResponsible.objects.order_by("pk")))
        .order_by("opened_on", "pk")
    )


def case_figures(user, today):
    """Open cases of the user's scope (the target is zero: 动态清零), by kind, and the cases
    closed this month, in one query."""
    is_open = Q(closed_on__isnull=True)
    return DropoutCase.objects.visible_to(user).aggregate(
        open=Count("pk", filter=is_open),
        open_dropout=Count("pk", filter=is_open & Q(kind=DropoutCase.Kind.DROPOUT)),
        open_risk=Count("pk", filter=is_open & Q(kind=DropoutCase.Kind.RISK)),
        closed_this_month=Count("pk", filter=Q(closed_on__gte=today.replace(day=1))),
    )


class CaseListView(StaffViewMixin, ExcelExportMixin, FilterView):
    permission = (VIEW, DropoutCase)

    filterset_class = CaseFilter
    template_name = "aid/case_list.html"
    paginate_by = 50
    context_object_name = "cases"
    export_title = gettext_lazy("Dropout cases")
    export_list_name = "dropout_cases"
    export_carries_personal_data = True

    def export_columns(self):
        return case_export_columns()

    def export_rows(self, cases):
        return case_export_rows(cases, self.request.user, timezone.localdate())

    def get_queryset(self):
        return case_list_queryset(self.request.user)

    def get_filterset_kwargs(self, filterset_class):
        kwargs = super().get_filterset_kwargs(filterset_class)
        kwargs["data"] = self.request.GET  # always bound, so "open cases" is the default
        return kwargs

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        filters = self.request.GET.copy()
        filters.pop("page", None)
        context.update(
            figures=case_figures(user, timezone.localdate()),
            export_query=filters.urlencode(),
        )
        return context


def case_export_columns():
    return (
        ExportColumn(_("Name"), 10),
        ExportColumn(_("ID number"), 21),
        ExportColumn(_("School"), 24),
        ExportColumn(_("Township"), 12),
        ExportColumn(_("Kind"), 8),
        ExportColumn(_("Opened because"), 16),
        ExportColumn(_("Opened on"), 12, DATE_FORMAT),
        ExportColumn(_("Days open"), 8, WHOLE_NUMBER),
        ExportColumn(_("Reason"), 14),
        ExportColumn(_("Details"), 24),
        ExportColumn(_("Responsible persons"), 24),
        ExportColumn(_("Number of attempts"), 8, WHOLE_NUMBER),
        ExportColumn(_("Last attempt"), 12, DATE_FORMAT),
        ExportColumn(_("Closed on"), 12, DATE_FORMAT),
        ExportColumn(pgettext("dropout case", "Outcome"), 12),
        ExportColumn(_("Receiving school"), 20),
        ExportColumn(_("Explanation"), 24),
    )


def case_export_rows(cases, user, today):
    for case in cases.iterator(chunk_size=2000):
        student = case.student
        yield (
            student.name,
            id_number_for(user, student.id_number),
            student.school.name,
            student.school.region.name,
            case.get_kind_display(),
            case.get_trigger_display(),
            case.opened_on,
            case.days_open(today),
            case.get_reason_display(),
            case.reason_note,
            "、".join(
                f"{person.name} {phone_for(user, person.phone)}".strip() for person in case.responsibles.all()
            ),
            case.attempt_count,
            case.last_attempt_on,
            case.closed_on,
            case.get_outcome_display(),
            case.receiving_school,
            case.outcome_note,
        )


class CaseExportView(CaseListView):
    """The case list's rows, exactly as filtered on the page, as .xlsx."""

    permission = (EXPORT, DropoutCase)
    always_exports = True


# ---------------------------------------------------------------------------------------
# One case: its page, and the changes made from it
# ---------------------------------------------------------------------------------------


def scoped_case(user, pk):
    return get_object_or_404(
        DropoutCase.objects.visible_to(user).select_related(
            "student__school__region", "student__household__township", "visit", "opened_by", "closed_by"
        ),
        pk=pk,
    )


class CasePageMixin(StaffViewMixin, TemplateView):
    """The case page (404 outside the user's scope). A change that failed renders it again
    with the failed form in place and status 400."""

    template_name = "aid/case_detail.html"

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated:
            self.case = scoped_case(request.user, kwargs["pk"])
        return super().dispatch(request, *args, **kwargs)

    def render_page(self, status=200, **forms):
        return self.render_to_response(self.get_context_data(**forms), status=status)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user, case = self.request.user, self.case
        manages = dropout.may_manage_cases(user)
        is_open = case.closed_on is None
        context.update(
            case=case,
            student=case.student,
            responsibles=case.responsibles.order_by("pk"),
            reopenings=case.reopenings.select_related("reopened_by"),
            attempts=case.attempts.select_related("recorded_by"),
            shows_visit=bool(case.visit_id)
            and HomeVisit.objects.visible_to(user).filter(pk=case.visit_id).exists(),
            may_close=manages and is_open,
        )
        if manages:
            context.setdefault(
                "update_form",
                CaseUpdateForm(initial={"reason": case.reason, "reason_note": case.reason_note}, version=version_of(case)),
            )
        if manages and is_open:
            context.setdefault("responsible_form", ResponsibleForm(staff=dropout.responsible_staff(case)))
        if manages and not is_open:
            context.setdefault("reopen_form", CaseReopenForm())
        if is_open and CaseAttemptView.allows(user):
            context.setdefault("attempt_form", AttemptForm())
        return context

    def apply(self, form, form_name, action, message):
        """Run `action(cleaned_data)` if the form is valid; back to the case on success."""
        if form.is_valid():
            try:
                action(form.cleaned_data)
            except ValidationError as error:
                form.add_service_error(error)
            else:
                messages.success(self.request, message)
                return redirect(self.case)
        return self.render_page(status=400, **{form_name: form})


class CaseDetailView(CasePageMixin):
    """The case, its people and attempts; case managers correct the reason here (POST)."""

    permission = (VIEW, DropoutCase)

    def get(self, request, *args, **kwargs):
        return self.render_page()

    def post(self, request, *args, **kwargs):
        if not dropout.may_manage_cases(request.user):
            raise PermissionDenied
        return self.apply(
            CaseUpdateForm(request.POST),
            "update_form",
            lambda data: dropout.case_update(
                actor=request.user, case=self.case, reason=data["reason"], note=data["reason_note"],
                seen_version=data["seen"],
            ),
            _("The reason was saved."),
        )


class CaseResponsibleView(CasePageMixin):
    permission = (CHANGE, DropoutCase)

    http_method_names = ["post"]

    def post(self, request, *args, **kwargs):
        return self.apply(
            ResponsibleForm(request.POST, staff=dropout.responsible_staff(self.case)),
            "responsible_form",
            lambda data: dropout.case_add_responsible(actor=request.user, case=self.case, **data),
            _("The responsible person was added."),
        )


class CaseReopenView(CasePageMixin):
    """A closed case opened again, with the reason."""

    permission = (CHANGE, DropoutCase)

    http_method_names = ["post"]

    def post(self, request, *args, **kwargs):
        return self.apply(
            CaseReopenForm(request.POST),
            "reopen_form",
            lambda data: dropout.case_reopen(actor=request.user, case=self.case, reason=data["reason"]),
            _("The case is open again."),
        )


class CaseAttemptView(CasePageMixin):
    """A persuasion attempt: case managers, and teachers of the paired student, record it."""

    permission = (ADD, PersuasionAttempt)

    http_method_names = ["post"]

    def post(self, request, *args, **kwargs):
        return self.apply(
            AttemptForm(request.POST),
            "attempt_form",
            lambda data: dropout.case_record_attempt(actor=request.user, case=self.case, **data),
            _("The persuasion attempt was recorded."),
        )


class CaseCloseView(StaffViewMixin, FormView):
    """How the case ends; closing updates the student's enrolment status in the same step."""

    permission = (CHANGE, DropoutCase)

    template_name = "aid/case_close.html"
    form_class = CaseCloseForm

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated:
            self.case = scoped_case(request.user, kwargs["pk"])
        return super().dispatch(request, *args, **kwargs)

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "user": self.request.user}

    def get_context_data(self, **kwargs):
        return super().get_context_data(case=self.case, student=self.case.student, **kwargs)

    def form_valid(self, form):
        data = form.cleaned_data
        try:
            dropout.case_close(
                actor=self.request.user,
                case=self.case,
                outcome=data["outcome"],
                closed_on=data["closed_on"],
                note=data["note"],
                receiving_school=data["receiving_school"],
                return_school=data["return_school"],
            )
        except ValidationError as error:
            form.add_service_error(error)
            return self.form_invalid(form)
        messages.success(self.request, _("The case was closed."))
        return redirect(self.case)

    def form_invalid(self, form):
        return self.render_to_response(self.get_context_data(form=form), status=400)


class CaseCreateView(StaffViewMixin, FormView):
    """A case opened by hand for a student of the user's scope (case managers)."""

    permission = (ADD, DropoutCase)

    template_name = "aid/case_create.html"
    form_class = CaseOpenForm

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated:
            self.student = get_object_or_404(
                Student.objects.visible_to(request.user).select_related("school"), pk=kwargs["student_pk"]
            )
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        open_case = DropoutCase.objects.visible_to(self.request.user).open().filter(student=self.student).first()
        return super().get_context_data(student=self.student, open_case=open_case, **kwargs)

    def form_valid(self, form):
        data = form.cleaned_data
        try:
            case = dropout.case_open(
                actor=self.request.user,
                student=self.student,
                kind=data["kind"],
                reason=data["reason"],
                note=data["reason_note"],
            )
        except ValidationError as error:
            form.add_service_error(error)
            return self.form_invalid(form)
        messages.success(self.request, _("The case was opened."))
        return redirect(case)

    def form_invalid(self, form):
        return self.render_to_response(self.get_context_data(form=form), status=400)


# ---------------------------------------------------------------------------------------
# Ledgers (台账): a page and a printable export each
# ---------------------------------------------------------------------------------------


class LedgerMixin(StaffViewMixin):
    def get_form(self, today):
        """The school-age ledger of this month unless the query asks for another."""
        data = self.request.GET.copy()
        data.setdefault("kind", LedgerKind.SCHOOL_AGE)
        data.setdefault("period", Period.current_month(today).label)
        return LedgerForm(data)

    def get_ledger(self, form, today):
        return build_ledger(form.cleaned_data["kind"], self.request.user, form.cleaned_data["period"], today)


def shown(value):
    """A ledger value as the page shows it (dates as in the export: 2026-11-02)."""
    if isinstance(value, datetime.date):
        return value.isoformat()
    return "" if value is None else value


class LedgerView(LedgerMixin, TemplateView):
    """The ledger as on paper: the same rows as the export, 100 a page."""

    permission = (VIEW, LEDGERS)

    template_name = "aid/ledger.html"
    rows_per_page = 100

    def get(self, request, *args, **kwargs):
        today = timezone.localdate()
        form = self.get_form(today)
        context = {"form": form, "periods": recent_periods(today)}
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(**context), status=400)
        ledger = self.get_ledger(form, today)
        page = Paginator(ledger.rows, self.rows_per_page).get_page(request.GET.get("page"))
        context.update(
            ledger=ledger,
            page_obj=page,
            rows=[list(zip(ledger.columns, map(shown, values))) for values in page.object_list],
            export_query=urlencode({"kind": ledger.kind, "period": ledger.period.label}),
        )
        return self.render_to_response(self.get_context_data(**context))


class LedgerPrintView(LedgerMixin, TemplateView):
    """The whole ledger on landscape A4 sheets, its columns as wide as the export's;
    logged as its export is, since it carries the same personal data."""

    permission = (EXPORT, LEDGERS)

    template_name = "aid/ledger_print.html"

    def get(self, request, *args, **kwargs):
        today = timezone.localdate()
        form = self.get_form(today)
        if not form.is_valid():
            return redirect(f"{reverse('aid:ledger')}?{request.GET.urlencode()}")
        ledger = self.get_ledger(form, today)
        log_export(
            user=request.user, list_name=f"ledger_{ledger.kind}", query=request.GET.urlencode(),
            row_count=len(ledger.rows),
        )
        total_width = sum(column.width for column in ledger.columns) or 1
        columns = [
            (column, round(100 * column.width / total_width, 1), print_class(column)) for column in ledger.columns
        ]
        # The page around the rows comes from the template; the rows, as many as the ledger
        # has, go where the template leaves their place, written a batch at a time to a
        # temporary file that the response streams (as the export's workbook is).
        slot = f"<!-- ledger rows {secrets.token_hex(8)} -->"
        context = self.get_context_data(
            ledger=ledger, columns=columns, row_count=len(ledger.rows), rows_slot=mark_safe(slot)
        )
        head, tail = render_to_string(self.template_name, context, request).split(slot)
        page = tempfile.TemporaryFile()
        for part in itertools.chain([head], print_rows(ledger.rows, [css for _column, _width, css in columns]), [tail]):
            page.write(part.encode())
        page.seek(0)
        return FileResponse(page, content_type="text/html; charset=utf-8")


def print_rows(rows, classes):
    """Each row as a table row of HTML, as the template would write it (values escaped, line
    breaks as <br>); the template language would take a hundred times as long a row."""
    opening = [f'<td class="{css}">' if css else "<td>" for css in classes]
    for values in rows:
        cells = "".join(f"{tag}{print_text(value)}</td>" for tag, value in zip(opening, values, strict=True))
        yield f"<tr>{cells}</tr>\n"


def print_text(value):
    text = shown(value)
    if isinstance(text, str):
        return escape(normalize_newlines(text)).replace("\n", "<br>")
    return escape(text)


# Columns this narrow in the export hold one short value (a name, an ID number, a date):
# on paper they never wrap; wider ones (schools, reasons, attempts) wrap in their width.
NARROW_COLUMN = 21


def print_class(column):
    if column.number_format and column.number_format != DATE_FORMAT:
        return "num"
    return "nowrap" if column.width <= NARROW_COLUMN else ""


class LedgerExportView(LedgerMixin, View):
    permission = (EXPORT, LEDGERS)

    def get(self, request):
        today = timezone.localdate()
        form = self.get_form(today)
        if not form.is_valid():
            return redirect(f"{reverse('aid:ledger')}?{request.GET.urlencode()}")
        ledger = self.get_ledger(form, today)
        log_export(
            user=request.user,
            list_name=f"ledger_{ledger.kind}",
            query=request.GET.urlencode(),
            row_count=len(ledger.rows),
        )
        return ledger_response(ledger, today)
