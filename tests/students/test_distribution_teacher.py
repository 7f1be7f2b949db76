"""A teacher's distribution table counts every paired pupil, also one who moved schools."""
import pytest
from django.urls import reverse

from students import services
from tests.factories import BureauAdminFactory, PairingFactory, SchoolFactory, StudentFactory, TeacherFactory

pytestmark = pytest.mark.django_db


def test_a_paired_pupil_who_moved_is_in_the_table_under_his_new_school(client_for, school):
    teacher = TeacherFactory(school=school)
    stays = StudentFactory(school=school)
    moves = StudentFactory(school=school, stage="junior", grade="J1")
    for pupil in (stays, moves):
        PairingFactory(student=pupil, teacher=teacher)
    StudentFactory(school=school)  # not his
    new_school = SchoolFactory(stages=["junior"])
    moves.school = new_school
    services.student_save(actor=BureauAdminFactory(), student=moves)

    table = client_for(teacher).get(reverse("students:distribution")).context["table"]

    rows = {row.label: row for block in table.blocks for row in block.schools}
    # By hand: two pupils, one at each school.
    assert (rows[school.name].total.total, rows[new_school.name].total.total) == (1, 1)
    assert rows[new_school.name].cells["junior"].total == 1
    assert table.grand_total.total.total == 2
