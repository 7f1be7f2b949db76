"""The roster importer: real-world files in, all rows or none out, revertible."""
import datetime
import io

import pytest
from django.core.exceptions import ValidationError

from common.spreadsheets import read_table
from students import importer
from students.choices import Stage
from students.models import Household, RosterImport, SnapshotAbsence, Student
from tests.factories import (
    BureauAdminFactory,
    SchoolAdminFactory,
    StudentFactory,
    id_number_for,
)
from tests.roster_files import HEADERS, csv_bytes, roster_row, xls_bytes, xlsx_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(county):
    return BureauAdminFactory()


def check(actor, content, name="roster.xlsx", **options):
    return importer.roster_import_check(actor=actor, file=io.BytesIO(content), file_name=name, **options)


def three_rows(county):
    return [
        roster_row("张小明", id_number_for(1), "兰陵县向城镇中心小学"),
        roster_row("李小红", id_number_for(2, male=False), "兰陵县向城镇中心小学", 性别="女"),
        roster_row("王小刚", id_number_for(3), "兰陵县向城镇初级中学", 学段="初中", 年级="初二"),
    ]


class TestFindingTheTable:
    def test_header_under_a_merged_title_and_total_row_ignored(self, admin, county):
        roster_import, plan = check(admin, xlsx_bytes(three_rows(county)))
        assert plan.header.row_number == 3
        assert [row.number for row in plan.rows] == [4, 5, 6]
        assert plan.counts == {"new": 3, "updated": 0, "unchanged": 0, "error": 0}

    @pytest.mark.parametrize(
        "alias, key",
        [(alias, column.key) for column in importer.COLUMNS for alias in (column.header, *column.aliases)]
        + [("身份证号码*", "id_number"), ("乡镇（街道）", "township"), ("村（社区）", "village")],
    )
    def test_every_header_variant_maps(self, alias, key):
        from common.spreadsheets import RawRow, RawTable

        other = "学校" if key != "school" else "姓名"
        table = RawTable("csv", "utf-8", "", [RawRow(1, [alias, other, "无关列"])])
        header = importer.find_header(table)
        assert header.mapping[0] == key
        assert header.unknown == ["无关列"]

    def test_missing_required_column_is_named(self, admin, county):
        headers = [h for h in HEADERS if h != "身份证号"]
        _, plan = check(admin, xlsx_bytes(three_rows(county), headers=headers))
        assert plan.header.missing_required == ["身份证号"]
        assert plan.has_errors

    @pytest.mark.parametrize(
        "builder, name",
        [
            (xlsx_bytes, "r.xlsx"),
            (xls_bytes, "r.xls"),
            (lambda rows: csv_bytes(rows, encoding="utf-8-sig"), "r.csv"),
            (lambda rows: csv_bytes(rows, encoding="utf-8"), "r.csv"),
            (lambda rows: csv_bytes(rows, encoding="gbk"), "r.csv"),
            (lambda rows: csv_bytes(rows, encoding="gb18030"), "r.csv"),
        ],
    )
    def test_every_format_gives_the_same_plan(self, admin, county, builder, name):
        _, plan = check(admin, builder(three_rows(county)), name=name)
        assert plan.counts["new"] == 3 and not plan.has_errors
        assert [row.student_fields["name"] for row in plan.rows] == ["张小明", "李小红", "王小刚"]


class TestCleaning:
    @pytest.mark.parametrize(
        "stage, grade, expected",
        [
            ("幼儿园", "大班", ("preschool", "K3")), ("学前教育", "小班", ("preschool", "K1")),
            ("小学", "1", ("primary", "P1")), ("", "五年级", ("primary", "P5")),
            ("初级中学", "初一", ("junior", "J1")), ("初中", "七年级", ("junior", "J1")),
            ("初中", "7", ("junior", "J1")), ("初中", "2", ("junior", "J2")), ("", "九年级", ("junior", "J3")),
            ("普通高中", "高二", ("senior", "S2")), ("高中", "11", ("senior", "S2")),
            ("中等职业学校", "一年级", ("vocational", "V1")), ("中职", "3", ("vocational", "V3")),
        ],
    )
    def test_stage_and_grade_synonyms(self, admin, county, stage, grade, expected):
        row = roster_row("张小明", id_number_for(1), "兰陵县向城镇中心小学", 学段=stage, 年级=grade)
        _, plan = check(admin, xlsx_bytes([row]))
        fields = plan.rows[0].student_fields
        assert (fields["stage"], fields["grade"]) == expected

    def test_spaces_full_width_digits_and_lowercase_x(self, admin, county):
        number = next(id_number_for(n) for n in range(100, 1000) if id_number_for(n).endswith("X"))
        messy = "\u3000" + number[:-1].translate(str.maketrans("0123456789", "０１２３４５６７８９")) + "x\u00a0"
        row = roster_row(" 张 小明 ", messy, "向城镇中心小学 ", 联系电话="１３８１２３４５６７８")
        _, plan = check(admin, xlsx_bytes([row]))
        fields = plan.rows[0].student_fields
        assert not plan.has_errors
        assert fields["id_number"] == number and fields["name"] == "张小明"
        assert fields["school"].name == "兰陵县向城镇中心小学"  # a unique partial match
        assert plan.rows[0].household_fields["guardian_phone"] == "13812345678"


