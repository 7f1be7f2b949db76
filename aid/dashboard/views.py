"""The home page of each role: its dashboard, with charts, figures and the county summary."""
from django.shortcuts import redirect
from django.utils import timezone
from django.views import View
from django.views.generic import TemplateView

from aid.casework import services
from aid.dashboard.charts import charts_for
from aid.dashboard.exports import county_summary_workbook
from aid.dashboard.selectors import casework_summary, dashboard_for
from common.excel import xlsx_response
from students.choices import IN_SCHOOL_STATUSES, Role
from students.models import Student
from students.permissions import EXPORT, VIEW
from students.views.base import StaffViewMixin


class DashboardView(StaffViewMixin, TemplateView):
    permission = (VIEW, Student)

    template_name = "aid/dashboard.html"

    def get(self, request, *args, **kwargs):
        if request.user.role == Role.TEACHER:
            return redirect("aid:my_students")  # a teacher starts from their students
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        board = dashboard_for(user)
        context["board"] = board
        context["charts"] = charts_for(board, user)
        context["in_school_statuses"] = ",".join(IN_SCHOOL_STATUSES)
        context["today"] = timezone.localdate()
        if services.may_pair(user):
            context["casework"] = casework_summary(user)
        return context


class SummaryExportView(StaffViewMixin, View):
    """The county summary: one sheet per topic of the dashboard."""

    permission = (EXPORT, Student)

    def get(self, request):
        board = dashboard_for(request.user)
        workbook = county_summary_workbook(board, scope=str(request.user.scope_label), today=timezone.localdate())
        return xlsx_response(workbook, f"资助工作汇总_{request.user.scope_label}_{timezone.localdate():%Y%m%d}.xlsx")
