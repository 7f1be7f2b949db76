"""Writing many rows at once: PostgreSQL COPY, and the ORM path other databases take.

Each test runs on both paths and compares what the database holds with what was written.
"""
import datetime

import pytest
from django.db import connection
from django.utils import timezone

from common import bulk_writes
from students.choices import HouseholdCategory, Stage
from students.models import Household, ImportedChange, RosterImport, School, Student
from tests.factories import (
    BureauAdminFactory,
    SchoolFactory,
    StudentFactory,
    TownshipFactory,
    id_number_for,
)

pytestmark = pytest.mark.django_db

# Values that COPY's text format must escape, or that look like its NULL marker.
AWKWARD_TEXTS = ["制表\t符", "换\n行", "回\r车", "反\\斜杠", "\\N", "", "引号\"'", "末尾\\"]


@pytest.fixture(params=["copy", "orm"])
def path(request, monkeypatch):
    """The COPY path, and the ORM path other databases (the SQLite demo) take."""
    if request.param == "orm":
        monkeypatch.setattr(bulk_writes, "uses_copy", lambda: False)
    return request.param


@pytest.fixture
def actor():
    return BureauAdminFactory()


def new_student(number, school, household, note):
    id_number = id_number_for(number)
    return Student(
        name=f"学生{number}", id_number=id_number, gender="M", birth_date=datetime.date(2012, 5, 1),
        school=school, stage=Stage.PRIMARY, grade="P3", note=note, household=household,
    )


def test_created_rows_and_their_history_are_what_was_written(path, actor):
    town = TownshipFactory()
    school = SchoolFactory(region=town)
    households = [
        Household(head_name=f"户主{i}", township=town, village=text, category=HouseholdCategory.DIBAO)
        for i, text in enumerate(AWKWARD_TEXTS)
    ]
    students = [new_student(i, school, households[i], text) for i, text in enumerate(AWKWARD_TEXTS)]
    when = timezone.now() - datetime.timedelta(minutes=5)
    before = timezone.now()

    bulk_writes.create_with_history(households, user=actor, reason="导入 1", date=when)
    bulk_writes.create_with_history(students, user=actor, reason="导入 1", date=when)

    assert all(student.pk is not None for student in students)
    stored = {s.pk: s for s in Student.objects.select_related("household")}
    for student, text in zip(students, AWKWARD_TEXTS, strict=True):
        row = stored[student.pk]
        assert (row.note, row.household.village, row.school_id) == (text, text, school.pk)
        assert row.created_at >= before and row.updated_at >= before
    history = Student.history.filter(id__in=[s.pk for s in students])
    assert sorted(h.note for h in history) == sorted(AWKWARD_TEXTS)
    assert {(h.history_type, h.history_user_id, h.history_change_reason, h.history_date) for h in history} == {
        ("+", actor.pk, "导入 1", when)
    }
    assert Household.history.filter(id__in=[h.pk for h in households], history_type="+").count() == len(AWKWARD_TEXTS)


def test_updated_rows_keep_the_fields_not_named(path, actor):
    students = StudentFactory.create_batch(len(AWKWARD_TEXTS), grade="P4", class_name="2班")
    other_household = students[0].household
    for student, text in zip(students, AWKWARD_TEXTS, strict=True):
        student.note = text
        student.household = other_household
        student.grade = "P6"  # changed on the instance, but not among the fields saved

    bulk_writes.update_with_history(students, ["note", "household"], user=actor, reason="更正")

    stored = {s.pk: s for s in Student.objects.filter(pk__in=[s.pk for s in students])}
    assert [stored[s.pk].note for s in students] == AWKWARD_TEXTS
    assert {(s.household_id, s.grade, s.class_name) for s in stored.values()} == {(other_household.pk, "P4", "2班")}
    changes = Student.history.filter(history_type="~", history_change_reason="更正")
    assert sorted(h.note for h in changes) == sorted(AWKWARD_TEXTS)
    assert {h.history_user_id for h in changes} == {actor.pk}