class TestRowErrors:
    def errors_of(self, admin, rows):
        _, plan = check(admin, xlsx_bytes(rows))
        return [(e.row_number, e.column, e.message) for e in plan.errors]

    def test_wrong_check_digit(self, admin, county):
        good = id_number_for(1)
        bad = good[:-1] + ("1" if good[-1] != "1" else "2")
        [(row, column, message)] = self.errors_of(admin, [roster_row("张小明", bad, "兰陵县向城镇中心小学")])
        assert (row, column) == (4, "身份证号") and "校验码" in message

    def test_id_number_stored_by_excel_as_a_number(self, admin, county):
        rows = [
            roster_row("张小明", float(id_number_for(1)[:-1] + "0"), "兰陵县向城镇中心小学"),
            roster_row("李四", "3.71324E+17", "兰陵县向城镇中心小学"),
        ]
        errors = self.errors_of(admin, rows)
        assert len(errors) == 2
        for _row, column, message in errors:
            assert column == "身份证号" and "文本" in message

    def test_gender_contradicting_the_id(self, admin, county):
        [(_r, column, message)] = self.errors_of(
            admin, [roster_row("张小明", id_number_for(1, male=True), "兰陵县向城镇中心小学", 性别="女")]
        )
        assert column == "性别" and "男" in message

    def test_same_id_twice_in_the_file(self, admin, county):
        number = id_number_for(1)
        rows = [roster_row("张小明", number, "兰陵县向城镇中心小学"), roster_row("张小明", number, "兰陵县向城镇中心小学")]
        [(row, column, message)] = self.errors_of(admin, rows)
        assert row == 5 and "第 4 行" in message

    def test_id_of_a_student_with_another_name_is_a_conflict(self, admin, county):
        existing = StudentFactory(school=county["primary"], name="张大明")
        _, plan = check(admin, xlsx_bytes([roster_row("张小明", existing.id_number, "兰陵县向城镇中心小学")]))
        assert plan.rows[0].conflict == {"file": "张小明", "registry": "张大明", "school": "兰陵县向城镇中心小学"}

    def test_unknown_school_suggests_close_names(self, admin, county):
        [(_r, column, message)] = self.errors_of(admin, [roster_row("张小明", id_number_for(1), "兰陵县向城中心小学")])
        assert column == "学校" and "兰陵县向城镇中心小学" in message

    def test_ambiguous_school_is_an_error(self, admin, county):
        [(_r, column, _m)] = self.errors_of(admin, [roster_row("张小明", id_number_for(1), "向城镇")])
        assert column == "学校"

    def test_a_student_on_another_schools_roster_is_not_taken_over(self, county):
        school_admin = SchoolAdminFactory(school=county["primary"])
        elsewhere = StudentFactory(school=county["junior"], name="王小刚", stage="junior", grade="J2")
        left = StudentFactory(
            school=county["junior"], name="李小红", stage="junior", grade="J3",
            left_roster_on=datetime.date(2026, 7, 1), left_roster_reason="other",
        )
        rows = [
            roster_row("王小刚", elsewhere.id_number, "兰陵县向城镇中心小学", 学段="小学", 年级="六年级"),
            roster_row("李小红", left.id_number, "兰陵县向城镇中心小学", 学段="小学", 年级="六年级"),
        ]

        _, plan = check(school_admin, xlsx_bytes(rows))

        [error] = plan.errors
        assert (error.row_number, error.column) == (plan.rows[0].number, "身份证号")
        assert "兰陵县向城镇初级中学" in error.message
        # Off the roster elsewhere: the school registers the student again.
        assert (plan.rows[1].action, plan.rows[1].student) == ("updated", left)

    def test_school_admin_cannot_import_into_another_school(self, county):
        school_admin = SchoolAdminFactory(school=county["primary"])
        _, plan = check(school_admin, xlsx_bytes([roster_row("王小刚", id_number_for(3), "兰陵县向城镇初级中学", 学段="初中", 年级="初二")]))
        assert [e.column for e in plan.errors] == ["学校"]


