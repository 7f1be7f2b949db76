"""Excel exports of lists, and the log of the exports that carried personal data."""
import django_filters
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django_filters.views import FilterView

from common.excel import COUNT_FORMAT, DATETIME_FORMAT, ExportColumn
from students.permissions import EXPORT, VIEW

from ..forms import DateInput
from ..models import EXPORTED_LISTS, ExportLog, Student
from .base import ExcelExportMixin, StaffViewMixin
from .registry import StudentListView


class StudentExportView(StudentListView):
    """The student list's rows, exactly as filtered on the page (an invalid filter exports
    nothing, as the page lists nothing), as .xlsx in the importer's columns."""

    permission = (EXPORT, Student)
    always_exports = True


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
    id_numbers_masked = django_filters.BooleanFilter(label=_("ID numbers masked"))

    class Meta:
        model = ExportLog
        fields = []


class ExportLogView(StaffViewMixin, ExcelExportMixin, FilterView):
    permission = (VIEW, ExportLog)

    template_name = "students/export_log.html"
    filterset_class = ExportLogFilter
    paginate_by = 50
    context_object_name = "entries"
    export_title = _("Export log")
    export_list_name = "export_log"
    export_carries_personal_data = True  # logins are mobile phone numbers

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
            ExportColumn(gettext("Masking"), 22),
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
                str(entry.masking_label()),
            )
