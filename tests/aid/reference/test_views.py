"""The reference lists' pages: each county's bureau edits its own county's entries, sees the
shared ones, and never another county's; shared entries are edited by IT staff only."""
from decimal import Decimal

import pytest
from django.urls import reverse

from aid.reference.models import AidProgram, ChecklistItem, DeliveryItem, ProgramStandard, programs_applying_to
from aid.subsidies.forms import BatchCreateForm
from tests.factories import (
    AidProgramFactory,
    BureauAdminFactory,
    HouseholdFactory,
    SchoolAdminFactory,
    StudentFactory,
    UserFactory,
    ViewerFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def lists(county):
    """A shared program, one of Lanling's (ours) and one of Feixian's (the other county)."""
    return {
        "shared": AidProgramFactory(name="国家助学金"),
        "ours": AidProgramFactory(name="兰陵县交通补助", region=county["county"]),
        "theirs": AidProgramFactory(name="费县交通补助", region=county["other_county"]),
        "our_item": DeliveryItem.objects.create(name="兰陵书包", region=county["county"]),
        "their_item": DeliveryItem.objects.create(name="费县书包", region=county["other_county"]),
        "their_point": ChecklistItem.objects.create(text="费县检查项", region=county["other_county"]),
    }


@pytest.fixture
def lanling(county):
    return BureauAdminFactory(region=county["county"])


def program_data(school=None, **overrides):
    data = {
        "name": "兰陵县营养餐补助", "kind": "cash", "funding_source": "county", "stages": ["primary"],
        "requires_enrolment": "on", "is_active": "on", "description": "", "amount_primary": "300.00",
    }
    if school is not None:
        data["schools"] = [school.pk]
    data.update(overrides)
    return data


def test_the_list_shows_the_shared_and_our_county_entries_and_edit_links_only_for_ours(client_for, lanling, lists):
    response = client_for(lanling).get(reverse("aid:program_list"))
    shown = {entry.name: editable for entry, _cells, editable in response.context["rows"]}
    assert shown == {"国家助学金": False, "兰陵县交通补助": True}
    assert "费县交通补助" not in response.content.decode()


def test_another_countys_entries_and_the_shared_ones_cannot_be_opened_for_editing(client_for, lanling, lists):
    client = client_for(lanling)
    assert client.get(reverse("aid:program_update", args=[lists["theirs"].pk])).status_code == 404
    assert client.get(reverse("aid:program_update", args=[lists["shared"].pk])).status_code == 404
    assert client.get(reverse("aid:delivery_item_update", args=[lists["their_item"].pk])).status_code == 404
    assert client.get(reverse("aid:checklist_item_update", args=[lists["their_point"].pk])).status_code == 404
    response = client.post(reverse("aid:program_update", args=[lists["theirs"].pk]), program_data(name="改掉"))
    assert response.status_code == 404
    assert AidProgram.objects.get(pk=lists["theirs"].pk).name == "费县交通补助"
    assert client.get(reverse("aid:program_update", args=[lists["ours"].pk])).status_code == 200


def test_a_new_program_belongs_to_our_county_and_offers_only_our_schools(client_for, county, lanling):
    client = client_for(lanling)
    offered = client.get(reverse("aid:program_create")).context["form"].fields["schools"].queryset
    assert set(offered) == {county["primary"], county["junior"]}
    refused = client.post(reverse("aid:program_create"), program_data(county["other"]))
    assert refused.status_code == 400 and "schools" in refused.context["form"].errors
    assert client.post(reverse("aid:program_create"), program_data(county["primary"])).status_code == 302
    program = AidProgram.objects.get(name="兰陵县营养餐补助")
    assert (program.region, list(program.schools.all())) == (county["county"], [county["primary"]])
    assert program.standard_amount("primary") == Decimal("300.00")


def test_a_standard_changed_by_the_county_keeps_its_history(client_for, lanling, lists):
    program = lists["ours"]
    ProgramStandard.objects.create(program=program, stage="primary", amount=Decimal("200.00"))
    url = reverse("aid:program_update", args=[program.pk])
    assert client_for(lanling).post(url, program_data(name=program.name, amount_primary="260.00")).status_code == 302
    amounts = ProgramStandard.history.filter(program=program).order_by("history_id")
    assert [(h.history_type, h.amount, h.history_user_id) for h in amounts][-1] == ("~", Decimal("260.00"), lanling.pk)


def test_it_staff_edit_the_shared_entries(client_for, lists):
    superuser = UserFactory(is_superuser=True)
    url = reverse("aid:program_update", args=[lists["shared"].pk])
    response = client_for(superuser).post(url, program_data(name="国家助学金（改）", region=""))
    assert response.status_code == 302
    assert AidProgram.objects.get(pk=lists["shared"].pk).region is None


@pytest.mark.parametrize("make", [ViewerFactory, SchoolAdminFactory])
def test_only_bureau_administrators_open_the_reference_pages(client_for, county, make):
    user = make(region=county["county"]) if make is ViewerFactory else make(school=county["primary"])
    assert client_for(user).get(reverse("aid:program_list")).status_code == 403


def test_another_countys_program_neither_applies_to_our_students_nor_is_offered(county, lanling, lists):
    for program in AidProgram.objects.all():
        program.stages = ["primary"]
        program.save()
    student = StudentFactory(school=county["primary"], household=HouseholdFactory(township=county["town"]))
    assert {p.name for p in programs_applying_to(student)} == {"国家助学金", "兰陵县交通补助"}
    offered = BatchCreateForm(user=lanling).fields["program"].queryset
    assert set(offered) == {lists["shared"], lists["ours"]}


def test_the_list_takes_a_fixed_number_of_queries(client_for, county, lanling, django_assert_max_num_queries):
    for n in range(5):
        program = AidProgramFactory(region=county["county"])
        ProgramStandard.objects.create(program=program, stage="primary", amount=Decimal(n))
    client = client_for(lanling)
    with django_assert_max_num_queries(9):
        assert client.get(reverse("aid:program_list")).status_code == 200
