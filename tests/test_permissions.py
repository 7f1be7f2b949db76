"""One permission table, deny by default: every page names its permission, and nobody is
shown a link that answers 403 or 404."""
import io
import re
from html.parser import HTMLParser

import pytest
from django.core.management import call_command
from django.test import RequestFactory
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.views.generic import TemplateView

from students import permissions
from students.choices import Role
from students.models import User
from students.views.base import StaffViewMixin

from .factories import BureauAdminFactory

# Pages anyone may open: signing in and out, the language switch, the health check.
PUBLIC_PAGES = {"login", "logout", "set_language", "healthz"}


def named_patterns(patterns=None, namespace=""):
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(pattern, URLResolver):
            if pattern.namespace == "admin":
                continue  # Django's admin site checks its own model permissions
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from named_patterns(pattern.url_patterns, inner)
        elif isinstance(pattern, URLPattern):
            yield namespace + (pattern.name or str(pattern.pattern)), pattern


def test_every_url_is_served_by_a_view_that_names_its_permission():
    unguarded = []
    for name, pattern in named_patterns():
        if name in PUBLIC_PAGES:
            continue
        view = getattr(pattern.callback, "view_class", None)
        if not (view and issubclass(view, StaffViewMixin) and view.permission):
            unguarded.append(name)
            continue
        action, kind = view.permission
        assert permissions.roles_for(action, kind), f"{name}: no role may {action} {kind}"
    assert unguarded == []


@pytest.mark.django_db
def test_a_view_that_names_no_permission_is_refused_even_to_a_superuser():
    class Forgotten(StaffViewMixin, TemplateView):
        template_name = "base.html"

    request = RequestFactory().get("/")
    request.user = BureauAdminFactory(is_superuser=True)
    with pytest.raises(permissions_denied()):
        Forgotten.as_view()(request)


def permissions_denied():
    from django.core.exceptions import PermissionDenied

    return PermissionDenied


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("role", "action", "kind", "allowed"),
    [
        (Role.BUREAU_ADMIN, permissions.APPROVE, "aid.disbursementbatch", True),
        (Role.SCHOOL_ADMIN, permissions.APPROVE, "aid.disbursementbatch", False),
        (Role.GRID_LEADER, permissions.VIEW, "aid.disbursementbatch", False),
        (Role.VIEWER, permissions.CHANGE, "students.student", False),
        (Role.TEACHER, permissions.ADD, "aid.homevisit", True),
        (Role.TEACHER, permissions.VIEW, "aid.gridgroup", False),
        (Role.VIEWER, permissions.ADD, "aid.persuasionattempt", False),
        (Role.TEACHER, "delete", "students.student", False),  # an action nobody was granted
    ],
)
def test_the_table_grants_only_what_it_says(role, action, kind, allowed):
    user = User(username="x", role=role)
    assert permissions.may(user, action, kind) is allowed
    user.is_active = False
    assert permissions.may(user, action, kind) is False


class Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.hrefs = []

    def handle_starttag(self, tag, attrs):
        href = dict(attrs).get("href")
        if tag == "a" and href and href.startswith("/") and not href.startswith("/static/"):
            self.hrefs.append(href.split("#")[0])


def links_on(response):
    if not response.get("Content-Type", "").startswith("text/html"):
        return set()  # a download
    parser = Links()
    parser.feed(response.content.decode())
    return set(parser.hrefs)


NAV = re.compile(r'<nav class="mainnav">.*?</nav>', re.S)


def one_link_per_page(hrefs):
    """The first link to each named page (a list links many records of the same page)."""
    chosen = {}
    for href in sorted(hrefs):
        if href.startswith("/admin/"):
            continue  # Django's admin site checks its own permissions
        match = resolve(href.split("?")[0])
        chosen.setdefault(match.view_name, href)
    return chosen.values()


@pytest.mark.django_db
def test_no_demo_user_is_shown_a_link_that_refuses_them(client):
    """Each demo login's home page, its menu, and every page the menu leads to: no link
    on any of them answers 403 or 404."""
    output = io.StringIO()
    call_command("seed_demo", students=150, seed=2, stdout=output)
    usernames = {line.split(" ")[0] for line in output.getvalue().splitlines()}
    users = list(User.objects.filter(username__in=usernames))
    assert {"bureau", "city", "school1", "teacher", "grid"} <= {user.username for user in users}
    for user in users:
        client.force_login(user)
        home = client.get("/", follow=True)
        menu = NAV.search(home.content.decode())
        assert home.status_code == 200 and menu, user.username
        checked = set()
        for page in one_link_per_page(links_on(home)):
            response = client.get(page)
            assert response.status_code not in (403, 404), f"{user} is shown {page}: {response.status_code}"
            for href in one_link_per_page(links_on(response)):
                if href not in checked:
                    checked.add(href)
                    status = client.get(href).status_code
                    assert status not in (403, 404), f"{user} is shown {href} on {page}: {status}"
        client.logout()
