"""Excel exports of lists, and the log of exports that carried personal data."""
import django_filters
from django.core.exceptions import PermissionDenied
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views import View
from django_filters.views import FilterView

from ..exports import STUDENT_COLUMNS, log_export, stream_xlsx, student_export_rows
from ..filters import StudentFilter
from ..forms import DateInput
from ..models import ExportLog, Student
from .base import StaffViewMixin


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
    exported_after = django_filters.DateFilter(
        field_name="exported_at", lookup_expr="date__gte", label=_("From"), widget=DateInput
    )
    exported_before = django_filters.DateFilter(
        field_name="exported_at", lookup_expr="date__lte", label=_("To"), widget=DateInput
    )

    class Meta:
        model = ExportLog
        fields = []


class ExportLogView(StaffViewMixin, FilterView):
    template_name = "students/export_log.html"
    filterset_class = ExportLogFilter
    paginate_by = 50
    context_object_name = "entries"

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not request.user.reads_export_log:
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def get_queryset(self):
        return ExportLog.objects.visible_to(self.request.user).select_related("user__school", "user__region")
