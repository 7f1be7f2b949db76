"""The import page, the import command and the Excel export of the student list."""
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from students.models import ExportLog, RosterImport, Student
from tests.exports import exported_rows
from tests.factories import (
    BureauAdminFactory,
    SchoolAdminFactory,
    SchoolFactory,
    StudentFactory,
    TownshipFactory,
    id_number_for,
)
from tests.roster_files import roster_row, xlsx_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture
def school():
    return SchoolFactory(name="兰陵县向城镇中心小学", region=TownshipFactory(name="向城镇"))


def upload(client, content, name="花名册.xlsx", **data):
    return client.post(
        reverse("students:roster_import"), {"file": SimpleUploadedFile(name, content), **data}, follow=True
    )


class TestImportPage:
    def test_check_then_apply(self, client_for, school):
        client = client_for(BureauAdminFactory())
        rows = [roster_row("张小明", id_number_for(1), school.name), roster_row("李四", id_number_for(2), school.name)]
        response = upload(client, xlsx_bytes(rows))
        assert response.status_code == 200
        assert response.context["counts"]["new"] == 2
        assert not Student.objects.exists()  # a check writes nothing
        roster_import = RosterImport.objects.get()
        response = client.post(reverse("students:roster_import_apply", args=[roster_import.pk]))
        assert response.status_code == 302
        assert Student.objects.count() == 2

    def test_errors_block_apply_and_the_report_lists_them(self, client_for, school):
        client = client_for(BureauAdminFactory())
        rows = [roster_row("张小明", id_number_for(1), school.name), roster_row("坏", "12345", school.name)]
        page = upload(client, xlsx_bytes(rows)).content.decode()
        assert "apply-import" not in page
        roster_import = RosterImport.objects.get()
        response = client.post(reverse("students:roster_import_apply", args=[roster_import.pk]))
        assert response.status_code == 400 and not Student.objects.exists()
        report = client.get(reverse("students:roster_import_report", args=[roster_import.pk]))
        sheet = load_workbook(io.BytesIO(report.content)).active
        rows = list(sheet.values)
        assert rows[0][0] == "行号" and rows[0][-1] == "错误"
        assert rows[1][0] == 5 and rows[1][1] == "坏" and "身份证号" in rows[1][-1]

    def test_refused_file_message_beside_the_field(self, client_for):
        response = upload(client_for(BureauAdminFactory()), b"\x89PNG\r\n\x1a\n....", name="photo.png")
        assert response.status_code == 400
        assert "不是电子表格" in response.content.decode()

    def test_mapping_can_be_corrected(self, client_for, school):
        client = client_for(BureauAdminFactory())
        headers = ["姓名", "公民身份证", "学校", "学段", "年级", "家庭类别"]
        row = {"姓名": "张小明", "公民身份证": id_number_for(1), "学校": school.name, "学段": "小学", "年级": "一年级", "家庭类别": "低保"}
        response = upload(client, xlsx_bytes([row], headers=headers))
        assert response.context["plan"].header.missing_required == ["身份证号"]
        roster_import = RosterImport.objects.get()
        mapping = {"column_0": "name", "column_1": "id_number", "column_2": "school", "column_3": "stage", "column_4": "grade", "column_5": "category"}
        response = client.post(reverse("students:roster_import_mapping", args=[roster_import.pk]), mapping, follow=True)
        assert response.context["counts"]["new"] == 1 and not response.context["plan"].has_errors

    def test_template_download_has_headers_and_drop_downs(self, client_for):
        response = client_for(BureauAdminFactory()).get(reverse("students:roster_template"))
        sheet = load_workbook(io.BytesIO(response.content)).active
        assert [c.value for c in sheet[1]][:3] == ["姓名", "性别", "身份证号"]
        assert len(sheet.data_validations.dataValidation) == 4

    def test_school_admin_cannot_open_another_schools_import(self, client_for, school):
        owner = SchoolAdminFactory(school=school)
        client = client_for(owner)
        upload(client, xlsx_bytes([roster_row("张小明", id_number_for(1), school.name)]))
        roster_import = RosterImport.objects.get()
        stranger = SchoolAdminFactory()
        other = client_for(stranger)
        for name in ("roster_import_detail", "roster_import_report"):
            assert other.get(reverse(f"students:{name}", args=[roster_import.pk])).status_code == 404
        assert other.post(reverse("students:roster_import_apply", args=[roster_import.pk])).status_code == 404

    def test_viewers_and_teachers_may_not_import(self, client_for, viewer, teacher):
        for user in (viewer, teacher):
            assert client_for(user).get(reverse("students:roster_import")).status_code == 403


