"""Pairings (结对帮扶): one teacher per student at a time, work lists, teachers and their import."""
import csv
import datetime
import io

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from openpyxl import Workbook

from aid.casework import services, teacher_import
from aid.casework.models import Pairing, PolicyCheck
from students.choices import Role, Stage
from students.models import User
from tests.exports import exported_rows
from tests.factories import (
    AidProgramFactory,
    BureauAdminFactory,
    HomeVisitFactory,
    PairingFactory,
    RegionFactory,
    SchoolAdminFactory,
    SchoolFactory,
    StudentFactory,
    TeacherFactory,
    TermFactory,
    TownshipFactory,
)
from tests.lists import listed_and_counted

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()
PASSWORD = "Lanling-2026!"


def days_ago(days):
    return TODAY - datetime.timedelta(days=days)


# ---------------------------------------------------------------------------------------
# The single-pairing rule and its history (services)
# ---------------------------------------------------------------------------------------


class TestPairingRule:
    def test_changing_the_teacher_closes_the_old_pairing_with_date_and_reason(self, school_admin, student):
        """The old pairing ends the day before the new one starts, with the reason and who ended it."""
        first, second = TeacherFactory(school=student.school), TeacherFactory(school=student.school)
        services.pairing_assign(actor=school_admin, students=[student], teacher=first, started_on=days_ago(30))
        services.pairing_assign(
            actor=school_admin, students=[student], teacher=second, started_on=days_ago(2), reason="调岗"
        )
        old, new = Pairing.objects.get(teacher=first), Pairing.objects.get(teacher=second)
        assert (old.ended_on, old.end_reason, old.ended_by) == (days_ago(3), "调岗", school_admin)
        assert new.is_active and new.started_on == days_ago(2) and new.created_by == school_admin
        assert Pairing.objects.filter(student=student).active().count() == 1

    def test_a_change_needs_a_reason(self, school_admin, student):
        services.pairing_assign(actor=school_admin, students=[student], teacher=TeacherFactory(school=student.school))
        with pytest.raises(ValidationError):
            services.pairing_assign(
                actor=school_admin, students=[student], teacher=TeacherFactory(school=student.school)
            )
        assert Pairing.objects.filter(student=student).count() == 1

    def test_the_database_refuses_two_active_pairings(self, student):
        pairing = PairingFactory(student=student)
        with pytest.raises(IntegrityError), transaction.atomic():
            Pairing.objects.create(
                student=student,
                teacher=TeacherFactory(school=student.school),
                started_on=TODAY,
                created_by=pairing.created_by,
            )

    def test_a_new_pairing_cannot_start_before_the_current_one_or_in_the_future(self, school_admin, student):
        PairingFactory(student=student, started_on=days_ago(10))
        other = TeacherFactory(school=student.school)
        with pytest.raises(ValidationError):
            services.pairing_assign(
                actor=school_admin, students=[student], teacher=other, started_on=days_ago(20), reason="调岗"
            )
        with pytest.raises(ValidationError):
            services.pairing_assign(
                actor=school_admin, students=[student], teacher=other,
                started_on=TODAY + datetime.timedelta(days=1), reason="调岗",
            )
        assert Pairing.objects.filter(student=student).active().get().started_on == days_ago(10)

    def test_ending_needs_a_reason_and_leaves_the_student_unpaired(self, school_admin, student):
        pairing = PairingFactory(student=student, started_on=days_ago(10))
        with pytest.raises(ValidationError):
            services.pairing_end(actor=school_admin, pairing=pairing, reason="")
        services.pairing_end(actor=school_admin, pairing=pairing, reason="学生转学")
        pairing.refresh_from_db()
        assert pairing.ended_on == TODAY and pairing.end_reason == "学生转学"
        assert student in services.unpaired_students(school_admin)


class TestBulkPairingScope:
    def test_school_admin_pairs_students_of_their_school(self, school_admin, school):
        students = StudentFactory.create_batch(3, school=school)
        teacher = TeacherFactory(school=school)
        services.pairing_assign(actor=school_admin, students=students, teacher=teacher)
        assert Pairing.objects.active().filter(teacher=teacher).count() == 3

    def test_school_admin_cannot_pair_another_schools_student(self, school_admin, school, other_student):
        with pytest.raises(PermissionDenied):
            services.pairing_assign(
                actor=school_admin, students=[StudentFactory(school=school), other_student],
                teacher=TeacherFactory(school=school),
            )
        assert not Pairing.objects.exists()

    def test_school_admin_cannot_pair_with_another_schools_teacher(self, school_admin, student, other_school):
        with pytest.raises(PermissionDenied):
            services.pairing_assign(
                actor=school_admin, students=[student], teacher=TeacherFactory(school=other_school)
            )

    def test_a_teacher_only_takes_students_of_their_own_school(self, bureau_admin, student, other_student):
        with pytest.raises(ValidationError) as refusal:
            services.pairing_assign(
                actor=bureau_admin, students=[student, other_student], teacher=TeacherFactory(school=student.school)
            )
        assert other_student.name in refusal.value.messages[0]
        assert not Pairing.objects.exists()

    @pytest.mark.parametrize("role", ["viewer", "teacher"])
    def test_viewers_and_teachers_may_not_pair(self, role, viewer, teacher, student):
        actor = {"viewer": viewer, "teacher": teacher}[role]
        with pytest.raises(PermissionDenied):
            services.pairing_assign(actor=actor, students=[student], teacher=TeacherFactory(school=student.school))