def test_rows_given_as_values_keep_json_and_binary_intact(path, actor):
    student = StudentFactory()
    roster_import = RosterImport.objects.create(uploaded_by=actor, file_name="花名册.xlsx", checksum="0" * 64)
    before = {"name": "张\\三\t", "nested": {"list": [1, "二", None]}, "quote": '"'}

    bulk_writes.create_from_values(ImportedChange, [
        {
            "roster_import_id": roster_import.pk, "student_id": student.pk, "household_id": None,
            "household_created": False, "action": "updated", "row_number": 7,
            "student_before": before, "household_before": {},
        }
    ])
    bulk_writes.create([RosterImport(uploaded_by=actor, file_name="二.csv", checksum="1" * 64, content=b"\x00\\\xff")])

    change = ImportedChange.objects.get()
    assert (change.student_before, change.household_before, change.row_number) == (before, {}, 7)
    assert bytes(RosterImport.objects.get(file_name="二.csv").content) == b"\x00\\\xff"


def test_create_refuses_saved_instances(actor):
    student = StudentFactory()

    with pytest.raises(ValueError):
        bulk_writes.create([student])


def test_copy_works_with_the_debug_cursor(actor):
    """With DEBUG on (make run on PostgreSQL), Django wraps cursors in CursorDebugWrapper."""
    town = TownshipFactory()
    households = [Household(head_name=f"户主{i}", township=town, category=HouseholdCategory.DIBAO) for i in range(3)]
    connection.force_debug_cursor = True
    try:
        bulk_writes.create_with_history(households, user=actor, reason="导入 1")
    finally:
        connection.force_debug_cursor = False
    assert Household.objects.filter(township=town).count() == 3


def test_many_updates_in_one_transaction_do_not_pile_up_locks(actor):
    """A million-student seed makes thousands of bulk updates in one transaction; a staging
    table made and dropped per call kept its locks to the end and filled PostgreSQL's lock
    table. The locks held after 60 updates are about those after 3 (it was 3 more a call)."""
    from django.db import transaction

    student = StudentFactory()

    def locks_after(updates):
        with transaction.atomic():
            for n in range(updates):
                student.note = f"第{n}次更正"
                bulk_writes.update_with_history([student], ["note"], user=actor, reason="更正")
                student.name = f"学生{n}"
                bulk_writes.update_with_history([student], ["name"], user=actor, reason="更正")
            with connection.cursor() as cursor:
                cursor.execute("SELECT count(*) FROM pg_locks WHERE pid = pg_backend_pid()")
                return cursor.fetchone()[0]

    few, many = locks_after(3), locks_after(60)
    assert many <= few + 5
    student.refresh_from_db()
    assert (student.note, student.name) == ("第59次更正", "学生59")
    assert Student.history.filter(id=student.pk, history_type="~").count() == 126


def history_values(record):
    """A history row's values but its own id and the times the write stamps."""
    skipped = {"history_id", "id", "created_at", "updated_at", "household_id"}
    return {f.attname: getattr(record, f.attname) for f in type(record)._meta.concrete_fields if f.attname not in skipped}


def test_rows_created_from_values_have_the_history_a_save_writes(path, actor):
    """The import's fast path writes the same rows and history rows as saving each student:
    the same fields, defaults for what the row leaves out, history_type, user, reason and date."""
    town = TownshipFactory()
    school = SchoolFactory(region=town)
    when = timezone.now() - datetime.timedelta(minutes=5)
    fields = {
        "name": "张三", "id_number": id_number_for(1), "gender": "M", "birth_date": datetime.date(2012, 5, 1),
        "school": school, "stage": Stage.PRIMARY, "grade": "P3", "note": AWKWARD_TEXTS[0],
    }
    [household] = bulk_writes.create_from_values_with_history(
        Household, [{"head_name": "户主", "township": town, "category": HouseholdCategory.DIBAO}],
        user=actor, reason="导入 1", date=when,
    )
    [written] = bulk_writes.create_from_values_with_history(
        Student, [{**fields, "household": household}], user=actor, reason="导入 1", date=when,
    )
    saved = Student(**{**fields, "id_number": id_number_for(2)}, household=household)
    saved._history_user, saved._change_reason, saved._history_date = actor, "导入 1", when
    saved.save()

    stored = Student.objects.get(pk=written.pk)
    assert (written.household_id, stored.household_id, stored.school_id) == (household.pk, household.pk, school.pk)
    assert stored.created_at == written.created_at and stored.updated_at >= when
    fast, slow = (Student.history.get(id=pk) for pk in (written.pk, saved.pk))
    assert history_values(fast) == {**history_values(slow), "id_number": id_number_for(1)}
    assert (fast.history_type, fast.history_user_id, fast.history_date) == ("+", actor.pk, when)
    assert fast.household_id == household.pk
    assert Household.history.get(id=household.pk).history_change_reason == "导入 1"


