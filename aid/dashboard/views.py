"""The home page of each role: its dashboard, with charts, figures and the county summary."""
from django.shortcuts import redirect
from django.utils import timezone
from django.views import View
from django.utils.translation import gettext
from django.views.generic import TemplateView

from aid.casework import services
from aid.dashboard.charts import charts_for
from aid.dashboard.exports import county_summary_workbook
from aid.dashboard.selectors import casework_summary, dashboard_for
from aid.dashboard.worklists import worklists_for
from jobs import services as jobs
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
            context["casework"] = casework_summary(user, board)
        context["worklists"] = worklists_for(
            user, open_findings={m.program_id: m.open_findings for m in board.money}
        )
        return context


class SummaryExportView(StaffViewMixin, View):
    """The county summary: one sheet per topic of the dashboard."""

    permission = (EXPORT, Student)

    def get(self, request):
        """A city's summary counts every student of its counties: the worker makes it."""
        job = jobs.start_in_background(
            request=request, title=gettext("County summary"),
            file_name=f"资助工作汇总_{request.user.scope_label}_{timezone.localdate():%Y%m%d}.xlsx",
        )
        return redirect(job)

    def write_background_file(self, file, on_progress):
        user = self.request.user
        workbook = county_summary_workbook(
            dashboard_for(user), scope=str(user.scope_label), today=timezone.localdate()
        )
        workbook.save(file)
        return None  # figures, not rows of names

    def log_this_export(self, row_count):
        """Aggregates only: nothing personal to log."""
