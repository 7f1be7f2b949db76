from django.utils.functional import SimpleLazyObject

from .models import Notification


def unread_notifications(request):
    """`unread_notifications` for the bell in the page's header. The request's user usually
    carries it (notices.backends); otherwise it is counted when the page shows it."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    if hasattr(user, "unread_notifications"):
        return {"unread_notifications": user.unread_notifications}
    return {"unread_notifications": SimpleLazyObject(lambda: Notification.objects.visible_to(user).unread().count())}
