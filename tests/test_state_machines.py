"""Dropout cases, school projects and roster imports move only as their state machines
allow; a move that is not allowed is refused with a message in Chinese, not a bare 403."""
import io

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone, translation

from aid.dropout import services as dropout
from aid.dropout.models import DropoutCase
from aid.supervision.models import SchoolProject
from common.state_machine import StateMachine
from students import importer
from students.models import RosterImport

from .factories import (
    BureauAdminFactory,
    SchoolFactory,
    StudentFactory,
    TownshipFactory,
    id_number_for,
)
from .roster_files import roster_row, xlsx_bytes

pytestmark = pytest.mark.django_db
ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-hans"}


def test_a_machine_allows_only_its_moves_and_names_both_states():
    machine = StateMachine(SchoolProject.Status, {SchoolProject.Status.PLANNED: {SchoolProject.Status.UNDERWAY}})
    assert machine.allows("planned", "underway") and not machine.allows("underway", "planned")
    with translation.override("en"), pytest.raises(ValidationError) as refused:
        machine.check("underway", "planned", field="status")
    assert refused.value.message_dict["status"] == ["A record that is “Under way” cannot become “Planned”."]


def test_a_completed_project_cannot_go_back_to_planned_and_the_page_says_why(client):
    admin = BureauAdminFactory()
    school = SchoolFactory()
    project = SchoolProject.objects.create(
        school=school, name="运动场", type="playground", investment="100.00", funding_source="county",
        status="completed", completed_on=timezone.localdate(),
    )
    client.force_login(admin)
    data = {
        "school": school.pk, "name": "运动场", "type": "playground", "investment": "100.00",
        "funding_source": "county", "status": "planned", "started_on": "", "completed_on": "",
    }
    response = client.post(reverse("aid:project_update", args=[project.pk]), data, **ZH)
    assert response.status_code == 400
    assert response.context["form"].errors["status"] == ["当前状态为“已完工”，不能改为“计划”。"]
    project.refresh_from_db()
    assert project.status == "completed"


def test_a_case_is_struck_off_once():
    admin = BureauAdminFactory()
    student = StudentFactory(status="dropped_out")
    case = dropout.case_open(actor=admin, student=student, kind=DropoutCase.Kind.DROPOUT)
    dropout.case_close(actor=admin, case=case, outcome="returned")
    case.refresh_from_db()
    assert case.state == DropoutCase.State.CLOSED
    with translation.override("en"), pytest.raises(ValidationError, match="already closed"):
        dropout.case_close(actor=admin, case=case, outcome="returned")


def test_an_import_is_applied_once_and_only_an_applied_one_is_reverted():
    admin = BureauAdminFactory()
    town = TownshipFactory()
    SchoolFactory(name="兰陵县向城镇中心小学", region=town)
    content = xlsx_bytes([roster_row("张小明", id_number_for(1), "兰陵县向城镇中心小学", 乡镇=town.name)])
    roster_import, _plan = importer.roster_import_check(actor=admin, file=io.BytesIO(content), file_name="r.xlsx")
    with translation.override("en"), pytest.raises(ValidationError, match="Only an applied import can be reverted"):
        importer.roster_import_revert(actor=admin, roster_import=roster_import)
    importer.roster_import_apply(actor=admin, roster_import=roster_import)
    with translation.override("en"), pytest.raises(ValidationError, match="already applied"):
        importer.roster_import_apply(actor=admin, roster_import=roster_import)
    importer.roster_import_revert(actor=admin, roster_import=roster_import)
    assert RosterImport.objects.get(pk=roster_import.pk).state == RosterImport.State.REVERTED
    with translation.override("en"), pytest.raises(ValidationError, match="Only an applied import can be reverted"):
        importer.roster_import_revert(actor=admin, roster_import=roster_import)
