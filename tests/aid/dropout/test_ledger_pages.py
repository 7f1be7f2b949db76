"""The ledgers at any size: a page asks the same number of queries for a few rows as for
many, its rows are those of the whole ledger (which the print view and the export go
through in batches), in the ledger's order, and a past period lists each record as it
stood at the period's end."""
import datetime
import io
import re

import openpyxl
import pytest
from django.urls import reverse

from aid.dropout.ledgers import Entries, Period, dropout_ledger, of_school_age, school_age_ledger, students_as_of
from aid.dropout.models import DropoutCase
from students import services
from students.models import Student
from tests.factories import (
    BureauAdminFactory,
    HouseholdFactory,
    SchoolFactory,
    StudentFactory,
    TownshipFactory,
)
from tests.history import rewrite_history

pytestmark = [pytest.mark.django_db, pytest.mark.today("2026-12-10")]


UTC = datetime.timezone.utc
NOVEMBER = Period.parse("2026-11")
DECEMBER = Period.parse("2026-12")
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
# At most, a page: the session and the user, the scope's schools, the count (of a past
# school-age ledger: of its two sources), the page's rows and what they show. School-age:
# the keys, the rows of each source, households, schools and teachers. Suspected: the ids
# a reason may name, schools. Dropout: attempts, responsible persons, the records (and the
# students with none that old), schools.
PAGE_QUERIES = {"school_age": 12, "suspected": 9, "dropout": 11}


def entries(kind, school, count):
    """`count` entries of the ledger `kind` in `school`, all on the records since 1 November."""
    if kind == "school_age":
        StudentFactory.create_batch(count, school=school)
    elif kind == "suspected":
        StudentFactory.create_batch(count, school=school, status="suspended")  # and no case
    else:
        for student in StudentFactory.create_batch(count, school=school):
            DropoutCase.objects.create(student=student, kind="dropout", trigger="manual", opened_on=datetime.date(2026, 11, 2))
    rewrite_history(Student.history, history_date=datetime.datetime(2026, 11, 1, tzinfo=UTC))


def workbook_rows(response):
    sheet = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    return [list(row) for row in sheet.iter_rows(min_row=4, values_only=True)]


def printed_rows(response):
    return printed_rows_of(b"".join(response.streaming_content).decode())


def printed_rows_of(html):
    body = html[html.index("<tbody>") : html.index("</tbody>")]
    return [re.findall(r"<td[^>]*>(.*?)</td>", row) for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)]


@pytest.mark.parametrize("kind", ["school_age", "suspected", "dropout"])
@pytest.mark.parametrize("period", [DECEMBER, NOVEMBER], ids=["this month", "last month"])
def test_a_page_asks_as_many_queries_for_a_few_rows_as_for_many(
    client_for, django_assert_max_num_queries, bureau_admin, school, kind, period
):
    """The count and the 100 rows of the page come from SQL; schools, households, teachers
    and persuasion records are read for those rows only."""
    client = client_for(bureau_admin)
    queries = {}
    for added, total, pages in ((3, 3, [1]), (130, 133, [1, 2])):
        entries(kind, school, added)
        for page in pages:
            with django_assert_max_num_queries(PAGE_QUERIES[kind]) as captured:
                response = client.get(reverse("aid:ledger"), {"kind": kind, "period": period.label, "page": page})
            assert response.context["page_obj"].paginator.count == total
            assert len(response.context["rows"]) == min(100, total - 100 * (page - 1))
            queries[total, page] = len(captured)
    assert len(set(queries.values())) == 1, queries


@pytest.mark.parametrize("kind", ["school_age", "suspected", "dropout"])
def test_the_pages_put_together_are_the_whole_ledger_as_printed_and_exported(client_for, monkeypatch, kind):
    """Pages 1 to 3 of 250 entries are the rows the print view and the export go through
    in batches (here of 7 entries), numbered 1 to 250 in the same order; some of them
    renamed since, so that last month's ledger reads them from their history."""
    monkeypatch.setattr(Entries, "batch_size", 7)
    school = SchoolFactory()
    entries(kind, school, 250)
    admin = BureauAdminFactory()
    for student in Student.objects.order_by("pk")[::10]:
        student.name = f"{student.name}改"
        services.student_save(actor=admin, student=student)
    client = client_for(admin)
    query = {"kind": kind, "period": NOVEMBER.label}
    paged = []
    for page in (1, 2, 3):
        response = client.get(reverse("aid:ledger"), {**query, "page": page}, **EN)
        paged += [[value for _column, value in row] for row in response.context["rows"]]
    assert [row[0] for row in paged] == list(range(1, 251))
    assert not any("改" in str(value) for row in paged for value in row)  # the names as they were
    exported = workbook_rows(client.get(reverse("aid:ledger_export"), query, **EN))
    assert [row[:6] for row in exported] == [row[:6] for row in paged]
    printed = printed_rows(client.get(reverse("aid:ledger_print"), query, **EN))
    assert [row[:6] for row in printed] == [[str(value) for value in row[:6]] for row in paged]


