"""Lists as a clerk expects them: sortable columns (cases by days open, batches, teachers,
visits), a page size, a page jump, a page past the end showing the last page, and amounts
grouped by thousands in Chinese."""
import datetime
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from aid.dropout.models import DropoutCase
from aid.subsidies.models import DisbursementLine
from tests.aid.dropout.test_views import days_ago, open_case
from tests.aid.subsidies.test_views import batch, make_student, people, program, students  # noqa: F401
from tests.factories import HomeVisitFactory, PairingFactory, StudentFactory, TeacherFactory

pytestmark = pytest.mark.django_db


def case_ids(response):
    return [case.pk for case in response.context["cases"]]


def test_cases_sort_by_days_open_counting_closed_cases_to_their_closing(client_for, school, bureau_admin):
    """Days open is (closed on, or today) minus opened on: a case opened 300 days ago and
    closed after 10 days has been open for less time than one opened 30 days ago."""
    long_ago_short = open_case(StudentFactory(school=school), opened_on=days_ago(300))
    DropoutCase.objects.filter(pk=long_ago_short.pk).update(closed_on=days_ago(290), outcome="returned")
    recent = open_case(StudentFactory(school=school), opened_on=days_ago(30))
    older = open_case(StudentFactory(school=school), opened_on=days_ago(120))
    client = client_for(bureau_admin)
    url = reverse("aid:case_list")
    assert case_ids(client.get(url, {"state": "all", "o": "-days_open"})) == [older.pk, recent.pk, long_ago_short.pk]
    assert case_ids(client.get(url, {"state": "all", "o": "days_open"})) == [long_ago_short.pk, recent.pk, older.pk]
    assert case_ids(client.get(url, {"state": "all", "o": "opened"}))[0] == long_ago_short.pk
    page = client.get(url, {"state": "all"}).content.decode()
    assert "o=days_open" in page and "o=attempts" in page


def test_a_page_past_the_end_shows_the_last_page(client_for, school, bureau_admin):
    for days in range(60):
        open_case(StudentFactory(school=school), opened_on=days_ago(days))
    client = client_for(bureau_admin)
    url = reverse("aid:case_list")
    response = client.get(url, {"page": 99})
    assert response.status_code == 200
    assert response.context["page_obj"].number == 2 and len(response.context["cases"]) == 10
    assert client.get(url, {"page": "x"}).context["page_obj"].number == 1


def test_the_page_size_is_chosen_and_kept_by_the_page_links_and_the_jump(client_for, school, bureau_admin):
    for days in range(60):
        open_case(StudentFactory(school=school), opened_on=days_ago(days))
    client = client_for(bureau_admin)
    url = reverse("aid:case_list")
    assert len(client.get(url, {"per_page": 25}).context["cases"]) == 25
    assert len(client.get(url, {"per_page": 100}).context["cases"]) == 60
    assert len(client.get(url, {"per_page": 7}).context["cases"]) == 50  # not offered: the default
    page = client.get(url, {"per_page": 25, "kind": "dropout", "page": 2}).content.decode()
    assert "?per_page=25&amp;kind=dropout&amp;page=3" in page  # the page links keep the size and the filter
    jump = page[page.index('class="page-jump"'):]
    jump = jump[:jump.index("</form>")]
    assert '<input type="hidden" name="kind" value="dropout">' in jump
    assert 'name="page"' in jump and 'max="3"' in jump and '<option value="25" selected>' in jump


def test_the_student_list_pages_the_same_way(client_for, bureau_admin, school):
    StudentFactory.create_batch(30, school=school)
    response = client_for(bureau_admin).get(reverse("students:student_list"), {"per_page": 25, "page": 5})
    assert response.context["page_obj"].number == 2 and len(response.context["students"]) == 5


def test_batches_sort_by_amount_and_amounts_are_grouped_in_chinese(client_for, county, program, people, batch):  # noqa: F811
    small = type(batch).objects.create(
        program=program, term=batch.term, region=county["town"], prepared_by=people["preparer"]
    )
    DisbursementLine.objects.filter(batch=batch).update(amount=Decimal("80000.00"), standard_amount=Decimal("80000.00"))
    client = client_for(people["preparer"])
    url = reverse("aid:batch_list")
    listed = client.get(url, {"o": "-planned"}, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert [b.pk for b in listed.context["batches"]] == [batch.pk, small.pk]
    assert [b.pk for b in client.get(url, {"o": "planned"}).context["batches"]] == [small.pk, batch.pk]
    assert "400,000.00" in listed.content.decode()
    assert "o=students" in listed.content.decode() and "o=paid" in listed.content.decode()


def test_teachers_sort_by_paired_students(client_for, school_admin, school):
    busy, idle = TeacherFactory(school=school, full_name="甲老师"), TeacherFactory(school=school, full_name="乙老师")
    for _ in range(3):
        PairingFactory(teacher=busy, student=StudentFactory(school=school))
    client = client_for(school_admin)
    url = reverse("aid:teacher_list")
    assert [t.pk for t in client.get(url, {"o": "-paired"}).context["teachers"]][:2] == [busy.pk, idle.pk]
    assert [t.pk for t in client.get(url, {"o": "paired"}).context["teachers"]][-1] == busy.pk


def test_visits_sort_by_student_name(client_for, school_admin, school):
    today = timezone.localdate()
    second = HomeVisitFactory(student=StudentFactory(school=school, name="乙同学"), visited_on=today)
    first = HomeVisitFactory(student=StudentFactory(school=school, name="甲同学"), visited_on=today - datetime.timedelta(days=1))
    client = client_for(school_admin)
    url = reverse("aid:visit_list")
    names = {first.pk: "甲同学", second.pk: "乙同学"}
    ascending = [names[v.pk] for v in client.get(url, {"o": "student"}).context["visits"]]
    descending = [names[v.pk] for v in client.get(url, {"o": "-student"}).context["visits"]]
    assert ascending == sorted(names.values()) and descending == sorted(names.values(), reverse=True)
    assert "o=risk" in client.get(url).content.decode()
