"""Django's model backend, loading the user of each request with their unread count.

The bell in every page's header shows the count. Counting it in the query that already
loads the request's user (a subquery on an indexed column) keeps every page's number of
queries as it was.
"""
from django.contrib.auth.backends import ModelBackend, UserModel
from django.db.models import Count, IntegerField, OuterRef, Subquery
from django.db.models.functions import Coalesce

from .models import Notification


def unread_count():
    unread = (
        Notification.objects.unread()
        .filter(recipient_id=OuterRef("pk"))
        .order_by()
        .values("recipient_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(unread, output_field=IntegerField()), 0)


class ModelBackendWithUnreadCount(ModelBackend):
    def get_user(self, user_id):
        user = UserModel._default_manager.annotate(unread_notifications=unread_count()).filter(pk=user_id).first()
        return user if user is not None and self.user_can_authenticate(user) else None