class TestApplying:
    def test_apply_creates_students_households_and_history(self, admin, county):
        roster_import, plan = check(admin, xlsx_bytes(three_rows(county)))
        importer.roster_import_apply(actor=admin, roster_import=roster_import)
        student = Student.objects.get(name="李小红")
        assert student.gender == "F" and student.stage == Stage.PRIMARY and student.grade == "P3"
        assert student.household.head_name == "李大山"
        assert student.household.township == county["town"]
        assert student.history.get().history_user == admin
        roster_import.refresh_from_db()
        assert roster_import.state == "applied" and roster_import.created_count == 3
        assert len(roster_import.checksum) == 64

    def test_a_later_request_starts_from_the_rows_kept_at_the_check(self, admin, county, monkeypatch):
        """The check page, the mapping and the apply come in later requests: they read the
        rows kept with the import, not the file, and an ID that Excel stored as a number
        still reads as one."""
        rows = three_rows(county) + [roster_row("李四", float(id_number_for(9)[:-1] + "0"), "兰陵县向城镇中心小学")]
        checked, _plan = check(admin, xlsx_bytes(rows))

        def parse_again(*args, **kwargs):
            raise AssertionError("the file was parsed again")

        monkeypatch.setattr(importer.reading, "read_table", parse_again)
        later = RosterImport.objects.get(pk=checked.pk)  # as a later request loads it
        with pytest.raises(importer.ImportHasErrors) as refused:
            importer.roster_import_apply(actor=admin, roster_import=later)

        assert [(e.row_number, e.column) for e in refused.value.plan.errors] == [(7, "身份证号")]
        assert "文本" in refused.value.plan.errors[0].message
        assert not Student.objects.exists()

    def test_an_import_checked_before_rows_were_kept_reads_its_file(self, admin, county):
        checked, _plan = check(admin, xlsx_bytes(three_rows(county)))
        RosterImport.objects.filter(pk=checked.pk).update(rows_read="")

        plan = importer.roster_import_apply(actor=admin, roster_import=RosterImport.objects.get(pk=checked.pk))

        assert plan.counts["new"] == 3 and Student.objects.count() == 3

    def test_one_bad_row_and_nothing_is_written(self, admin, county):
        rows = three_rows(county) + [roster_row("坏行", "123", "兰陵县向城镇中心小学")]
        roster_import, plan = check(admin, xlsx_bytes(rows))
        with pytest.raises(importer.ImportHasErrors):
            importer.roster_import_apply(actor=admin, roster_import=roster_import)
        assert not Student.objects.exists() and not Household.objects.exists()

    def test_importing_the_same_file_twice_changes_nothing(self, admin, county):
        content = xlsx_bytes(three_rows(county))
        first, _ = check(admin, content)
        importer.roster_import_apply(actor=admin, roster_import=first)
        history_before = Student.history.count()
        second, plan = check(admin, content)
        assert plan.counts == {"new": 0, "updated": 0, "unchanged": 3, "error": 0}
        importer.roster_import_apply(actor=admin, roster_import=second)
        assert Student.history.count() == history_before

    def test_update_shows_changes_and_leaves_absent_students_alone(self, admin, county):
        existing = StudentFactory(school=county["primary"], name="张小明", id_number=id_number_for(1))
        bystander = StudentFactory(school=county["primary"])
        row = roster_row("张小明", existing.id_number, "兰陵县向城镇初级中学", 学段="初中", 年级="初一")
        roster_import, plan = check(admin, xlsx_bytes([row]))
        assert plan.counts["updated"] == 1
        assert ("学校", "兰陵县向城镇中心小学", "兰陵县向城镇初级中学") in [
            (str(a), b, c) for a, b, c in plan.rows[0].changes
        ]
        importer.roster_import_apply(actor=admin, roster_import=roster_import)
        existing.refresh_from_db()
        assert existing.school == county["junior"] and existing.grade == "J1"
        assert Student.objects.filter(pk=bystander.pk, left_roster_on__isnull=True).exists()

    def test_revert_restores_and_removes(self, admin, county):
        existing = StudentFactory(school=county["primary"], name="张小明", id_number=id_number_for(1), class_name="1班")
        rows = [
            roster_row("张小明", existing.id_number, "兰陵县向城镇中心小学", 班级="5班"),
            roster_row("王新", id_number_for(7), "兰陵县向城镇中心小学"),
        ]
        roster_import, _ = check(admin, xlsx_bytes(rows))
        importer.roster_import_apply(actor=admin, roster_import=roster_import)
        importer.roster_import_revert(actor=admin, roster_import=roster_import)
        existing.refresh_from_db()
        assert existing.class_name == "1班"
        assert not Student.objects.filter(name="王新").exists()
        assert Household.objects.count() == 1  # the new household went with its student
        assert RosterImport.objects.get().state == "reverted"

    def test_revert_refused_once_someone_changed_a_row(self, admin, county):
        from students import services

        roster_import, _ = check(admin, xlsx_bytes(three_rows(county)))
        importer.roster_import_apply(actor=admin, roster_import=roster_import)
        student = Student.objects.get(name="张小明")
        student.class_name = "9班"
        services.student_save(actor=admin, student=student)
        with pytest.raises(ValidationError):
            importer.roster_import_revert(actor=admin, roster_import=roster_import)
        assert Student.objects.count() == 3

    def test_full_snapshot_lists_missing_and_moved_students(self, admin, county):
        stays = StudentFactory(school=county["primary"], name="张小明", id_number=id_number_for(1))
        missing = StudentFactory(school=county["primary"], name="缺席生")
        StudentFactory(school=county["junior"], name="别校生")
        rows = [roster_row("张小明", stays.id_number, "兰陵县向城镇中心小学", 在校情况="休学")]
        roster_import, plan = check(
            admin, xlsx_bytes(rows), is_snapshot=True, snapshot_school=county["primary"]
        )
        assert [s.name for s in plan.absent_students] == ["缺席生"]
        assert [row.student.name for row in plan.moved_students] == ["张小明"]
        importer.roster_import_apply(actor=admin, roster_import=roster_import)
        missing.refresh_from_db()
        assert missing.on_roster  # nothing is removed automatically
        assert SnapshotAbsence.objects.get().student == missing
        absence = SnapshotAbsence.objects.get()
        assert list(absence.history.values_list("history_type", "history_user_id", "history_change_reason")) == [
            ("+", admin.pk, roster_import.history_reason)
        ]

    def test_a_student_who_left_comes_back_to_the_roster(self, admin, county):
        former = StudentFactory(
            school=county["primary"], name="张小明", id_number=id_number_for(1),
            left_roster_on=datetime.date(2025, 7, 1), left_roster_reason="moved_away",
        )
        roster_import, plan = check(admin, xlsx_bytes([roster_row("张小明", former.id_number, "兰陵县向城镇中心小学")]))
        assert plan.counts["updated"] == 1
        importer.roster_import_apply(actor=admin, roster_import=roster_import)
        former.refresh_from_db()
        assert former.on_roster and Student.objects.count() == 1

    def test_siblings_in_one_file_share_a_household(self, admin, county):
        rows = [
            roster_row("张一", id_number_for(1), "兰陵县向城镇中心小学", 户主姓名="张父"),
            roster_row("张二", id_number_for(2), "兰陵县向城镇中心小学", 户主姓名="张父"),
        ]
        roster_import, _ = check(admin, xlsx_bytes(rows))
        importer.roster_import_apply(actor=admin, roster_import=roster_import)
        assert Household.objects.count() == 1


