"""Every URL that names a record, opened by every demo login with a record outside its
scope: the answer is 403 or 404, never the record. The records are found, not listed: for
each login and each model, one that the model's own `visible_to` keeps from it."""
import io

import pytest
from django.apps import apps
from django.core.management import call_command
from django.urls import reverse

from aid.casework.models import HomeVisit
from aid.evidence.models import Attachment
from aid.reference.models import AidProgram, ChecklistItem, DeliveryItem
from jobs.models import Job
from notices.models import Notification
from students.models import RosterImport, SnapshotAbsence, Student, User

from .test_permissions import named_patterns

pytestmark = pytest.mark.django_db

# The model a URL's keyword names, where it is not the model of the view's permission.
MODEL_OF_KEYWORD = {"student_pk": "students.student", "absence_pk": "students.snapshotabsence"}
# Models whose records are scoped through another's.
SCOPED_THROUGH = {SnapshotAbsence: ("roster_import", RosterImport)}
MODEL_OF_PK = {
    "aid:activity_create": "aid.schoolpairing",
    "aid:batch_confirm": "aid.disbursementbatch",
    "aid:line_add": "aid.disbursementbatch",
    "aid:case_attempt": "aid.dropoutcase",
    "students:snapshot_absence_check": "students.rosterimport",
}


def patterns_with_records():
    for name, pattern in named_patterns():
        keywords = list(pattern.pattern.converters)
        if keywords:
            yield name, pattern.callback.view_class, keywords


def model_of(name, view, keyword):
    if keyword in MODEL_OF_KEYWORD:
        label = MODEL_OF_KEYWORD[keyword]
    elif keyword == "pk":
        kind = view.permission[1]
        label = MODEL_OF_PK.get(name) or (kind if isinstance(kind, str) else kind._meta.label_lower)
    else:
        raise AssertionError(f"{name}: say which model its keyword {keyword!r} names (MODEL_OF_KEYWORD)")
    return apps.get_model(label)


def outside_scope(model, user):
    """A record of `model` that `visible_to(user)` does not give, or None."""
    if model in SCOPED_THROUGH:
        field, owner = SCOPED_THROUGH[model]
        outside = model.objects.exclude(**{f"{field}__in": owner.objects.visible_to(user)})
    else:
        outside = model.objects.exclude(pk__in=model.objects.visible_to(user).values("pk"))
    return outside.order_by("pk").values_list("pk", flat=True).first()


@pytest.fixture
def demo_logins():
    output = io.StringIO()
    call_command("seed_demo", students=150, seed=2, stdout=output)
    usernames = {line.split(" ")[0] for line in output.getvalue().splitlines()}
    users = list(User.objects.filter(username__in=usernames, is_superuser=False).order_by("username"))
    zichuan, lanling = User.objects.get(username="zichuan"), User.objects.get(username="bureau")
    # Records the demo does not make: a county's own reference lists (the demo's are shared),
    # a roster import, a download and a notification of each county's bureau, a visit's photo.
    for model, label in ((AidProgram, "name"), (DeliveryItem, "name"), (ChecklistItem, "text")):
        entry = model.objects.first()
        entry.pk, entry.region = None, zichuan.region
        setattr(entry, label, f"{getattr(entry, label)}（淄川）")
        entry.save()
    for owner in (zichuan, lanling):
        roster_import = RosterImport.objects.create(uploaded_by=owner, file_name="花名册.xlsx", checksum="0" * 64,
                                                    content=b"", rows_read="")
        SnapshotAbsence.objects.create(roster_import=roster_import, student=Student.objects.first())
        Job.objects.create(owner=owner, title="学生名单", path="/students/export/", language="zh-hans",
                           file_name="学生.xlsx", expires_at="2099-01-01T00:00:00Z")
        Notification.objects.create(recipient=owner, kind=Notification.Kind.choices[0][0], text="提醒",
                                    link="/", subject="scope-walk")
    Attachment.objects.create(kind=Attachment.Kind.VISIT_PHOTO, visit=HomeVisit.objects.first(), image="evidence/a.jpg",
                              thumbnail="evidence/a-small.jpg", width=1, height=1, uploaded_by=lanling)
    return users


def test_no_login_opens_a_record_outside_its_scope(client, demo_logins):
    tried, leaks = set(), []
    for user in demo_logins:
        client.force_login(user)
        for name, view, keywords in patterns_with_records():
            kwargs = {keyword: outside_scope(model_of(name, view, keyword), user) for keyword in keywords}
            if None in kwargs.values():
                continue  # this login sees every record of that model
            url = reverse(name, kwargs=kwargs)
            for method in ("get", "post"):
                if not hasattr(view, method) or method not in view.http_method_names:
                    continue
                status = getattr(client, method)(url).status_code
                tried.add(name)
                if status not in (403, 404):
                    leaks.append(f"{user.username} {method.upper()} {url} ({name}): {status}")
        client.logout()
    assert not leaks, "\n".join(leaks)
    every_pattern = {name for name, _view, _keywords in patterns_with_records()}
    assert tried == every_pattern, f"never tried with a record outside a scope: {every_pattern - tried}"
