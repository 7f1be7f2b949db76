"""Bulk actions on the precision page: several findings resolved with one note, and the
students eligible but not included added to a draft batch; both within the user's scope."""
from decimal import Decimal

import pytest
from django.urls import reverse

from aid.subsidies.models import DisbursementLine, PrecisionResolution
from tests.aid.subsidies.test_views import (  # noqa: F401
    batch,
    fresh,
    login,
    make_student,
    people,
    precision_url,
    program,
    students,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def missed(county, batch):  # noqa: F811
    """Three students of the first school and one of the second, eligible and left out."""
    return [make_student(county["primary"], name=f"漏发{n}") for n in range(3)] + [
        make_student(county["junior"], stage="junior", grade="J1", name="漏发初中")
    ]


def bulk(client, program, term, action, students, note="区教体局已核实", **extra):  # noqa: F811
    return client.post(
        precision_url(program, term, "aid:findings_bulk"),
        {"program": program.pk, "term": term.pk, "kind": "missed", "action": action,
         "students": [student.pk for student in students], "note": note, **extra},
    )


def test_the_page_offers_a_checkbox_per_finding_and_the_draft_batch(client, county, program, people, missed, batch):  # noqa: F811
    page = login(client, people["preparer"]).get(precision_url(program, county["term"])).content.decode()
    for student in missed:
        assert f'name="students" value="{student.pk}" form="bulk-missed"' in page
    assert f'<option value="{batch.pk}">' in page
    assert 'value="add_to_batch"' in page


def test_ticked_findings_are_resolved_with_one_note(client, county, program, people, missed):  # noqa: F811
    client = login(client, people["preparer"])
    response = bulk(client, program, county["term"], "resolve", missed[:2], note="已转学，由新学校发放")
    assert response.status_code == 302
    resolved = PrecisionResolution.objects.order_by("student__name")
    assert [(r.student, r.note, r.resolved_by) for r in resolved] == [
        (student, "已转学，由新学校发放", people["preparer"]) for student in sorted(missed[:2], key=lambda s: s.name)
    ]
    page = client.get(precision_url(program, county["term"]))
    missed_section = next(s for s in page.context["sections"] if s["kind"] == "missed")
    assert {f.student for f in missed_section["findings"]} == set(missed[2:])


def test_resolving_without_a_note_or_a_tick_is_refused_and_keeps_the_page(client, county, program, people, missed):  # noqa: F811
    client = login(client, people["preparer"])
    assert bulk(client, program, county["term"], "resolve", missed, note=" ").status_code == 400
    assert bulk(client, program, county["term"], "resolve", []).status_code == 400
    assert not PrecisionResolution.objects.exists()


def test_ticked_missed_students_are_added_to_the_draft_batch(client, county, program, people, missed, batch):  # noqa: F811
    client = login(client, people["preparer"])
    before = DisbursementLine.objects.filter(batch=batch).count()
    response = bulk(client, program, county["term"], "add_to_batch", missed, note="精准比对漏发，补录", batch=batch.pk)
    assert response.status_code == 302
    added = DisbursementLine.objects.filter(batch=batch, student__in=missed)
    assert added.count() == 4 and DisbursementLine.objects.filter(batch=batch).count() == before + 4
    assert {line.amount for line in added} == {Decimal("500.00"), Decimal("625.00")}
    assert {line.added_reason for line in added} == {"精准比对漏发，补录"}
    page = client.get(precision_url(program, county["term"]))
    assert next(s for s in page.context["sections"] if s["kind"] == "missed")["count"] == 0


def test_a_school_adds_only_its_own_students(client, county, program, people, missed, batch):  # noqa: F811
    """The junior school's student is not the primary school's to tick: nothing is added."""
    client = login(client, people["first_admin"])
    response = bulk(client, program, county["term"], "add_to_batch", missed, batch=batch.pk)
    assert response.status_code == 400
    assert "nothing was changed" in response.content.decode() or "未作任何更改" in response.content.decode()
    assert not DisbursementLine.objects.filter(student__in=missed).exists()
    assert bulk(client, program, county["term"], "add_to_batch", missed[:3], batch=batch.pk).status_code == 302
    assert DisbursementLine.objects.filter(batch=batch, student__in=missed[:3]).count() == 3


def test_another_countys_admin_cannot_touch_these_findings(client, county, program, people, missed, batch):  # noqa: F811
    client = login(client, people["other_admin"])
    assert bulk(client, program, county["term"], "resolve", missed).status_code == 400
    assert bulk(client, program, county["term"], "add_to_batch", missed, batch=batch.pk).status_code == 400
    assert not PrecisionResolution.objects.exists()
    assert not DisbursementLine.objects.filter(student__in=missed).exists()
    assert login(client, people["viewer"]).post(reverse("aid:findings_bulk"), {}).status_code == 403


def test_a_batch_no_longer_draft_takes_no_students(client, county, program, people, missed, batch):  # noqa: F811
    type(batch).objects.filter(pk=batch.pk).update(state="submitted")
    client = login(client, people["preparer"])
    response = bulk(client, program, county["term"], "add_to_batch", missed, batch=fresh(batch).pk)
    assert response.status_code == 400
    assert not DisbursementLine.objects.filter(student__in=missed).exists()