class TestImportCommand:
    def run(self, *args):
        out, err = io.StringIO(), io.StringIO()
        try:
            call_command("import_roster", *args, stdout=out, stderr=err)
            code = 0
        except SystemExit as exit:
            code = exit.code
        return code, out.getvalue(), err.getvalue()

    def test_clean_file_applied(self, tmp_path, school):
        BureauAdminFactory(username="it", is_superuser=True)
        path = tmp_path / "roster.xlsx"
        path.write_bytes(xlsx_bytes([roster_row("张小明", id_number_for(1), school.name)]))
        code, out, _ = self.run(str(path))
        assert code == 0 and out.strip().splitlines()[-1] == "created=1 updated=0 unchanged=0 errors=0"
        assert Student.objects.count() == 1

    def test_dry_run_writes_nothing(self, tmp_path, school):
        BureauAdminFactory(username="it", is_superuser=True)
        path = tmp_path / "roster.xlsx"
        path.write_bytes(xlsx_bytes([roster_row("张小明", id_number_for(1), school.name)]))
        code, out, _ = self.run(str(path), "--dry-run")
        assert code == 0 and "created=1" in out
        assert not Student.objects.exists() and not RosterImport.objects.exists()

    def test_errors_exit_1_with_one_line_each_and_a_report(self, tmp_path, school):
        BureauAdminFactory(username="it", is_superuser=True)
        path = tmp_path / "roster.xlsx"
        path.write_bytes(xlsx_bytes([roster_row("张小明", "123", school.name)]))
        report = tmp_path / "errors.xlsx"
        code, out, _ = self.run(str(path), "--report", str(report))
        lines = out.strip().splitlines()
        assert code == 1
        assert lines[0].startswith("row 4, 身份证号: ")
        assert lines[-1] == "created=0 updated=0 unchanged=0 errors=1"
        assert load_workbook(report).active.max_row == 2

    def test_refused_file_exits_2(self, tmp_path):
        BureauAdminFactory(username="it", is_superuser=True)
        path = tmp_path / "roster.xlsx"
        path.write_bytes(b"\x00\x01\x02 not a spreadsheet")
        code, _, err = self.run(str(path))
        assert code == 2 and err


