"""The student list on a large roster: its search indexes, its order and its pages."""
import pytest
from django.db import connection, transaction
from django.urls import reverse

from students.models import Student
from tests.factories import SchoolFactory, StudentFactory

pytestmark = pytest.mark.django_db

NAMES = ("王小明", "王小红", "李明", "张晓明", "明", "赵明亮", "Li Ming")


def listed(client, **query):
    return [s.name for s in client.get(reverse("students:student_list"), query).context["students"]]


class TestSearch:
    @pytest.mark.parametrize("text", ["小明", "明", "王小", "晓明", "明亮", "王小红", "ming", "LI"])
    def test_finds_every_name_holding_the_text(self, client_for, bureau_admin, school, text):
        for name in NAMES:
            StudentFactory(school=school, name=name)
        expected = sorted(name for name in NAMES if text.lower() in name.lower())
        assert sorted(listed(client_for(bureau_admin), q=text)) == expected

    def test_finds_by_the_id_numbers_last_digits_and_the_student_number(self, client_for, bureau_admin, school):
        students = StudentFactory.create_batch(5, school=school)
        wanted = students[2]
        wanted.student_number = "xs-2020-17"
        wanted.save()
        client = client_for(bureau_admin)
        tail = wanted.id_number[-6:]
        assert listed(client, q=tail) == [s.name for s in students if s.id_number.endswith(tail)]
        assert listed(client, q="XS-2020-17") == [wanted.name]
        # Digits in the middle of an ID number are not its tail.
        assert wanted.name not in listed(client, q=wanted.id_number[4:10])

    @pytest.mark.skipif(connection.vendor != "postgresql", reason="the indexes exist on PostgreSQL only")
    @pytest.mark.parametrize(
        "text, index",
        [("小明", "student_name_grams"), ("赵明亮", "student_name_grams"), ("654321", "student_id_number_reversed")],
    )
    def test_the_search_reads_its_indexes(self, school, text, index):
        StudentFactory.create_batch(30, school=school)
        students = Student.objects.search(text).order_by()
        with transaction.atomic(), connection.cursor() as cursor:
            # On a handful of rows reading them all is cheaper; forbid that to see which
            # indexes serve the condition, as the planner chooses them on a large roster.
            cursor.execute("ANALYZE students_student")
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute("SET LOCAL enable_indexscan = off")
            plan = students.explain()
        assert index in plan, plan
        assert "student_number_upper" in plan


class TestPages:
    def test_the_roster_is_ordered_by_school_grade_class_and_name(self, client_for, bureau_admin):
        first, second = SchoolFactory(), SchoolFactory()
        rows = [
            (second, "P1", "1班", "甲"), (first, "P3", "2班", "乙"), (first, "P3", "1班", "丙"),
            (first, "P2", "1班", "丁"), (first, "P3", "1班", "戊"),
        ]
        for school, grade, class_name, name in rows:
            StudentFactory(school=school, grade=grade, class_name=class_name, name=name)
        expected = [r[3] for r in sorted(rows, key=lambda r: (r[0].pk, r[1], r[2], r[3]))]
        assert listed(client_for(bureau_admin)) == expected

    def test_a_page_past_the_end_shows_the_last_page(self, client_for, bureau_admin, school):
        StudentFactory.create_batch(55, school=school)
        client = client_for(bureau_admin)
        everyone = listed(client) + listed(client, page=2)
        response = client.get(reverse("students:student_list"), {"page": 1000})
        assert response.status_code == 200
        assert response.context["page_obj"].number == 2
        assert [s.name for s in response.context["students"]] == everyone[50:]
        assert len(set(everyone)) == 55
        assert client.get(reverse("students:student_list"), {"page": "x"}).context["page_obj"].number == 1

    @pytest.mark.parametrize("count", [3, 120])
    def test_a_deep_page_costs_the_same_queries(self, client_for, bureau_admin, school, count,
                                                django_assert_max_num_queries):
        StudentFactory.create_batch(count, school=school)
        client = client_for(bureau_admin)
        with django_assert_max_num_queries(9):
            response = client.get(reverse("students:student_list"), {"page": 3})
        assert response.status_code == 200
        assert len(response.context["students"]) == (20 if count == 120 else 3)
