"""My downloads: the user's background jobs, a job's progress (the page asks for it every
second, without a reload) and its file. A job belongs to its owner alone (404 for others)."""
import django_filters
from django.http import FileResponse, JsonResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.views import View
from django.views.generic import DetailView
from django_filters.views import FilterView

from common.excel import XLSX_CONTENT_TYPE
from students.permissions import VIEW
from students.views.base import StaffViewMixin

from . import services
from .models import Job


class JobFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(label=_("Status"), choices=Job.Status.choices)

    class Meta:
        model = Job
        fields = ["status"]


class OwnJobMixin(StaffViewMixin):
    permission = (VIEW, Job)

    def get_queryset(self):
        return Job.objects.visible_to(self.request.user).kept()


class JobListView(OwnJobMixin, FilterView):
    filterset_class = JobFilter
    template_name = "jobs/job_list.html"
    context_object_name = "jobs"
    paginate_by = 50

    def get_context_data(self, **kwargs):
        return super().get_context_data(kept_days=services.kept_days(), **kwargs)


class JobDetailView(OwnJobMixin, DetailView):
    template_name = "jobs/job_detail.html"
    context_object_name = "job"


class JobStatusView(OwnJobMixin, View):
    def get(self, request, pk):
        job = get_object_or_404(self.get_queryset(), pk=pk)
        return JsonResponse(job_state(job))


def job_state(job):
    return {
        "status": job.status,
        "status_label": str(job.get_status_display()),
        "rows_done": job.rows_done,
        "rows_total": job.rows_total,
        "percent": job.percent,
        "seconds_left": job.seconds_left,
        "stage": job.stage,
        "error": job.error,
        "download_url": reverse("jobs:job_file", args=[job.pk]) if job.status == Job.Status.DONE and job.file else None,
        "result_url": job.result_url or None,
    }


class JobFileView(OwnJobMixin, View):
    def get(self, request, pk):
        job = get_object_or_404(self.get_queryset().filter(status=Job.Status.DONE).exclude(file=""), pk=pk)
        return FileResponse(job.file.open("rb"), as_attachment=True, filename=job.file_name,
                            content_type=XLSX_CONTENT_TYPE)
