"""The base of every page: login required and the role's permission checked against the one
table (students/permissions.py); the Excel export every list page offers."""
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.forms import ModelChoiceField
from django.http import Http404
from django.shortcuts import redirect
from django.utils import timezone

from common.excel import SHEET_TITLE_LENGTH, sheet_safe, stream_xlsx, write_xlsx
from common.lists import ListPagination
from jobs import services as jobs

from .. import permissions
from ..exports import log_export


class StaffViewMixin(ListPagination, LoginRequiredMixin):
    """Login required, and the user's role must hold `permission`: an (action, kind) pair
    of the permission table, e.g. `(permissions.VIEW, Student)`. A view that names no
    permission is refused to everyone (deny by default; a test walks every URL). List
    pages page as common.lists.ListPagination says.

    The role check comes first; the record check follows in the view, which starts every
    queryset from `visible_to(user)`, so a record outside the user's scope is a 404.
    """

    permission = None

    @classmethod
    def allows(cls, user):
        """Whether the user's role may open this view: asked by the navigation and the
        buttons as well as by `dispatch`."""
        return cls.permission is not None and permissions.may(user, *cls.permission)

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        if not self.allows(request.user):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)


class ExcelExportMixin:
    """A list page that also gives every row of its current filter as .xlsx.

    The same URL with ?export=xlsx (templates link it with
    {% querystring export="xlsx" page=None %}): the export then has exactly the page's
    filter, order and scope, every row rather than one page. A view sets `export_title`
    (the sheet's title and the file name) and `export_list_name` (the list's name in the
    export log), and defines `export_columns()` (ExportColumn, translated when called) and
    `export_rows(objects)`, which yields one sequence of values per object, in column order.
    A list whose rows carry personal data (names of students or families, phone or ID
    numbers) sets `export_carries_personal_data`: its exports are logged, by every role.
    A view of its own URL that only exports (the list's export button) subclasses the list
    with `always_exports = True`. A filter naming a record outside the user's scope (a
    school of another county) answers 404, as the record's own page does.
    """

    export_title = ""
    export_list_name = ""
    export_carries_personal_data = False
    always_exports = False

    def get(self, request, *args, **kwargs):
        if not (self.always_exports or request.GET.get("export") == "xlsx"):
            return super().get(request, *args, **kwargs)
        objects = self.export_objects()
        rows_total = objects.count()
        if rows_total > jobs.background_export_rows():
            job = jobs.start_in_background(
                request=request, title=self.export_sheet_title(), file_name=self.export_file_name(),
                rows_total=rows_total,
            )
            return redirect(job)
        response = stream_xlsx(
            self.export_file_name(), self.export_sheet_title(), self.export_columns(), self.export_rows(objects)
        )
        self.log_this_export(response.row_count)
        return response

    def write_background_file(self, file, on_progress):
        """The export as the worker writes it (jobs.services)."""
        objects = self.export_objects()
        return write_xlsx(file, self.export_sheet_title(), self.export_columns(), self.export_rows(objects), on_progress)

    def export_sheet_title(self):
        return sheet_safe(self.get_export_title())[:SHEET_TITLE_LENGTH]

    def export_file_name(self):
        return f"{sheet_safe(self.get_export_title())}_{timezone.localdate():%Y%m%d}.xlsx"

    def log_this_export(self, row_count):
        """The export log's rule (students.exports.log_export), for lists with personal data;
        called by the page, or by the background worker when it has written the file."""
        if self.export_carries_personal_data:
            query = self.request.GET.copy()
            query.pop("export", None)
            log_export(
                user=self.request.user,
                list_name=self.export_list_name,
                query=query.urlencode(),
                row_count=row_count,
            )

    def get_export_title(self):
        """The sheet's title and the file name's start; a list of one term adds the term."""
        return str(self.export_title)

    def export_objects(self):
        """The list's objects before pagination, filtered as the page filters them (the
        filterset is kept as self.filterset, as the page keeps it)."""
        if not hasattr(self, "get_filterset_class"):
            return self.get_queryset()
        self.filterset = self.get_filterset(self.get_filterset_class())
        if not self.filterset.is_bound or self.filterset.is_valid():
            return self.filterset.qs
        refuse_records_out_of_scope(self.filterset.form)
        if not self.get_strict():
            return self.filterset.qs
        return self.filterset.queryset.none()

    def export_columns(self):
        raise NotImplementedError

    def export_rows(self, objects):
        raise NotImplementedError


def refuse_records_out_of_scope(form):
    """404 when a choice of records (offered from the user's scope) was given a record it
    does not offer: outside the scope, or no record at all."""
    for name, errors in form.errors.as_data().items():
        field = form.fields.get(name)
        if isinstance(field, ModelChoiceField) and any(
            error.code in ("invalid_choice", "invalid_pk_value") for error in errors
        ):
            raise Http404
