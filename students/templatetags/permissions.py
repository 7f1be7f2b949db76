"""{% if user|may_open:"aid:batch_create" %}: whether the user's role may open the page that
URL name serves, asked of the view itself (its `permission` in the one table), so the
navigation and the buttons never offer a page that answers 403."""
from functools import cache

from django import template
from django.urls import URLPattern, URLResolver, get_resolver

register = template.Library()


@cache
def views_by_url_name():
    """{"aid:batch_create": BatchCreateView, ...} for every named URL pattern."""
    found = {}

    def walk(patterns, namespace):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
                walk(pattern.url_patterns, inner)
            elif isinstance(pattern, URLPattern) and pattern.name:
                found.setdefault(namespace + pattern.name, getattr(pattern.callback, "view_class", None))

    walk(get_resolver().url_patterns, "")
    return found


@register.filter
def may_open(user, url_name):
    view = views_by_url_name().get(url_name)
    if view is None:
        raise template.TemplateSyntaxError(f"No page is named {url_name!r}.")
    return hasattr(view, "allows") and view.allows(user)
