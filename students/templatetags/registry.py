"""Template helpers: masking by role and sortable, filter-preserving links."""
from django import template
from django.utils.html import format_html_join
from django.utils.translation import gettext as _

from common import masking

register = template.Library()


@register.filter
def id_number_for(number, user):
    """The ID number as this user may see it."""
    return masking.id_number_for(user, number)


@register.filter
def student_number_for(number, user):
    """The student number as this user may see it (masked like the ID number)."""
    return masking.student_number_for(user, number)


@register.filter
def birth_date_for(date, user):
    """The birth date as this user may see it: 2012-05-03, or only 2012."""
    shown = masking.birth_date_for(user, date)
    return shown.isoformat() if hasattr(shown, "isoformat") else shown


@register.filter
def label(value, labels):
    """A stored choice value's label from a {value: label} dict (see choice_labels)."""
    return labels.get(value, value)


@register.filter
def phone_for(phone, user):
    return masking.phone_for(user, phone)


@register.simple_tag(takes_context=True)
def sort_url(context, field):
    """The current list's URL sorted by `field`, toggling the direction on a second click."""
    query = context["request"].GET.copy()
    current = query.get("o", "")
    query["o"] = f"-{field}" if current == field else field
    query.pop("page", None)
    return f"?{query.urlencode()}"


@register.simple_tag(takes_context=True)
def sort_indicator(context, field):
    current = context["request"].GET.get("o", "")
    if current == field:
        return "▲"
    if current == f"-{field}":
        return "▼"
    return ""


@register.simple_tag(takes_context=True)
def page_url(context, number):
    query = context["request"].GET.copy()
    query["page"] = number
    return f"?{query.urlencode()}"


@register.filter
def yes_no(value):
    return _("Yes") if value else _("No")


@register.simple_tag(takes_context=True)
def query_inputs(context, *left_out):
    """Hidden inputs carrying the current query string but `left_out`, so that a small GET
    form (the page jump) keeps the list's filter and order."""
    query = context["request"].GET
    return format_html_join(
        "", '<input type="hidden" name="{}" value="{}">',
        ((name, value) for name, values in query.lists() if name not in left_out for value in values),
    )
