"""IdNumberCount: the records of each ID number, kept by triggers on the student table.

A random series of the ways students are written (a form's save, the importer's COPY and
its bulk UPDATE, a queryset's update and delete, a rolled-back transaction), each followed
by a comparison of every count with a fresh count of the student table.
"""
import datetime
import random

import pytest
from django.db import connection, transaction
from django.db.models import Count

from common import bulk_writes
from students.models import IdNumberCount, Student, shared_id_numbers

from ..factories import SchoolFactory, StudentFactory, id_number_for

pytestmark = pytest.mark.django_db

LEFT = {"left_roster_on": datetime.date(2026, 9, 1), "left_roster_reason": "graduated"}


def recounted():
    """{id_number: records}, counted from the students."""
    rows = Student.objects.order_by().values("id_number").annotate(records=Count("pk"))
    return {row["id_number"]: row["records"] for row in rows}


def kept():
    return dict(IdNumberCount.objects.values_list("id_number", "records"))


class Registry:
    """Writes students of a small pool of ID numbers, off the roster (so that one number may
    have several records), by every path the application writes them."""

    def __init__(self, seed):
        self.random = random.Random(seed)
        self.pool = [id_number_for(n) for n in range(6)]
        self.school = SchoolFactory()

    def number(self):
        return self.random.choice(self.pool)

    def students(self, count):
        ids = list(Student.objects.values_list("pk", flat=True))
        return list(Student.objects.filter(pk__in=self.random.sample(ids, min(count, len(ids)))))

    def new(self):
        return StudentFactory.build(id_number=self.number(), school=self.school, household=None, **LEFT)

    def form_save(self):
        StudentFactory(id_number=self.number(), school=self.school, household=None, **LEFT)

    def copy_in(self):
        bulk_writes.create([self.new() for _ in range(self.random.randint(1, 5))])

    def renumber_one(self):
        for student in self.students(1):
            student.id_number = self.number()
            student.save()

    def renumber_in_bulk(self):
        students = self.students(4)
        for student in students:
            student.id_number = self.number()
        if students:
            bulk_writes.update(students, ["id_number"])

    def queryset_update(self):
        Student.objects.filter(pk__in=[s.pk for s in self.students(3)]).update(id_number=self.number())

    def change_other_fields(self):
        Student.objects.filter(pk__in=[s.pk for s in self.students(3)]).update(class_name="2班")

    def delete_one(self):
        for student in self.students(1):
            student.delete()

    def queryset_delete(self):
        Student.objects.filter(pk__in=[s.pk for s in self.students(2)]).delete()

    def rolled_back(self):
        with pytest.raises(RuntimeError), transaction.atomic():
            self.copy_in()
            self.queryset_update()
            raise RuntimeError("the user's request failed half-way")

    OPERATIONS = (
        form_save, copy_in, renumber_one, renumber_in_bulk, queryset_update, change_other_fields,
        delete_one, queryset_delete, rolled_back,
    )


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_every_count_equals_a_recount_after_a_random_series_of_writes(seed):
    registry = Registry(seed)
    for step in range(60):
        operation = registry.random.choice(Registry.OPERATIONS)
        operation(registry)
        assert kept() == recounted(), f"after step {step}, {operation.__name__}"
    counts = recounted()
    assert sorted(shared_id_numbers()) == sorted(number for number, records in counts.items() if records > 1)
    assert any(records > 1 for records in counts.values()), "the series made shared ID numbers"


def test_a_number_no_record_carries_any_more_has_no_count():
    student = StudentFactory(**LEFT)
    twin = StudentFactory(id_number=student.id_number, **LEFT)
    assert kept()[student.id_number] == 2
    assert shared_id_numbers() == [student.id_number]
    twin.delete()
    student.id_number = id_number_for(999)
    student.save()
    assert kept() == {id_number_for(999): 1}
    assert shared_id_numbers() == []


@pytest.mark.parametrize("tables", ["students_student", "students_student, students_idnumbercount"])
def test_truncating_the_students_leaves_no_counts(tables):
    """As a restore with --clean, or Django's flush (both tables in one statement), does."""
    StudentFactory()
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no checks left pending before a TRUNCATE
        cursor.execute(f"TRUNCATE {tables} CASCADE")
    assert kept() == {}
