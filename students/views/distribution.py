"""The distribution table (学校建档立卡学生分布表), as a page and as a printable .xlsx."""
from django.utils import timezone
from django.views.generic import TemplateView

from common.excel import xlsx_response
from students.permissions import EXPORT, VIEW

from ..distribution import distribution_table
from ..exports import distribution_workbook
from ..filters import DistributionFilter
from ..models import Student
from .base import StaffViewMixin, refuse_records_out_of_scope


class DistributionMixin(StaffViewMixin):
    def get_table(self):
        students = Student.objects.visible_to(self.request.user)
        self.filterset = DistributionFilter(self.request.GET, queryset=students, request=self.request)
        region = self.filterset.form.cleaned_data.get("region") if self.filterset.is_valid() else None
        return distribution_table(self.request.user, region=region)


class DistributionView(DistributionMixin, TemplateView):
    permission = (VIEW, Student)

    template_name = "students/distribution.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["table"] = self.get_table()
        context["filter"] = self.filterset
        return context


class DistributionExportView(DistributionMixin, TemplateView):
    permission = (EXPORT, Student)

    def get(self, request, *args, **kwargs):
        table = self.get_table()
        refuse_records_out_of_scope(self.filterset.form)
        workbook = distribution_workbook(table, today=timezone.localdate())
        return xlsx_response(workbook, table.file_name(timezone.localdate()))
