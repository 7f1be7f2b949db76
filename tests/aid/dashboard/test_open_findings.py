"""The home page's open precision findings are the precision pages' open findings, also for
a program of which the user sees no lines."""
from decimal import Decimal

import pytest
from django.urls import reverse

from aid.reference.models import ProgramStandard
from aid.subsidies import services as d
from aid.subsidies.models import DisbursementBatch
from tests.factories import AidProgramFactory, BureauAdminFactory, SchoolAdminFactory, StudentFactory

pytestmark = pytest.mark.django_db


def test_a_school_that_removed_all_its_lines_still_sees_its_findings(client_for, county):
    program = AidProgramFactory(name="交通补助", stages=["primary"])
    ProgramStandard.objects.create(program=program, stage="primary", amount=Decimal("200.00"))
    bureau = BureauAdminFactory(region=county["county"])
    pupils = [StudentFactory(school=county["primary"]) for _n in range(3)]
    batch = d.batch_create(actor=bureau, program=program, term=county["term"], region=county["county"])
    school_admin = SchoolAdminFactory(school=county["primary"])
    for line in batch.lines.all():
        batch = DisbursementBatch.objects.get(pk=batch.pk)
        d.line_remove(actor=school_admin, line=line, reason="学生已转学", expected_version=batch.version)
    client = client_for(school_admin)

    page = client.get(reverse("aid:precision"), {"program": program.pk, "term": county["term"].pk})
    board = client.get(reverse("home")).context["board"]

    # By hand: all three pupils are eligible, covered by the batch and have no line left.
    assert page.context["open_count"] == len(pupils) == 3
    assert board.open_findings == 3
    assert [(m.name, m.planned, m.open_findings) for m in board.money] == [("交通补助", Decimal("0"), 3)]
