"""Who may do what: one table of kind of record × action × role, and nothing is allowed that
it does not grant.

The table answers the role's half of every question; the record's half (is it in the
user's scope, is the teacher paired with this student, is the grid the user's) stays with
`visible_to(user)` and the domain services, which ask this table first. Views name their
(action, kind) in `permission` (students/views/base.py); the navigation and the buttons
ask the same views, so nobody is shown a link that would answer 403.
"""
from .choices import Role

VIEW = "view"
ADD = "add"
CHANGE = "change"
APPROVE = "approve"
EXPORT = "export"
IMPORT = "import"

BUREAU = Role.BUREAU_ADMIN
VIEWER = Role.VIEWER
GRID = Role.GRID_LEADER
SCHOOL = Role.SCHOOL_ADMIN
TEACHER = Role.TEACHER

EVERYONE = frozenset(Role)
EDITORS = frozenset({BUREAU, SCHOOL})  # keep the registry and its casework
SUBSIDY_READERS = frozenset({BUREAU, VIEWER, SCHOOL})
SUPERVISION_READERS = frozenset({BUREAU, VIEWER, GRID, SCHOOL})
BUREAU_ONLY = frozenset({BUREAU})

# Non-model kinds: pages that report across several models.
LEDGERS = "aid.ledger"  # the three dropout-control ledgers
OWN_ACCOUNT = "accounts.own"  # the user's own password and two-factor login

TABLE = {
    # The registry
    "students.student": {VIEW: EVERYONE, ADD: EDITORS, CHANGE: EDITORS, EXPORT: EVERYONE},
    "students.school": {VIEW: EVERYONE, EXPORT: EVERYONE},
    "students.household": {VIEW: EVERYONE},
    "students.rosterimport": {VIEW: EDITORS, IMPORT: EDITORS, CHANGE: EDITORS},
    "students.exportlog": {VIEW: BUREAU_ONLY, EXPORT: BUREAU_ONLY},
    "accounts.loginevent": {VIEW: BUREAU_ONLY},
    OWN_ACCOUNT: {CHANGE: EVERYONE},
    "students.user": {VIEW: EDITORS, ADD: EDITORS, IMPORT: EDITORS, EXPORT: EDITORS},  # teachers
    # Reference lists: a county's bureau edits its own (aid.reference: editable_by); the
    # shared ones only superusers (IT staff)
    "aid.aidprogram": {VIEW: BUREAU_ONLY, ADD: BUREAU_ONLY, CHANGE: BUREAU_ONLY},
    "aid.deliveryitem": {VIEW: BUREAU_ONLY, ADD: BUREAU_ONLY, CHANGE: BUREAU_ONLY},
    "aid.checklistitem": {VIEW: BUREAU_ONLY, ADD: BUREAU_ONLY, CHANGE: BUREAU_ONLY},
    # Casework
    "aid.pairing": {VIEW: EDITORS, ADD: EDITORS, CHANGE: EDITORS, EXPORT: EDITORS},
    "aid.homevisit": {VIEW: EVERYONE, ADD: EDITORS | {TEACHER}, CHANGE: EDITORS | {TEACHER}, EXPORT: EVERYONE},
    "aid.schoolpairing": {VIEW: EVERYONE, ADD: BUREAU_ONLY, EXPORT: EVERYONE},
    "aid.exchangeactivity": {ADD: EDITORS},
    # Photos and signed rosters: seen by whoever sees their record (Attachment.visible_to);
    # added through the record's own form, with the record's permission.
    "aid.attachment": {VIEW: EVERYONE},
    # Subsidies
    "aid.disbursementbatch": {
        VIEW: SUBSIDY_READERS, ADD: BUREAU_ONLY, CHANGE: BUREAU_ONLY, APPROVE: BUREAU_ONLY, EXPORT: SUBSIDY_READERS,
    },
    "aid.disbursementline": {ADD: EDITORS, CHANGE: EDITORS},
    "aid.precisionresolution": {VIEW: SUBSIDY_READERS, ADD: EDITORS, EXPORT: SUBSIDY_READERS},
    # Dropout control
    "aid.dropoutcase": {VIEW: EVERYONE, ADD: EDITORS, CHANGE: EDITORS, EXPORT: EVERYONE},
    "aid.persuasionattempt": {ADD: EVERYONE - {VIEWER}},
    LEDGERS: {VIEW: SUPERVISION_READERS, EXPORT: SUPERVISION_READERS},
    # Background work: each user's own downloads (visible_to keeps them to their owner)
    "jobs.job": {VIEW: EVERYONE},
    # Each user's own notifications (visible_to keeps them to their recipient)
    "notices.notification": {VIEW: EVERYONE},
    # Supervision
    "aid.gridgroup": {VIEW: SUPERVISION_READERS, ADD: BUREAU_ONLY, CHANGE: BUREAU_ONLY, EXPORT: SUPERVISION_READERS},
    "aid.inspection": {VIEW: SUPERVISION_READERS, ADD: frozenset({BUREAU, GRID}), EXPORT: SUPERVISION_READERS},
    "aid.rectification": {
        VIEW: SUPERVISION_READERS, CHANGE: frozenset({BUREAU, GRID, SCHOOL}), EXPORT: SUPERVISION_READERS,
    },
    "aid.schoolproject": {
        VIEW: SUPERVISION_READERS, ADD: BUREAU_ONLY, CHANGE: BUREAU_ONLY, EXPORT: SUPERVISION_READERS,
    },
}


def kind_label(kind):
    """'aid.homevisit' for the HomeVisit model or for that text."""
    return kind if isinstance(kind, str) else kind._meta.label_lower


def roles_for(action, kind):
    return TABLE.get(kind_label(kind), {}).get(action, frozenset())


def may(user, action, kind):
    """Whether the user's role may take `action` on records of `kind` (a model or a label).
    Superusers (IT staff) may do everything; inactive and anonymous users nothing."""
    if not (user.is_authenticated and user.is_active):
        return False
    return user.is_superuser or user.role in roles_for(action, kind)