class TestReassignmentFlag:
    def test_teacher_deactivated_or_moved_is_flagged(self, school, other_school):
        left = PairingFactory(student=StudentFactory(school=school))
        moved = PairingFactory(student=StudentFactory(school=school))
        fine = PairingFactory(student=StudentFactory(school=school))
        ended = PairingFactory(student=StudentFactory(school=school), ended_on=TODAY, end_reason="毕业")
        User.objects.filter(pk__in=[left.teacher_id, ended.teacher_id]).update(is_active=False)
        User.objects.filter(pk=moved.teacher_id).update(school=other_school)
        flagged = set(Pairing.objects.needing_reassignment())
        assert flagged == {left, moved}
        assert fine not in flagged

    def test_reassignment_list_shows_them_within_scope(self, client_for, school_admin, school, other_school):
        moved = PairingFactory(student=StudentFactory(school=school))
        elsewhere = PairingFactory(student=StudentFactory(school=other_school))
        User.objects.filter(pk__in=[moved.teacher_id, elsewhere.teacher_id]).update(is_active=False)
        response = client_for(school_admin).get(reverse("aid:reassignment"))
        assert list(response.context["pairings"]) == [moved]
        page = response.content.decode()
        assert reverse("aid:pairing_assign", args=[moved.student_id]) in page
        assert elsewhere.student.name not in page

    def test_reassignment_list_is_for_administrators(self, client_for, viewer, teacher):
        assert client_for(viewer).get(reverse("aid:reassignment")).status_code == 403
        assert client_for(teacher).get(reverse("aid:reassignment")).status_code == 403

    def test_export_has_the_filtered_pairings_of_the_scope(self, client_for, school_admin, school, other_school):
        left = PairingFactory(student=StudentFactory(school=school, name="学生1"), started_on=datetime.date(2025, 9, 1))
        moved = PairingFactory(student=StudentFactory(school=school, name="学生2"), started_on=datetime.date(2026, 3, 2))
        schoolless = PairingFactory(student=StudentFactory(school=school, name="学生3"), started_on=datetime.date(2026, 9, 1))
        PairingFactory(student=StudentFactory(school=school, name="学生4"))
        elsewhere = PairingFactory(student=StudentFactory(school=other_school, name="外校生"))
        User.objects.filter(pk__in=[left.teacher_id, elsewhere.teacher_id]).update(is_active=False)
        User.objects.filter(pk=moved.teacher_id).update(school=other_school)
        User.objects.filter(pk=schoolless.teacher_id).update(school=None)

        response = client_for(school_admin).get(
            reverse("aid:reassignment"), {"school": school.pk, "export": "xlsx"}, HTTP_ACCEPT_LANGUAGE="en"
        )

        town = school.region.name
        assert exported_rows(response) == [
            ("Student", "School", "Township", "Teacher", "Why", "Paired since"),
            ("学生1", school.name, town, left.teacher.full_name, "Teacher has left", datetime.datetime(2025, 9, 1)),
            ("学生2", school.name, town, moved.teacher.full_name, f"Now at {other_school.name}", datetime.datetime(2026, 3, 2)),
            ("学生3", school.name, town, schoolless.teacher.full_name, "No longer at a school", datetime.datetime(2026, 9, 1)),
        ]

    def test_export_takes_a_fixed_number_of_queries(self, client_for, bureau_admin, django_assert_max_num_queries):
        for _ in range(12):
            pairing = PairingFactory(student=StudentFactory(school=SchoolFactory()))
            User.objects.filter(pk=pairing.teacher_id).update(is_active=False)
        client = client_for(bureau_admin)

        with django_assert_max_num_queries(6):  # with the export log's row
            response = client.get(reverse("aid:reassignment"), {"export": "xlsx"})

        assert len(exported_rows(response)) == 13

    def test_the_list_links_its_export_with_the_filter(self, client_for, school_admin, school):
        response = client_for(school_admin).get(reverse("aid:reassignment"), {"school": school.pk, "page": "1"})

        assert f'href="?school={school.pk}&amp;export=xlsx" id="export-reassignment"' in response.content.decode()


# ---------------------------------------------------------------------------------------
# One student: assign and end
# ---------------------------------------------------------------------------------------


