"""Excel exports of lists, and the log of exports that carried personal data."""
import django_filters
from django.core.exceptions import PermissionDenied
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views import View
from django_filters.views import FilterView

from common.excel import COUNT_FORMAT, DATETIME_FORMAT, ExportColumn, stream_xlsx

from ..exports import STUDENT_COLUMNS, log_export, student_export_rows
from ..filters import StudentFilter
from ..forms import DateInput
from ..models import EXPORTED_LISTS, ExportLog, Student
from .base import ExcelExportMixin, StaffViewMixin


class StudentExportView(StaffViewMixin, View):
    """The student list's rows, exactly as filtered on the page, as .xlsx."""

    def get(self, request):
        students = Student.objects.visible_to(request.user)
        filterset = StudentFilter(request.GET, queryset=students, request=request)
        rows = student_export_rows(filterset.qs, request.user)
        file_name = f"学生名单_{timezone.localdate():%Y%m%d}.xlsx"
        response = stream_xlsx(file_name, "学生名单", STUDENT_COLUMNS, rows)
        log_export(
            user=request.user,
            list_name="students",
            query=request.GET.urlencode(),
            row_count=response.row_count,
        )
        return response


class ExportLogFilter(django_filters.FilterSet):
    user = django_filters.CharFilter(
        field_name="user__full_name", lookup_expr="icontains", label=_("User")
    )
    list_name = django_filters.ChoiceFilter(label=_("List"), choices=list(EXPORTED_LISTS.items()))
    exported_after = django_filters.DateFilter(
        field_name="exported_at", lookup_expr="date__gte", label=_("From"), widget=DateInput
    )
    exported_before = django_filters.DateFilter(
        field_name="exported_at", lookup_expr="date__lte", label=_("To"), widget=DateInput
    )

    class Meta:
        model = ExportLog
        fields = []


class ExportLogView(StaffViewMixin, ExcelExportMixin, FilterView):
    template_name = "students/export_log.html"
    filterset_class = ExportLogFilter
    paginate_by = 50
    context_object_name = "entries"
    export_title = _("Export log")
    export_list_name = "export_log"
    export_carries_personal_data = True  # logins are mobile phone numbers

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not request.user.reads_export_log:
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def get_queryset(self):
        return ExportLog.objects.visible_to(self.request.user).select_related("user__school", "user__region")

    def export_columns(self):
        return (
            ExportColumn(gettext("When"), 17, DATETIME_FORMAT),
            ExportColumn(gettext("User"), 10),
            ExportColumn(gettext("Login"), 14),
            ExportColumn(gettext("Scope"), 20),
            ExportColumn(gettext("List"), 18),
            ExportColumn(gettext("Filter"), 40),
            ExportColumn(gettext("Rows"), 10, COUNT_FORMAT),
        )

    def export_rows(self, entries):
        for entry in entries.iterator(chunk_size=2000):
            yield (
                timezone.localtime(entry.exported_at).replace(tzinfo=None),  # Excel has no time zones
                str(entry.user),
                entry.user.username,
                str(entry.user.scope_label),
                str(entry.list_label()),
                entry.query,
                entry.row_count,
            )
