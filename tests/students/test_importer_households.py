"""Namesakes in a roster: siblings share a household when the registration number says so,
or when head, village and phone agree; otherwise the rows are two households."""
import io

import pytest
from django.db import connection

from students import importer
from tests.factories import BureauAdminFactory, id_number_for
from tests.roster_files import HEADERS, roster_row, xlsx_bytes

pytestmark = pytest.mark.django_db
SCHOOL = "兰陵县向城镇中心小学"
WITH_NUMBER = [*HEADERS, "建档立卡户编号"]


def check(actor, rows, headers=HEADERS):
    return importer.roster_import_check(
        actor=actor, file=io.BytesIO(xlsx_bytes(rows, headers=headers)), file_name="roster.xlsx"
    )


def households_of_the_import():
    """(head, phone, category, number of students) of every household, counted in SQL."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT h.head_name, h.guardian_phone, h.category, count(s.id) FROM students_household h"
            " JOIN students_student s ON s.household_id = h.id"
            " GROUP BY h.id, h.head_name, h.guardian_phone, h.category ORDER BY h.guardian_phone"
        )
        return cursor.fetchall()


def test_namesake_heads_with_different_phones_are_two_households(county):
    admin = BureauAdminFactory()
    rows = [
        roster_row("王一", id_number_for(1), SCHOOL, 户主姓名="王建国", 联系电话="13800000001", 家庭类别="低保"),
        roster_row("王二", id_number_for(2), SCHOOL, 户主姓名="王建国", 联系电话="13800000002", 家庭类别="特困供养"),
        roster_row("王三", id_number_for(3), SCHOOL, 户主姓名="王建国", 联系电话="13800000002", 家庭类别="特困供养"),
    ]
    roster_import, plan = check(admin, rows)
    assert plan.errors == []
    importer.roster_import_apply(actor=admin, roster_import=roster_import)
    assert households_of_the_import() == [
        ("王建国", "13800000001", "dibao", 1),
        ("王建国", "13800000002", "tekun", 2),
    ]


def test_namesakes_without_a_phone_or_number_are_not_merged(county):
    admin = BureauAdminFactory()
    rows = [
        roster_row("王一", id_number_for(1), SCHOOL, 户主姓名="王建国", 联系电话="", 家庭类别="低保"),
        roster_row("王二", id_number_for(2), SCHOOL, 户主姓名="王建国", 联系电话="", 家庭类别="特困供养"),
    ]
    roster_import, plan = check(admin, rows)
    assert plan.errors == []
    importer.roster_import_apply(actor=admin, roster_import=roster_import)
    assert [row[3] for row in households_of_the_import()] == [1, 1]


def test_the_same_number_with_another_category_is_still_an_error(county):
    admin = BureauAdminFactory()
    rows = [
        roster_row("王一", id_number_for(1), SCHOOL, 户主姓名="王建国", 联系电话="13800000001", 家庭类别="低保",
                   建档立卡户编号="3713240000123"),
        roster_row("王二", id_number_for(2), SCHOOL, 户主姓名="王建国", 联系电话="13800000002", 家庭类别="特困供养",
                   建档立卡户编号="3713240000123"),
    ]
    _roster_import, plan = check(admin, rows, headers=WITH_NUMBER)
    [error] = plan.errors
    assert error.row_number == 5 and "家庭类别" in error.message