class TestPairingAssignView:
    def test_teacher_choices_are_the_students_school_only(self, client_for, bureau_admin, student, other_school):
        mine, theirs = TeacherFactory(school=student.school), TeacherFactory(school=other_school)
        response = client_for(bureau_admin).get(reverse("aid:pairing_assign", args=[student.pk]))
        assert list(response.context["form"].fields["teacher"].queryset) == [mine]
        assert theirs.full_name not in response.content.decode()

    def test_pair_then_change_with_a_reason(self, client_for, school_admin, student):
        first, second = TeacherFactory(school=student.school), TeacherFactory(school=student.school)
        client = client_for(school_admin)
        url = reverse("aid:pairing_assign", args=[student.pk])
        response = client.post(url, {"teacher": first.pk, "started_on": days_ago(5).isoformat()})
        assert response.status_code == 302
        response = client.post(url, {"teacher": second.pk, "started_on": TODAY.isoformat(), "reason": ""})
        assert response.status_code == 400 and response.context["form"].errors["reason"]
        response = client.post(url, {"teacher": second.pk, "started_on": TODAY.isoformat(), "reason": "原教师调离"})
        assert response.status_code == 302
        assert Pairing.objects.active().get(student=student).teacher == second
        assert Pairing.objects.get(teacher=first).end_reason == "原教师调离"

    def test_student_page_shows_the_pairing_and_its_history(self, client_for, school_admin, student):
        old = PairingFactory(student=student, started_on=days_ago(40), ended_on=days_ago(20), end_reason="调岗")
        current = PairingFactory(student=student, started_on=days_ago(19))
        page = client_for(school_admin).get(reverse("aid:pairing_assign", args=[student.pk])).content.decode()
        assert current.teacher.full_name in page and old.teacher.full_name in page and "调岗" in page

    def test_another_schools_student_is_not_found(self, client_for, school_admin, other_student):
        url = reverse("aid:pairing_assign", args=[other_student.pk])
        assert client_for(school_admin).get(url).status_code == 404
        teacher = TeacherFactory(school=other_student.school)
        response = client_for(school_admin).post(url, {"teacher": teacher.pk, "started_on": TODAY.isoformat()})
        assert response.status_code == 404
        assert not Pairing.objects.exists()

    def test_another_schools_teacher_is_refused_by_the_form(self, client_for, school_admin, student, other_school):
        teacher = TeacherFactory(school=other_school)
        response = client_for(school_admin).post(
            reverse("aid:pairing_assign", args=[student.pk]), {"teacher": teacher.pk, "started_on": TODAY.isoformat()}
        )
        assert response.status_code == 400 and "teacher" in response.context["form"].errors
        assert not Pairing.objects.exists()

    def test_the_start_date_shows_today_to_the_native_date_picker(self, client_for, school_admin, student):
        """<input type=date> only understands ISO dates, whatever the language."""
        page = client_for(school_admin).get(reverse("aid:pairing_assign", args=[student.pk])).content.decode()
        assert f'type="date" name="started_on" value="{TODAY.isoformat()}"' in page

    def test_viewers_and_teachers_are_forbidden(self, client_for, viewer, teacher, student):
        PairingFactory(student=student, teacher=teacher)
        url = reverse("aid:pairing_assign", args=[student.pk])
        assert client_for(viewer).get(url).status_code == 403
        assert client_for(teacher).get(url).status_code == 403


class TestPairingEndView:
    def test_end_with_a_reason(self, client_for, school_admin, student):
        pairing = PairingFactory(student=student, started_on=days_ago(5))
        client = client_for(school_admin)
        url = reverse("aid:pairing_end", args=[pairing.pk])
        assert client.get(url).status_code == 200
        response = client.post(url, {"reason": "", "ended_on": TODAY.isoformat()})
        assert response.status_code == 400
        response = client.post(url, {"reason": "学生休学", "ended_on": TODAY.isoformat()})
        assert response.status_code == 302
        pairing.refresh_from_db()
        assert pairing.ended_on == TODAY and pairing.ended_by == school_admin

    def test_scope(self, client_for, viewer, other_student, school_admin):
        pairing = PairingFactory(student=other_student)
        url = reverse("aid:pairing_end", args=[pairing.pk])
        assert client_for(school_admin).post(url, {"reason": "x", "ended_on": TODAY.isoformat()}).status_code == 404
        assert client_for(viewer).post(url, {"reason": "x", "ended_on": TODAY.isoformat()}).status_code == 403
        pairing.refresh_from_db()
        assert pairing.is_active


# ---------------------------------------------------------------------------------------
# The unpaired work list and bulk pairing
# ---------------------------------------------------------------------------------------


