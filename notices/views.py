"""The user's notifications: the list, and opening one (marks it read, then goes to its page)."""
from django.shortcuts import get_object_or_404, redirect
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views import View
from django.views.generic import ListView

from students.permissions import VIEW
from students.views.base import StaffViewMixin

from .models import Notification


class OwnNotificationMixin(StaffViewMixin):
    permission = (VIEW, Notification)

    def get_queryset(self):
        return Notification.objects.visible_to(self.request.user)


class NotificationListView(OwnNotificationMixin, ListView):
    template_name = "notices/notification_list.html"
    context_object_name = "notifications"
    paginate_by = 50


class NotificationOpenView(OwnNotificationMixin, View):
    """Following a notification marks it read and takes the user to the page it names."""

    def get(self, request, pk):
        notification = get_object_or_404(self.get_queryset(), pk=pk)
        if notification.read_at is None:
            Notification.objects.filter(pk=notification.pk).update(read_at=timezone.now())
        if url_has_allowed_host_and_scheme(notification.link, allowed_hosts=None):
            return redirect(notification.link)
        return redirect("notices:list")