def test_rows_created_from_values_refuse_unknown_fields(actor):
    with pytest.raises(ValueError):
        bulk_writes.create_from_values_with_history(
            Household, [{"head_name": "户主", "township": TownshipFactory(), "colour": "红"}], user=actor, reason="",
        )


def test_rows_given_as_dicts_are_created_with_their_defaults_and_history(path, actor):
    """create_rows: the fields a row leaves out take a new instance's values, the ids come
    back in order, and each row has its creation record with the values written."""
    town = TownshipFactory()
    school = SchoolFactory(region=town)
    when = timezone.now() - datetime.timedelta(minutes=5)
    before = timezone.now()
    households = [{"head_name": f"户主{i}", "township_id": town.pk, "village": text, "category": HouseholdCategory.DIBAO}
                  for i, text in enumerate(AWKWARD_TEXTS)]

    household_ids = bulk_writes.create_rows(Household, households, user=actor, reason="导入 1", date=when)
    student_ids = bulk_writes.create_rows(Student, [
        {"name": f"学生{i}", "id_number": id_number_for(i), "gender": "M", "birth_date": datetime.date(2012, 5, 1),
         "school_id": school.pk, "stage": Stage.PRIMARY, "grade": "P3", "note": text, "household_id": household_id}
        for i, (text, household_id) in enumerate(zip(AWKWARD_TEXTS, household_ids, strict=True))
    ], user=actor, reason="导入 1", date=when)

    stored = Student.objects.select_related("household").in_bulk(student_ids)
    assert [(stored[pk].note, stored[pk].household.village) for pk in student_ids] == [(t, t) for t in AWKWARD_TEXTS]
    assert {(s.class_name, s.left_roster_on, s.is_boarder) for s in stored.values()} == {("", None, False)}
    assert all(s.created_at >= before and s.updated_at >= before for s in stored.values())
    history = Student.history.filter(id__in=student_ids)
    assert sorted((h.id, h.note, h.class_name) for h in history) == sorted(
        (pk, text, "") for pk, text in zip(student_ids, AWKWARD_TEXTS, strict=True)
    )
    assert {(h.history_type, h.history_user_id, h.history_change_reason, h.history_date) for h in history} == {
        ("+", actor.pk, "导入 1", when)
    }
    assert Household.history.filter(id__in=household_ids, history_type="+").count() == len(AWKWARD_TEXTS)


def index_definitions(table):
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s ORDER BY 1", [table])
        return cursor.fetchall()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's indexes")
def test_an_empty_table_loses_its_loose_indexes_for_the_load_only(actor):
    """indexes_built_after: during the load an empty table keeps only the indexes its
    constraints own; after it, every index is back as it was. A table with rows keeps them."""
    town = SchoolFactory().region  # students_school has a row: its indexes stay
    assert not Household.objects.exists()
    households, schools = index_definitions("students_household"), index_definitions("students_school")

    with bulk_writes.indexes_built_after([Household, School]):
        during = [name for name, _definition in index_definitions("students_household")]
        assert during == ["students_household_pkey"]
        assert index_definitions("students_school") == schools
        bulk_writes.create_rows(Household, [{"head_name": "户主", "township_id": town.pk}], user=actor, reason="导入")

    assert index_definitions("students_household") == households
    assert Household.objects.filter(township=town).count() == 1
