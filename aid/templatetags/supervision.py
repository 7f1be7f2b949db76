"""Badges of the supervision pages: a rectification item's status, and "逾期 N 天" in red
wherever an item past its deadline appears."""
from django import template
from django.utils.html import format_html
from django.utils.translation import ngettext

from aid.supervision import services as supervision
from aid.supervision.models import Rectification

register = template.Library()

STATUS_CLASSES = {
    Rectification.Status.OPEN: "warn",
    Rectification.Status.REPORTED: "",
    Rectification.Status.CLOSED: "ok",
    Rectification.Status.REOPENED: "bad",
}


@register.filter
def overdue_badge(rectification):
    """A red badge with the days past the deadline; nothing when the item is not overdue."""
    days = supervision.days_overdue(rectification)
    if not days:
        return ""
    text = ngettext("Overdue %(days)s day", "Overdue %(days)s days", days) % {"days": days}
    return format_html('<span class="badge bad overdue" data-days="{}">{}</span>', days, text)


@register.filter
def status_badge(rectification):
    return format_html(
        '<span class="badge {} status-{}">{}</span>',
        STATUS_CLASSES.get(rectification.status, ""),
        rectification.status,
        rectification.get_status_display(),
    )