class TestUnpairedList:
    def test_lists_students_on_the_roster_without_an_active_pairing(self, client_for, school_admin, school, other_school):
        unpaired = StudentFactory(school=school, name="未结对甲")
        PairingFactory(student=StudentFactory(school=school, name="已结对乙"))
        ended = PairingFactory(student=StudentFactory(school=school, name="曾结对丙"), ended_on=TODAY, end_reason="调岗")
        StudentFactory(school=school, name="已离册丁", left_roster_on=TODAY, left_roster_reason="moved_away")
        StudentFactory(school=other_school, name="外校戊")
        response = client_for(school_admin).get(reverse("aid:unpaired"))
        assert {student.name for student in response.context["students"]} == {"未结对甲", ended.student.name}
        assert unpaired.name in response.content.decode()

    def test_filters_by_school_and_grade(self, client_for, bureau_admin, school, other_school):
        StudentFactory(school=school, grade="P3", name="甲")
        StudentFactory(school=school, grade="P4", name="乙")
        StudentFactory(school=other_school, grade="P3", name="丙")
        response = client_for(bureau_admin).get(reverse("aid:unpaired"), {"school": school.pk, "grade": "P3"})
        assert [student.name for student in response.context["students"]] == ["甲"]

    def test_the_count_is_of_the_students_listed_whatever_the_filter(self, client_for, bureau_admin, school, other_school):
        """The count comes from the roster tallies where the filter is one they keep (region,
        school, stage) and from the rows where not (grade, search): the same either way."""
        first, second, third = (StudentFactory(school=school, name=f"小学生{n}") for n in range(3))
        StudentFactory(school=school, stage=Stage.JUNIOR, grade="J1", name="初中生")
        PairingFactory(student=first)
        PairingFactory(student=second, ended_on=TODAY, end_reason="调岗")  # unpaired again
        StudentFactory(school=school, left_roster_on=TODAY, left_roster_reason="moved_away")
        StudentFactory(school=other_school, grade="P4", name="外校生")
        feixian = TownshipFactory(code="371325100", parent=RegionFactory(code="371325", name="费县"))
        StudentFactory(school=SchoolFactory(region=feixian), name="外县生")
        client = client_for(bureau_admin)
        expected = {
            "": {"小学生1", "小学生2", "初中生", "外校生"},
            f"school={school.pk}": {"小学生1", "小学生2", "初中生"},
            f"school={school.pk}&stage=junior": {"初中生"},
            f"region={other_school.region.code}": {"外校生"},
            "stage=primary": {"小学生1", "小学生2", "外校生"},
            "grade=P4": {"外校生"},
            "q=小学生": {"小学生1", "小学生2"},
        }
        for query, names in expected.items():
            listed, count, counted = listed_and_counted(client, reverse("aid:unpaired") + "?" + query)
            assert (listed, count, counted) == (names, len(names), query.startswith(("grade", "q"))), query

    def test_bulk_pairing(self, client_for, school_admin, school):
        students = StudentFactory.create_batch(3, school=school)
        teacher = TeacherFactory(school=school)
        url = reverse("aid:unpaired") + f"?school={school.pk}"
        response = client_for(school_admin).post(
            url, {"students": [s.pk for s in students[:2]], "teacher": teacher.pk, "started_on": TODAY.isoformat()}
        )
        assert response.status_code == 302 and response["Location"] == url
        assert set(Pairing.objects.active().values_list("student_id", flat=True)) == {s.pk for s in students[:2]}

    def test_bulk_pairing_refuses_another_schools_student_or_teacher(self, client_for, school_admin, school, other_school):
        mine, theirs = StudentFactory(school=school), StudentFactory(school=other_school)
        client = client_for(school_admin)
        response = client.post(
            reverse("aid:unpaired"),
            {"students": [mine.pk, theirs.pk], "teacher": TeacherFactory(school=school).pk, "started_on": TODAY.isoformat()},
        )
        assert response.status_code == 400 and "students" in response.context["bulk_form"].errors
        response = client.post(
            reverse("aid:unpaired"),
            {"students": [mine.pk], "teacher": TeacherFactory(school=other_school).pk, "started_on": TODAY.isoformat()},
        )
        assert response.status_code == 400 and "teacher" in response.context["bulk_form"].errors
        assert not Pairing.objects.exists()

    def test_bulk_pairing_shows_the_services_refusal(self, client_for, bureau_admin, school, other_school):
        """A bureau admin may tick students of several schools; the teacher's school only is accepted."""
        mine, theirs = StudentFactory(school=school), StudentFactory(school=other_school, name="外校生")
        response = client_for(bureau_admin).post(
            reverse("aid:unpaired"),
            {"students": [mine.pk, theirs.pk], "teacher": TeacherFactory(school=school).pk, "started_on": TODAY.isoformat()},
        )
        assert response.status_code == 400
        assert "外校生" in str(response.context["bulk_form"].non_field_errors())
        assert response.context["selected"] == {str(mine.pk), str(theirs.pk)}
        assert not Pairing.objects.exists()

    def test_export_has_the_filtered_students_of_the_scope(self, client_for, school_admin, school, other_school):
        StudentFactory(school=school, name="学生1", grade="P3", class_name="2班")
        StudentFactory(school=school, name="学生2", grade="P3", class_name="1班")
        StudentFactory(school=school, name="学生3", grade="P4")
        PairingFactory(student=StudentFactory(school=school, name="已结对", grade="P3"))
        StudentFactory(school=other_school, name="外校生", grade="P3")

        response = client_for(school_admin).get(
            reverse("aid:unpaired"), {"grade": "P3", "export": "xlsx"}, HTTP_ACCEPT_LANGUAGE="en"
        )

        town = school.region.name
        assert exported_rows(response) == [
            ("Name", "School", "Grade", "Class", "Township"),
            ("学生2", school.name, "Grade 3", "1班", town),
            ("学生1", school.name, "Grade 3", "2班", town),
        ]

    def test_export_takes_a_fixed_number_of_queries(self, client_for, bureau_admin, django_assert_max_num_queries):
        for _ in range(12):
            StudentFactory(school=SchoolFactory())
        client = client_for(bureau_admin)

        with django_assert_max_num_queries(6):  # with the export log's row
            response = client.get(reverse("aid:unpaired"), {"export": "xlsx"})

        assert len(exported_rows(response)) == 13

    def test_the_list_links_its_export_with_the_filter(self, client_for, school_admin):
        response = client_for(school_admin).get(reverse("aid:unpaired"), {"grade": "P3", "page": "1"})

        assert 'href="?grade=P3&amp;export=xlsx" id="export-unpaired"' in response.content.decode()

    def test_viewers_and_teachers_are_forbidden(self, client_for, viewer, teacher):
        assert client_for(viewer).get(reverse("aid:unpaired")).status_code == 403
        assert client_for(teacher).get(reverse("aid:unpaired")).status_code == 403

    @pytest.mark.parametrize("count", [2, 60])
    def test_fixed_number_of_queries(self, client_for, bureau_admin, count, django_assert_max_num_queries):
        for index in range(count):
            school = SchoolFactory()
            StudentFactory(school=school)
            TeacherFactory(school=school)
            PairingFactory(student=StudentFactory(school=school))
        client = client_for(bureau_admin)
        with django_assert_max_num_queries(10):
            response = client.get(reverse("aid:unpaired"))
        assert response.status_code == 200


