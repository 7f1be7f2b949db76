"""A piece of long work a user started (an export of a large list, the county summary, the
apply or revert of a large roster import), run by the background worker; the file it made,
or the record it worked on, waits for its owner on "my downloads"."""
from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class JobQuerySet(models.QuerySet):
    def visible_to(self, user):
        """Only its owner sees a job and its file."""
        if not user.is_authenticated or not user.is_active:
            return self.none()
        return self.filter(owner=user)

    def kept(self, now=None):
        return self.filter(expires_at__gt=now or timezone.now())


class Job(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", _("Waiting for the worker")
        RUNNING = "running", _("Running")
        DONE = "done", _("Ready")
        FAILED = "failed", _("Failed")

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="jobs")
    title = models.CharField(_("title"), max_length=120)
    # What to run: the worker's function registered for `kind` (jobs.services.runs). An
    # export runs the list page (its URL path and query) as that page would; other kinds
    # work on the record `target_id` and lead to `result_url` when done.
    kind = models.CharField(max_length=30, default="export")
    path = models.CharField(max_length=300, blank=True)
    query = models.TextField(blank=True)
    target_id = models.PositiveBigIntegerField(null=True, blank=True)
    result_url = models.CharField(max_length=300, blank=True)
    language = models.CharField(max_length=10)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.QUEUED)
    rows_done = models.PositiveIntegerField(default=0)
    rows_total = models.PositiveIntegerField(null=True, blank=True)
    stage = models.CharField(_("stage"), max_length=80, blank=True)  # what it is doing now
    file = models.FileField(upload_to="downloads/%Y/%m/", blank=True)
    file_name = models.CharField(_("file name"), max_length=200, blank=True)
    error = models.TextField(_("why it failed"), blank=True)
    created_at = models.DateTimeField(_("started at"), default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    expires_at = models.DateTimeField(_("kept until"))

    objects = JobQuerySet.as_manager()

    class Meta:
        verbose_name = _("background job")
        verbose_name_plural = _("background jobs")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["owner", "-created_at"]), models.Index(fields=["expires_at"])]

    def __str__(self):
        return self.title

    def get_absolute_url(self):
        return reverse("jobs:job_detail", args=[self.pk])

    @property
    def percent(self):
        if self.status == self.Status.DONE:
            return 100
        if not self.rows_total:
            return 0
        return min(99, 100 * self.rows_done // self.rows_total)

    @property
    def seconds_left(self):
        """From the pace so far; None until there is one."""
        if self.status != self.Status.RUNNING or not self.rows_done or not self.rows_total or not self.started_at:
            return None
        elapsed = (timezone.now() - self.started_at).total_seconds()
        return max(0, round(elapsed / self.rows_done * (self.rows_total - self.rows_done)))
