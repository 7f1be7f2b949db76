"""The main menu. Every entry is a URL name; an entry is shown only when the user's role may
open the page it names (the view's `permission` in students/permissions.py), and a group
only when one of its entries is shown. Teachers, on a phone, get a short flat menu."""
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from students.choices import Role
from students.templatetags.permissions import may_open

TEACHER_MENU = [
    (None, [("aid:my_students", _("My students")), ("aid:visit_list", _("Home visits")),
            ("aid:case_list", _("Dropout cases")), ("jobs:job_list", _("My downloads"))]),
]
STAFF_MENU = [
    (None, [("home", _("Home"))]),
    (_("Registry"), [
        ("students:student_list", _("Students")),
        ("students:school_list", _("Schools")),
        ("students:distribution", _("Distribution table")),
        ("students:roster_import", _("Import a roster")),
    ]),
    (_("Casework"), [
        ("aid:unpaired", _("Unpaired students")),
        ("aid:teacher_list", _("Teachers")),
        ("aid:visit_list", _("Home visits")),
        ("aid:coverage", _("Home-visit coverage")),
        ("aid:school_pairing_list", _("School pairings")),
    ]),
    (_("Subsidies"), [
        ("aid:batch_list", _("Disbursement batches")),
        ("aid:precision", _("Precision checks")),
    ]),
    (_("Dropout control"), [
        ("aid:case_list", _("Dropout cases")),
        ("aid:ledger", _("Ledgers")),
    ]),
    (_("Supervision"), [
        ("aid:grid_list", _("Grid groups")),
        ("aid:inspection_list", _("Inspections")),
        ("aid:rectification_list", _("Rectification items")),
        ("aid:project_list", _("School projects")),
    ]),
    (_("Reference lists"), [
        ("aid:program_list", _("Aid programs")),
        ("aid:delivery_item_list", _("Delivery items")),
        ("aid:checklist_item_list", _("Inspection checklist")),
    ]),
    (None, [("jobs:job_list", _("My downloads")), ("students:export_log", _("Export log")),
            ("accounts:login_log", _("Login log"))]),
]


def menu_for(user):
    """[(group label or None, [(url, label), ...]), ...] of what the user may open."""
    menu = TEACHER_MENU if user.role == Role.TEACHER else STAFF_MENU
    shown = []
    for group, entries in menu:
        links = [(reverse(name), label) for name, label in entries if may_open(user, name)]
        if links:
            shown.append((group, links))
    return shown


def navigation(request):
    """Context processor: `menu` for the page's header."""
    if not request.user.is_authenticated:
        return {}
    return {"menu": menu_for(request.user)}
