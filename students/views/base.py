"""The base of every page: login required, read-only roles kept out of writing views."""
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied


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