# ---------------------------------------------------------------------------------------
# The home page of administrators
# ---------------------------------------------------------------------------------------


class TestHomePage:
    def test_unpaired_by_school_reassignment_alerts_and_coverage(self, client_for, bureau_admin, school, other_school):
        term = TermFactory(name="本学期", starts_on=days_ago(60), ends_on=TODAY + datetime.timedelta(days=60))
        StudentFactory.create_batch(2, school=school)
        paired = PairingFactory(student=StudentFactory(school=school))
        PairingFactory(student=StudentFactory(school=other_school))
        User.objects.filter(pk=paired.teacher_id).update(is_active=False)
        this_term = HomeVisitFactory(student=paired.student, visited_on=days_ago(3), dropout_risk="high")
        before = HomeVisitFactory(
            student=paired.student, visited_on=term.starts_on - datetime.timedelta(days=1), dropout_risk="high"
        )
        program, other_program = AidProgramFactory(), AidProgramFactory()
        # Two undelivered policies on one visit of the term: one visit to follow up.
        for visit, undelivered in ((this_term, program), (this_term, other_program), (before, program)):
            PolicyCheck.objects.create(visit=visit, program=undelivered, delivered=False, reason="未到账")
        HomeVisitFactory(student=paired.student, visited_on=days_ago(2)).policy_checks.create(
            program=program, delivered=True
        )
        response = client_for(bureau_admin).get(reverse("home"))
        casework = response.context["casework"]
        assert casework["unpaired_by_school"] == [{"school_id": school.pk, "school__name": school.name, "count": 2}]
        assert casework["reassignment_count"] == 1
        assert casework["alerts"] == {"high_risk": 1, "policy_not_delivered": 1}
        board = response.context["board"]
        assert (board.visited, board.total) == (1, 4)
        page = response.content.decode()
        assert f'{reverse("aid:unpaired")}?school={school.pk}' in page
        assert other_school.name not in page.split('id="unpaired-by-school"')[1]
        assert f'{reverse("aid:visit_list")}?risk=high&amp;' in page
        assert f'{reverse("aid:visit_list")}?undelivered=true&amp;' in page
        assert reverse("aid:coverage") in page

    def test_school_admin_sees_their_school_only(self, client_for, school_admin, school, other_school):
        StudentFactory(school=school)
        StudentFactory(school=other_school)
        casework = client_for(school_admin).get(reverse("home")).context["casework"]
        assert [row["school_id"] for row in casework["unpaired_by_school"]] == [school.pk]

    def test_viewers_do_not_get_the_casework_figures(self, client_for, viewer):
        assert "casework" not in client_for(viewer).get(reverse("home")).context

    @pytest.mark.parametrize("count", [1, 30])
    def test_fixed_number_of_queries(self, client_for, bureau_admin, count, django_assert_max_num_queries):
        TermFactory(name="本学期", starts_on=days_ago(60), ends_on=TODAY + datetime.timedelta(days=60))
        for index in range(count):
            school = SchoolFactory()
            StudentFactory(school=school)
            pairing = PairingFactory(student=StudentFactory(school=school))
            HomeVisitFactory(student=pairing.student, visited_on=days_ago(1), dropout_risk="high")
        client = client_for(bureau_admin)
        with django_assert_max_num_queries(30):  # the whole dashboard, whatever the size
            response = client.get(reverse("home"))
        assert len(response.context["casework"]["unpaired_by_school"]) == count


# ---------------------------------------------------------------------------------------
# Teachers: list, password, create
# ---------------------------------------------------------------------------------------