class TestStudentExport:
    def export(self, client, **params):
        response = client.get(reverse("students:student_export"), params)
        assert response.status_code == 200
        return load_workbook(io.BytesIO(b"".join(response.streaming_content))).active

    def test_exports_exactly_the_filtered_rows_in_scope(self, client_for, school):
        admin = SchoolAdminFactory(school=school)
        StudentFactory(school=school, name="甲", stage="primary")
        StudentFactory(school=school, name="乙", stage="junior", grade="J1")
        StudentFactory(school=SchoolFactory(), name="外校生")
        sheet = self.export(client_for(admin), stage="primary")
        names = [row[0] for row in sheet.iter_rows(min_row=2, values_only=True)]
        assert names == ["甲"]
        assert [c.value for c in sheet[1]][:3] == ["姓名", "性别", "身份证号"]

    def test_ids_are_text_dates_are_dates(self, client_for, school):
        student = StudentFactory(school=school)
        sheet = self.export(client_for(BureauAdminFactory()))
        assert sheet["C2"].value == student.id_number and sheet["C2"].data_type == "s"
        assert sheet["D2"].is_date

    def test_formula_like_text_is_written_as_text(self, client_for, school):
        StudentFactory(school=school, name="=HYPERLINK(\"http://x\")", note="+1+2")
        StudentFactory(school=school, name="@SUM(A1)", note="-3")
        sheet = self.export(client_for(BureauAdminFactory()))
        for row in sheet.iter_rows(min_row=2):
            for cell in (row[0], row[18]):
                assert cell.data_type == "s", cell.value
        assert {row[0].value for row in sheet.iter_rows(min_row=2)} == {"=HYPERLINK(\"http://x\")", "@SUM(A1)"}

    def test_masked_for_viewers_and_logged_as_masked(self, client_for, viewer, school):
        student = StudentFactory(school=school, student_number="G" + StudentFactory.build().id_number)
        sheet = self.export(client_for(viewer))
        assert sheet["C2"].value == student.id_number[:6] + "********" + student.id_number[-4:]
        assert (sheet["D1"].value, sheet["D2"].value) == ("出生年份", student.birth_date.year)
        assert sheet["E2"].value == student.student_number[:6] + "*********" + student.student_number[-4:]
        assert sheet["R2"].value == "138****5678"
        entry = ExportLog.objects.get()
        assert (entry.user, entry.row_count, entry.id_numbers_masked, entry.phones_masked) == (viewer, 1, True, True)

    def test_unmasked_export_is_logged_and_the_log_is_for_bureau_admins(self, client_for, school, school_admin):
        StudentFactory.create_batch(3, school=school)
        client = client_for(school_admin)
        self.export(client, stage="primary")
        entry = ExportLog.objects.get()
        assert (entry.user, entry.row_count, entry.query) == (school_admin, 3, "stage=primary")
        assert client.get(reverse("students:export_log")).status_code == 403
        bureau = client_for(BureauAdminFactory())
        assert bureau.get(reverse("students:export_log")).context["entries"][0] == entry

    def test_the_export_log_names_each_list_and_exports_itself(
        self, client_for, school, school_admin, django_assert_max_num_queries
    ):
        StudentFactory.create_batch(2, school=school)
        self.export(client_for(school_admin), stage="primary")
        client_for(school_admin).get(reverse("students:school_list"), {"export": "xlsx"})  # no personal data
        client_for(school_admin).get(reverse("aid:teacher_list"), {"q": "王", "export": "xlsx"})
        bureau = client_for(BureauAdminFactory(full_name="局管理员"))

        page = bureau.get(reverse("students:export_log"), {"list_name": "students"}, HTTP_ACCEPT_LANGUAGE="en")
        with django_assert_max_num_queries(8):
            response = bureau.get(
                reverse("students:export_log"), {"list_name": "students", "export": "xlsx"}, HTTP_ACCEPT_LANGUAGE="en"
            )

        assert [entry.list_label() for entry in page.context["entries"]] == ["Students"]
        entry = ExportLog.objects.get(list_name="students")
        exported_at = timezone.localtime(entry.exported_at).replace(tzinfo=None, second=0, microsecond=0)
        rows = exported_rows(response)
        assert rows[0] == ("When", "User", "Login", "Scope", "List", "Filter", "Rows", "Masking")
        assert rows[1][0].replace(second=0, microsecond=0) == exported_at
        assert rows[1][1:] == (
            str(school_admin), school_admin.username, school.name, "Students", "stage=primary", 2, "In full"
        )
        assert len(rows) == 2
        assert dict(ExportLog.objects.values_list("list_name", "query")) == {
            "students": "stage=primary", "teachers": "q=%E7%8E%8B", "export_log": "list_name=students",
        }

    def test_export_can_be_imported_again_unchanged(self, client_for, school):
        from students import importer

        admin = BureauAdminFactory()
        StudentFactory.create_batch(3, school=school)
        response = client_for(admin).get(reverse("students:student_export"))
        content = b"".join(response.streaming_content)
        _, plan = importer.roster_import_check(actor=admin, file=io.BytesIO(content), file_name="export.xlsx")
        assert plan.counts == {"new": 0, "updated": 0, "unchanged": 3, "error": 0}