def test_the_school_age_ledger_goes_by_township_village_and_household(bureau_admin):
    """A child without a household first, then by the household's township (its code),
    village and head, then name: the order of the paper ledger."""
    school = SchoolFactory()
    east, west = TownshipFactory(code="371324902"), TownshipFactory(code="371324901")
    households = {
        "west 李庄 张三": HouseholdFactory(township=west, village="李庄村", head_name="张三"),
        "west 王庄 李四": HouseholdFactory(township=west, village="王庄村", head_name="李四"),
        "west 王庄 王五": HouseholdFactory(township=west, village="王庄村", head_name="王五"),
        "east 李庄 赵六": HouseholdFactory(township=east, village="李庄村", head_name="赵六"),
    }
    for label, household in reversed(households.items()):
        for name in ("乙", "甲"):
            StudentFactory(school=school, household=household, name=f"{label} {name}")
    StudentFactory(school=school, household=None, name="无户")
    ledger = school_age_ledger(bureau_admin, DECEMBER)
    # By code point, as PostgreSQL's C collation and Python compare: 李 < 王, 乙 < 甲.
    assert [student.name for student in ledger] == ["无户"] + [
        f"{label} {name}" for label in households for name in ("乙", "甲")
    ]
    assert [student.name for student in ledger[3:5]] == ["west 王庄 李四 乙", "west 王庄 李四 甲"]


def test_a_past_month_lists_each_record_as_it_stood_at_its_end(bureau_admin, school, other_school):
    """Moved, renamed or deleted since November: in November's ledger as it was then. Added
    since: not in it. Deleted in November: gone from it. Two records of the same moment: the
    later one."""
    moved, renamed, deleted_since, deleted_then, twice = StudentFactory.create_batch(5, school=school)
    rewrite_history(Student.history, history_date=datetime.datetime(2026, 10, 1, tzinfo=UTC))
    moved.school = other_school
    services.student_save(actor=bureau_admin, student=moved)
    old_name, renamed.name = renamed.name, "改名"
    services.student_save(actor=bureau_admin, student=renamed)
    deleted_since_id, deleted_since_name = deleted_since.pk, deleted_since.name
    deleted_since.delete()
    added = StudentFactory(school=school)
    deleted_then_id = deleted_then.pk
    deleted_then.delete()
    rewrite_history(Student.history.filter(id=deleted_then_id, history_type="-"),
                    history_date=datetime.datetime(2026, 11, 20, tzinfo=UTC))
    twice.grade = "P4"
    services.student_save(actor=bureau_admin, student=twice)
    rewrite_history(Student.history.filter(id=twice.pk), history_date=datetime.datetime(2026, 10, 1, tzinfo=UTC))

    november = school_age_ledger(bureau_admin, NOVEMBER)
    assert {student.pk: (student.name, student.school, student.grade) for student in november} == {
        moved.pk: (moved.name, school, "P3"),
        renamed.pk: (old_name, school, "P3"),
        deleted_since_id: (deleted_since_name, school, "P3"),
        twice.pk: (twice.name, school, "P4"),
    }
    december = school_age_ledger(bureau_admin, DECEMBER)
    assert {student.pk: student.school for student in december} == {
        moved.pk: other_school, renamed.pk: school, added.pk: school, twice.pk: school
    }
    # The ledger reads the unchanged from the table and the others from their history: the
    # same records as all of them from the history.
    for period, ledger in ((NOVEMBER, november), (DECEMBER, december)):
        every_record = students_as_of(bureau_admin, period).filter(of_school_age(period))
        assert sorted(record.id for record in every_record) == sorted(
            student.pk for student in ledger
        )


def test_a_case_of_a_student_deleted_since_keeps_the_school_they_dropped_out_of(bureau_admin, school):
    """The dropout ledger reads the student's history of the day the case opened."""
    student = StudentFactory(school=school, grade="P5")
    case = DropoutCase.objects.create(student=student, kind="dropout", trigger="manual", opened_on=datetime.date(2026, 11, 2))
    rewrite_history(Student.history, history_date=datetime.datetime(2026, 11, 1, tzinfo=UTC))
    student.grade = "P6"
    services.student_save(actor=bureau_admin, student=student)
    [entry] = dropout_ledger(bureau_admin, NOVEMBER)
    assert (entry.pk, entry.record.grade, entry.record.school) == (case.pk, "P5", school)


def test_the_print_view_escapes_the_values_and_says_when_there_is_nothing(client_for, bureau_admin, school):
    StudentFactory(school=school, status="suspended", name="<b>王</b>")
    client = client_for(bureau_admin)
    response = client.get(reverse("aid:ledger_print"), {"kind": "suspected"}, **EN)
    assert response["Content-Type"] == "text/html; charset=utf-8"
    [row] = printed_rows(response)
    assert row[3] == "&lt;b&gt;王&lt;/b&gt;" and row[8] == "out of school (Suspended) with no open case"
    html = b"".join(client.get(reverse("aid:ledger_print"), {"kind": "dropout"}, **EN).streaming_content).decode()
    assert printed_rows_of(html) == [["Nothing to report for this period."]] and "0 entries" in html