class TestTeachers:
    def test_list_shows_teachers_in_scope_with_their_active_pairings(self, client_for, school_admin, school, other_school):
        teacher = TeacherFactory(school=school, full_name="王老师")
        for _ in range(2):
            PairingFactory(teacher=teacher, student=StudentFactory(school=school))
        PairingFactory(teacher=teacher, student=StudentFactory(school=school), ended_on=TODAY, end_reason="毕业")
        TeacherFactory(school=other_school, full_name="外校老师")
        response = client_for(school_admin).get(reverse("aid:teacher_list"))
        assert [(t.full_name, t.active_pairings) for t in response.context["teachers"]] == [("王老师", 2)]
        assert "外校老师" not in response.content.decode()

    def test_search(self, client_for, bureau_admin, school):
        TeacherFactory(school=school, full_name="王数学", subject="数学")
        TeacherFactory(school=school, full_name="李语文", subject="语文", phone="13900001111")
        client = client_for(bureau_admin)
        assert [t.full_name for t in client.get(reverse("aid:teacher_list"), {"q": "数学"}).context["teachers"]] == ["王数学"]
        assert [t.full_name for t in client.get(reverse("aid:teacher_list"), {"q": "1111"}).context["teachers"]] == ["李语文"]

    def test_export_has_the_filtered_teachers_of_the_scope(
        self, client_for, school_admin, school, other_school, django_assert_max_num_queries
    ):
        math = TeacherFactory(school=school, full_name="王数学", subject="数学")
        for _ in range(3):
            PairingFactory(teacher=math, student=StudentFactory(school=school))
        TeacherFactory(school=school, full_name="李语文", subject="语文")
        TeacherFactory(school=other_school, full_name="外校数学", subject="数学")
        quitter = TeacherFactory(school=school, full_name="赵数学", subject="数学", is_active=False)
        quitter.set_unusable_password()
        quitter.save()
        client = client_for(school_admin)

        with django_assert_max_num_queries(8):
            response = client.get(reverse("aid:teacher_list"), {"q": "数学", "export": "xlsx"})
        rows = exported_rows(response)

        assert rows == [
            ("姓名", "登录名（手机号）", "学科或职务", "学校", "结对学生数", "账号", "密码"),
            ("王数学", math.username, "数学", school.name, 3, "在职", "已设置"),
            ("赵数学", quitter.username, "数学", school.name, 0, "已移出", "尚未设置"),
        ]

    def test_the_list_links_its_export_with_the_filter(self, client_for, school_admin):
        response = client_for(school_admin).get(reverse("aid:teacher_list"), {"q": "数学", "page": "1"})

        assert 'href="?q=%E6%95%B0%E5%AD%A6&amp;export=xlsx" id="export-teachers"' in response.content.decode()

    def test_set_a_teachers_password(self, client_for, school_admin, school):
        teacher = TeacherFactory(school=school)
        teacher.set_unusable_password()
        teacher.save()
        client = client_for(school_admin)
        response = client.post(
            reverse("aid:teacher_list"), {"teacher": teacher.pk, "password1": PASSWORD, "password2": "other-Pass-1"}
        )
        assert response.status_code == 302
        teacher.refresh_from_db()
        assert not teacher.has_usable_password()
        client.post(reverse("aid:teacher_list"), {"teacher": teacher.pk, "password1": PASSWORD, "password2": PASSWORD})
        teacher.refresh_from_db()
        assert teacher.check_password(PASSWORD)

    def test_cannot_set_the_password_of_another_schools_teacher(self, client_for, school_admin, other_school):
        teacher = TeacherFactory(school=other_school)
        client_for(school_admin).post(
            reverse("aid:teacher_list"), {"teacher": teacher.pk, "password1": PASSWORD, "password2": PASSWORD}
        )
        teacher.refresh_from_db()
        assert not teacher.check_password(PASSWORD)
        with pytest.raises(PermissionDenied):
            services.teacher_set_password(actor=school_admin, teacher=teacher, password=PASSWORD)

    def test_create_a_teacher_whose_login_is_the_phone(self, client_for, school_admin, school):
        data = {
            "full_name": "张 老师", "phone": "138 0000 1234", "school": school.pk, "subject": "数学",
            "password1": PASSWORD, "password2": PASSWORD,
        }
        response = client_for(school_admin).post(reverse("aid:teacher_create"), data)
        assert response.status_code == 302
        teacher = User.objects.get(username="13800001234")
        assert (teacher.full_name, teacher.role, teacher.school, teacher.phone) == ("张老师", Role.TEACHER, school, "13800001234")
        assert teacher.check_password(PASSWORD)

    @pytest.mark.parametrize(
        "change, field",
        [
            ({"phone": "0539-1234567"}, "phone"),
            ({"password2": "Another-2026!"}, "password2"),
            ({"password1": "123", "password2": "123"}, "password1"),
        ],
    )
    def test_create_refuses_bad_input(self, client_for, school_admin, school, change, field):
        data = {"full_name": "张老师", "phone": "13800001234", "school": school.pk, "password1": PASSWORD, "password2": PASSWORD}
        response = client_for(school_admin).post(reverse("aid:teacher_create"), {**data, **change})
        assert response.status_code == 400 and field in response.context["form"].errors
        assert not User.objects.filter(role=Role.TEACHER).exists()

    def test_create_refuses_an_existing_login_and_another_school(self, client_for, school_admin, school, other_school):
        TeacherFactory(username="13800001234", school=school)
        client = client_for(school_admin)
        data = {"full_name": "张老师", "phone": "13800001234", "school": school.pk, "password1": PASSWORD, "password2": PASSWORD}
        response = client.post(reverse("aid:teacher_create"), data)
        assert response.status_code == 400 and response.context["form"].non_field_errors()
        response = client.post(reverse("aid:teacher_create"), {**data, "phone": "13800005678", "school": other_school.pk})
        assert response.status_code == 400 and "school" in response.context["form"].errors
        assert not User.objects.filter(username="13800005678").exists()

    @pytest.mark.parametrize("name", ["aid:teacher_list", "aid:teacher_create", "aid:teacher_import"])
    def test_viewers_and_teachers_are_forbidden(self, client_for, viewer, teacher, name):
        assert client_for(viewer).get(reverse(name)).status_code == 403
        assert client_for(teacher).get(reverse(name)).status_code == 403


# ---------------------------------------------------------------------------------------
# Teacher import
# ---------------------------------------------------------------------------------------