class TestRefusals:
    def test_not_a_spreadsheet(self, admin):
        with pytest.raises(importer.SpreadsheetRefused):
            check(admin, b"%PDF-1.4 not a roster", name="roster.pdf")

    def test_oversized_file(self, admin, settings):
        settings.IMPORT_MAX_BYTES = 1000
        with pytest.raises(importer.SpreadsheetRefused) as refusal:
            check(admin, b"a,b\n" * 1000, name="big.csv")
        assert "MB" in refusal.value.message or "1000" in refusal.value.message

    def test_zip_bomb(self, admin, settings):
        import zipfile

        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("xl/workbook.xml", b"<workbook/>")
            archive.writestr("xl/worksheets/sheet1.xml", b"\0" * (30 * 1024 * 1024))
        with pytest.raises(importer.SpreadsheetRefused):
            check(admin, buffer.getvalue(), name="bomb.xlsx")

    def test_too_many_rows(self, admin, county, settings):
        settings.IMPORT_MAX_ROWS = 3
        with pytest.raises(importer.SpreadsheetRefused):
            check(admin, xlsx_bytes(three_rows(county)))


def test_read_table_is_what_the_importer_uses(county):
    table = read_table(io.BytesIO(xlsx_bytes(three_rows(county))), "r.xlsx")
    assert table.format == "xlsx"


def test_rows_of_one_household_must_agree(county):
    """Two rows with the same head and village but different categories are not merged."""
    admin = BureauAdminFactory()
    rows = [
        roster_row("张一", id_number_for(1), "兰陵县向城镇中心小学", 户主姓名="张父", 家庭类别="低保"),
        roster_row("张二", id_number_for(2), "兰陵县向城镇中心小学", 户主姓名="张父", 家庭类别="特困供养"),
    ]
    _, plan = check(admin, xlsx_bytes(rows))
    [error] = plan.errors
    assert (error.row_number, error.column) == (5, "户主姓名") and "家庭类别" in error.message
