"""Pictures are served only here, to users who see the record they belong to, and never
kept by a browser cache or a proxy; and the upload of a school's signed roster."""
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect
from django.utils.cache import patch_cache_control
from django.utils.translation import ngettext
from django.views import View

from aid.subsidies.models import DisbursementBatch, DisbursementLine
from students.models import School
from students.permissions import CHANGE, VIEW
from students.views.base import StaffViewMixin

from . import services
from .forms import SignedRosterForm
from .models import Attachment


class AttachmentView(StaffViewMixin, View):
    """The picture (or with `thumbnail` its thumbnail); 404 outside the user's scope."""

    permission = (VIEW, Attachment)
    thumbnail = False

    def get(self, request, pk):
        attachment = get_object_or_404(Attachment.objects.visible_to(request.user), pk=pk)
        stored = attachment.thumbnail if self.thumbnail else attachment.image
        try:
            file = stored.open("rb")
        except FileNotFoundError as error:
            raise Http404 from error
        response = FileResponse(file, content_type="image/jpeg")
        response["Content-Disposition"] = "inline"
        patch_cache_control(response, private=True, no_store=True, max_age=0)
        return response


class SignedRosterUploadView(StaffViewMixin, View):
    """Scanned pages of a school's signed roster, from the batch page's school table."""

    permission = (CHANGE, DisbursementLine)

    def post(self, request, pk):
        batch = get_object_or_404(DisbursementBatch.objects.visible_to(request.user), pk=pk)
        form = SignedRosterForm(request.POST, request.FILES)
        if not form.is_valid():
            for error in form.errors.get("pictures", form.errors.get("school", [])):
                messages.error(request, error)
            return redirect(f"{batch.get_absolute_url()}#school-table")
        school = get_object_or_404(School.objects.visible_to(request.user), pk=form.cleaned_data["school"])
        try:
            added = services.signed_roster_add(
                actor=request.user, batch=batch, school=school, pictures=form.cleaned_data["pictures"]
            )
        except PermissionDenied as error:
            raise Http404 from error
        messages.success(
            request,
            ngettext(
                "%(count)d page of the signed roster of %(school)s is kept.",
                "%(count)d pages of the signed roster of %(school)s are kept.",
                len(added),
            )
            % {"count": len(added), "school": school.name},
        )
        return redirect(f"{batch.get_absolute_url()}#school-{school.pk}")