TEACHER_HEADERS = ["序号", "姓名", "手机号码", "学校名称", "任教学科"]


def teacher_xlsx(rows, headers=TEACHER_HEADERS, title="兰陵县结对帮扶教师名单"):
    """A title row merged across the table, a blank row, the header, then the rows."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.append([title])
    sheet.merge_cells(start_row=1, end_row=1, start_column=1, end_column=len(headers))
    sheet.append([])
    sheet.append(headers)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def teacher_csv(rows, headers=TEACHER_HEADERS, encoding="gb18030"):
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(headers)
    writer.writerows(rows)
    return text.getvalue().encode(encoding)


@pytest.fixture
def town_schools(db):
    town = TownshipFactory(name="向城镇")
    return (
        SchoolFactory(name="兰陵县向城镇中心小学", region=town),
        SchoolFactory(name="兰陵县向城镇初级中学", region=town),
    )


def check(actor, content, name="教师.xlsx"):
    return teacher_import.teacher_import_check(actor=actor, file=io.BytesIO(content), file_name=name)


def apply(actor, content, name="教师.xlsx"):
    return teacher_import.teacher_import_apply(actor=actor, file=io.BytesIO(content), file_name=name)


class TestTeacherImport:
    def test_header_under_a_title_aliases_and_a_unique_partial_school_name(self, bureau_admin, town_schools):
        primary, junior = town_schools
        content = teacher_xlsx([
            [1, "王老师", 13800001111, "兰陵县向城镇中心小学", "数学"],
            [2, "李老师", "138 0000 2222", "向城镇初级中学", "语文"],
        ])
        plan = check(bureau_admin, content)
        assert plan.header_row == 3 and plan.counts == {"new": 2, "unchanged": 0, "error": 0}
        assert [(row.number, row.phone, row.school) for row in plan.rows] == [
            (4, "13800001111", primary), (5, "13800002222", junior),
        ]
        apply(bureau_admin, content)
        teacher = User.objects.get(username="13800002222")
        assert (teacher.full_name, teacher.school, teacher.subject, teacher.role) == ("李老师", junior, "语文", Role.TEACHER)
        assert not teacher.has_usable_password()

    def test_csv_in_gb18030_and_xls(self, bureau_admin, town_schools):
        import xlwt

        rows = [[1, "王老师", "13800001111", "兰陵县向城镇中心小学", "数学"]]
        assert check(bureau_admin, teacher_csv(rows), "教师.csv").counts["new"] == 1
        workbook = xlwt.Workbook(encoding="utf-8")
        sheet = workbook.add_sheet("教师")
        for column, value in enumerate(TEACHER_HEADERS):
            sheet.write(0, column, value)
        for column, value in enumerate(rows[0]):
            sheet.write(1, column, value)
        buffer = io.BytesIO()
        workbook.save(buffer)
        assert check(bureau_admin, buffer.getvalue(), "教师.xls").counts["new"] == 1

    def test_errors_name_the_row_and_the_column_and_nothing_is_written(self, bureau_admin, town_schools, other_school):
        TeacherFactory(username="13800009999", full_name="赵老师", school=town_schools[0])
        content = teacher_xlsx([
            [1, "王老师", 13800001111, "兰陵县向城镇中心小学", "数学"],
            [2, "", 13800002222, "兰陵县向城镇中心小学", ""],
            [3, "李老师", "0539-1234567", "兰陵县向城镇中心小学", ""],
            [4, "周老师", 13800001111, "兰陵县向城镇中心小学", ""],
            [5, "吴老师", 13800003333, "向城镇", ""],
            [6, "郑老师", 13800004444, "不存在的学校", ""],
            [7, "冯老师", 13800009999, "兰陵县向城镇中心小学", ""],
        ])
        plan = check(bureau_admin, content)
        errors = {(error.row_number, error.column) for error in plan.errors}
        assert errors == {(5, "姓名"), (6, "手机号"), (7, "手机号"), (8, "学校"), (9, "学校"), (10, "手机号")}
        assert plan.counts == {"new": 1, "unchanged": 0, "error": 6}
        message = {error.row_number: error.message for error in plan.errors}
        assert "4" in message[7]  # the duplicate names the first row
        assert "赵老师" in message[10]
        with pytest.raises(teacher_import.ImportHasErrors):
            apply(bureau_admin, content)
        assert not User.objects.filter(username="13800001111").exists()

    def test_missing_required_column(self, bureau_admin, town_schools):
        plan = check(bureau_admin, teacher_xlsx([["王老师", "数学"]], headers=["姓名", "学科"]))
        assert plan.missing_columns == ["手机号", "学校"] and plan.has_errors

    def test_a_file_without_a_header_is_refused(self, bureau_admin, town_schools):
        with pytest.raises(teacher_import.SpreadsheetRefused):
            check(bureau_admin, teacher_xlsx([["a", "b"]], headers=["甲", "乙"]))

    def test_importing_again_changes_nothing(self, bureau_admin, town_schools):
        content = teacher_xlsx([[1, "王老师", 13800001111, "兰陵县向城镇中心小学", "数学"]])
        apply(bureau_admin, content)
        plan = apply(bureau_admin, content)
        assert plan.counts == {"new": 0, "unchanged": 1, "error": 0}
        assert User.objects.filter(role=Role.TEACHER).count() == 1

    def test_same_number_with_another_name_or_school_is_an_error(self, bureau_admin, town_schools):
        primary, junior = town_schools
        TeacherFactory(username="13800001111", full_name="王老师", school=primary)
        plan = check(bureau_admin, teacher_xlsx([[1, "王老师", 13800001111, junior.name, "数学"]]))
        assert plan.counts["error"] == 1 and plan.errors[0].column == "手机号"

    def test_school_admin_may_leave_out_the_school_but_not_name_another(self, town_schools):
        primary, junior = town_schools
        admin = SchoolAdminFactory(school=primary)
        plan = check(admin, teacher_xlsx([["王老师", 13800001111, "数学"]], headers=["姓名", "手机号", "学科"]))
        assert plan.counts["new"] == 1 and plan.rows[0].school == primary
        plan = check(admin, teacher_xlsx([[1, "李老师", 13800002222, junior.name, ""]]))
        assert plan.counts["error"] == 1 and plan.errors[0].column == "学校"

    def test_a_number_of_an_account_outside_scope_is_not_described(self, town_schools, other_school):
        TeacherFactory(username="13800001111", full_name="外校老师", school=other_school)
        admin = SchoolAdminFactory(school=town_schools[0])
        plan = check(admin, teacher_xlsx([[1, "王老师", 13800001111, "", ""]]))
        assert plan.counts["error"] == 1 and "外校老师" not in plan.errors[0].message

    def test_viewers_and_teachers_may_not_import(self, viewer, teacher):
        for actor in (viewer, teacher):
            with pytest.raises(PermissionDenied):
                check(actor, teacher_xlsx([]))


class TestTeacherImportView:
    def test_check_then_apply(self, client_for, school_admin, school):
        content = teacher_xlsx([[1, "王老师", 13800001111, school.name, "数学"]])
        client = client_for(school_admin)
        upload = SimpleUploadedFile("教师.xlsx", content)
        response = client.post(reverse("aid:teacher_import"), {"file": upload})
        assert response.status_code == 200 and response.context["counts"]["new"] == 1
        assert not User.objects.filter(username="13800001111").exists()
        apply_form = response.context["apply_form"]
        response = client.post(
            reverse("aid:teacher_import"),
            {"content": apply_form["content"].value(), "file_name": apply_form["file_name"].value()},
        )
        assert response.status_code == 302 and response["Location"] == reverse("aid:teacher_list")
        assert User.objects.get(username="13800001111").school == school

    def test_errors_are_listed_with_rows_and_columns(self, client_for, school_admin, school):
        content = teacher_xlsx([[1, "王老师", 12345, school.name, ""]])
        response = client_for(school_admin).post(
            reverse("aid:teacher_import"), {"file": SimpleUploadedFile("教师.xlsx", content)}
        )
        page = response.content.decode()
        assert 'id="import-errors"' in page and 'id="apply-import"' not in page
        assert [(e.row_number, e.column) for e in response.context["plan"].errors] == [(4, "手机号")]

    def test_a_damaged_sent_back_file_is_refused(self, client_for, school_admin):
        response = client_for(school_admin).post(reverse("aid:teacher_import"), {"content": "@@@", "file_name": "a.xlsx"})
        assert response.status_code == 302
        assert not User.objects.filter(role=Role.TEACHER).exists()

    def test_another_county_bureau_cannot_import_into_our_schools(self, school):
        county = RegionFactory(code="371302", name="兰山区")
        admin = BureauAdminFactory(region=county)
        plan = check(admin, teacher_xlsx([[1, "王老师", 13800001111, school.name, ""]]))
        assert plan.counts["error"] == 1 and plan.errors[0].column == "学校"


# ---------------------------------------------------------------------------------------
# On a phone
# ---------------------------------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_pairing_pages_fit_a_phone_screen(browser, live_server, artifacts):
    """The work list, the pairing form and the teacher list never scroll sideways at 360 px."""
    school = SchoolFactory(name="兰陵县向城镇中心小学")
    students = StudentFactory.create_batch(3, school=school)
    TeacherFactory(school=school, full_name="王老师", subject="数学", phone="13800001111")
    moved = PairingFactory(student=students[0])
    User.objects.filter(pk=moved.teacher_id).update(school=SchoolFactory())
    SchoolAdminFactory(username="phone", school=school)
    context = browser.new_context(viewport={"width": 360, "height": 740}, locale="zh-CN")
    page = context.new_page()
    page.goto(f"{live_server.url}/login/")
    page.fill("input[name=username]", "phone")
    page.fill("input[name=password]", "pass12345")
    page.click("#login-form button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    for name, url in [
        ("home", reverse("home")),
        ("unpaired", reverse("aid:unpaired")),
        ("pairing-assign", reverse("aid:pairing_assign", args=[students[0].pk])),
        ("reassignment", reverse("aid:reassignment")),
        ("teacher-list", reverse("aid:teacher_list")),
        ("teacher-import", reverse("aid:teacher_import")),
    ]:
        page.goto(f"{live_server.url}{url}")
        assert page.evaluate("document.documentElement.scrollWidth") <= 360, name
        page.screenshot(path=str(artifacts / f"{name}-phone.png"), full_page=True)
    context.close()
