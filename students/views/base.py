"""The base of every page: login required, read-only roles kept out of writing views; the
Excel export every list page offers."""
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from common.excel import SHEET_TITLE_LENGTH, sheet_safe, stream_xlsx

from ..exports import log_export


class StaffViewMixin(LoginRequiredMixin):
    """Login required; views that change data set `writes = True` and are denied to
    roles that may not edit. Views start their querysets from `visible_to(user)`."""

    writes = False

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        if self.writes and not request.user.can_edit_students:
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
    A list whose rows carry phone or ID numbers sets `export_carries_personal_data`: its
    exports by users who see them unmasked are logged.
    """

    export_title = ""
    export_list_name = ""
    export_carries_personal_data = False

    def get(self, request, *args, **kwargs):
        if request.GET.get("export") != "xlsx":
            return super().get(request, *args, **kwargs)
        objects = self.export_objects()
        title = sheet_safe(self.get_export_title())
        response = stream_xlsx(
            f"{title}_{timezone.localdate():%Y%m%d}.xlsx",
            title[:SHEET_TITLE_LENGTH],
            self.export_columns(),
            self.export_rows(objects),
        )
        if self.export_carries_personal_data:
            query = request.GET.copy()
            del query["export"]
            log_export(
                user=request.user,
                list_name=self.export_list_name,
                query=query.urlencode(),
                row_count=response.row_count,
            )
        return response

    def get_export_title(self):
        """The sheet's title and the file name's start; a list of one term adds the term."""
        return str(self.export_title)

    def export_objects(self):
        """The list's objects before pagination, filtered as the page filters them (the
        filterset is kept as self.filterset, as the page keeps it)."""
        if not hasattr(self, "get_filterset_class"):
            return self.get_queryset()
        self.filterset = self.get_filterset(self.get_filterset_class())
        if not self.filterset.is_bound or self.filterset.is_valid() or not self.get_strict():
            return self.filterset.qs
        return self.filterset.queryset.none()

    def export_columns(self):
        raise NotImplementedError

    def export_rows(self, objects):
        raise NotImplementedError
