"""Masking that cannot be undone, and the export log.

Roles that see ID numbers masked (371324********1354 hides exactly the birth date) are shown
nothing from which the hidden digits follow: the birth year instead of the birth date, the
student number (usually "G" and the full ID number) masked like the ID number, in every
list, detail, history and export; they search by the last four characters they are shown
and sort by nothing that orders birth dates. Every export of personal data is logged, for
every role, and an export filtered by a record outside the user's scope is a 404.

The last test does what an assessor did: for every masked login of the demo county it opens
every page and export it can reach and tries to rebuild full ID numbers from what it saw.
"""
import datetime
import io
import re
from html.parser import HTMLParser

import openpyxl
import pytest
from django.core.management import call_command
from django.urls import URLPattern, URLResolver, get_resolver, resolve, reverse

from aid.supervision.models import GridGroup
from common.masking import birth_date_for, mask_id_number, student_number_for
from jobs import services as jobs
from jobs.models import Job
from students import idnumber, permissions
from students.choices import RegionLevel, Role
from students.models import ExportLog, Student, User
from students.views.base import ExcelExportMixin

from .factories import (
    BureauAdminFactory,
    PairingFactory,
    RegionFactory,
    SchoolAdminFactory,
    StudentFactory,
    TeacherFactory,
    UserFactory,
    ViewerFactory,
    id_number_for,
)

pytestmark = pytest.mark.django_db


def masked_student_number(number):
    return number[:6] + "*" * (len(number) - 10) + number[-4:]


@pytest.fixture
def people(county):
    """A bureau administrator, a city viewer, a grid leader of the township, a teacher
    paired with the student, and, next door, another county's bureau and school."""
    student = StudentFactory(
        school=county["primary"], id_number=id_number_for(7, datetime.date(2013, 7, 19)), name="孙晓雨",
    )
    student.student_number = "G" + student.id_number
    student.save()
    grid_leader = UserFactory(role=Role.GRID_LEADER, region=county["county"])
    grid = GridGroup.objects.create(name="第一网格组", region=county["county"], leader=grid_leader)
    grid.townships.set([county["town"]])
    teacher = TeacherFactory(school=county["primary"])
    PairingFactory(student=student, teacher=teacher)
    return {
        "student": student,
        "bureau": BureauAdminFactory(region=county["county"]),
        "city": ViewerFactory(region=RegionFactory(code="3713", name="临沂市", level=RegionLevel.CITY)),
        "grid": grid_leader,
        "teacher": teacher,
        "other_bureau": BureauAdminFactory(region=county["other_county"]),
        "other_admin": SchoolAdminFactory(school=county["other"]),
    }


MASKED_ROLES = ("city", "grid", "teacher")


def test_the_masks_keep_nothing_of_the_birth_date():
    viewer, bureau = User(role=Role.VIEWER), User(role=Role.BUREAU_ADMIN)
    number = "G" + idnumber.make("371324", datetime.date(2013, 7, 19), 135)
    assert student_number_for(viewer, number) == "G37132*********" + number[-4:]
    assert student_number_for(bureau, number) == number
    assert birth_date_for(viewer, datetime.date(2013, 7, 19)) == 2013
    assert birth_date_for(bureau, datetime.date(2013, 7, 19)) == datetime.date(2013, 7, 19)


# ---------------------------------------------------------------------------------------
# Pages: detail, history, list, search, sort
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", MASKED_ROLES)
def test_a_masked_role_sees_the_birth_year_and_a_masked_student_number(client, people, role):
    student = people["student"]
    client.force_login(people[role])
    html = client.get(student.get_absolute_url()).content.decode()
    assert mask_id_number(student.id_number) in html
    assert masked_student_number(student.student_number) in html
    assert student.id_number not in html  # neither alone nor inside the student number
    assert datetime.date(2013, 7, 19) not in dates_in(html)
    assert "<dd>2013</dd>" in html


def test_the_bureau_sees_everything_in_full(client, people):
    student = people["student"]
    client.force_login(people["bureau"])
    html = client.get(student.get_absolute_url()).content.decode()
    assert student.student_number in html and "2013-07-19" in html


@pytest.mark.parametrize("role", MASKED_ROLES)
def test_history_shows_old_and_new_numbers_masked(client, people, role):
    """An ID number corrected by the bureau: the history changes ID, birth date and student
    number; a masked role sees none of the old or new values in full."""
    student = people["student"]
    old_number, old_student_number = student.id_number, student.student_number
    new_number = id_number_for(8, datetime.date(2013, 8, 23))
    student.id_number = new_number
    student.student_number = "G" + new_number
    student.fill_from_id_number()
    student._history_user = people["bureau"]
    student.save()

    client.force_login(people[role])
    html = client.get(student.get_absolute_url()).content.decode()
    history = html[html.index('id="history"'):]
    for full in (old_number, new_number, old_student_number):
        assert full not in html
    assert mask_id_number(old_number) in history and mask_id_number(new_number) in history
    assert masked_student_number(old_student_number) in history
    assert dates_in(html) & {datetime.date(2013, 7, 19), datetime.date(2013, 8, 23)} == set()
    client.force_login(people["bureau"])
    history = client.get(student.get_absolute_url()).content.decode()
    assert old_number in history and old_student_number in history  # in full for the bureau


def listed(client, **query):
    response = client.get(reverse("students:student_list"), query)
    assert response.status_code == 200
    return [student.name for student in response.context["students"]]


@pytest.mark.parametrize("role", MASKED_ROLES)
def test_a_masked_role_searches_by_the_last_four_it_is_shown_and_nothing_longer(client, people, role):
    student = people["student"]
    client.force_login(people[role])
    assert listed(client, q=student.id_number[-4:]) == ["孙晓雨"]
    assert listed(client, q="孙晓") == ["孙晓雨"]
    # Longer endings and whole numbers would let them try birth dates one by one.
    assert listed(client, q=student.id_number[-8:]) == []
    assert listed(client, q=student.id_number) == []
    assert listed(client, q=student.student_number) == []
    page = client.get(reverse("students:student_list"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'placeholder="Name or the last four characters of the ID number"' in page


def test_the_bureau_searches_by_whole_numbers_and_longer_endings(client, people):
    student = people["student"]
    client.force_login(people["bureau"])
    assert listed(client, q=student.student_number) == ["孙晓雨"]
    assert listed(client, q=student.id_number[-8:]) == ["孙晓雨"]


def test_a_masked_role_cannot_sort_by_birth_date(client, people):
    """Sorted by birth date, a year's students would give their dates away by their places."""
    StudentFactory(school=people["student"].school, id_number=id_number_for(9, datetime.date(2013, 1, 2)))
    client.force_login(people["city"])
    page = client.get(reverse("students:student_list"))
    offered = [value for value, _label in page.context["filter"].form.fields["o"].choices]
    assert "birth_date" not in offered and "-birth_date" not in offered and "name" in offered
    assert listed(client, o="birth_date") == []  # not an accepted order: nothing listed
    client.force_login(people["bureau"])
    page = client.get(reverse("students:student_list"))
    assert "birth_date" in [value for value, _label in page.context["filter"].form.fields["o"].choices]
    assert len(listed(client, o="birth_date")) == 2


# ---------------------------------------------------------------------------------------
# Exports: masked columns, the log for every role, 404 for an out-of-scope filter
# ---------------------------------------------------------------------------------------


def sheet_rows(response):
    content = b"".join(response.streaming_content) if response.streaming else response.content
    sheet = openpyxl.load_workbook(io.BytesIO(content)).active
    return [[cell.value for cell in row] for row in sheet.iter_rows()]


@pytest.mark.parametrize("role", MASKED_ROLES)
def test_every_masked_roles_student_export_is_masked_and_logged(client, people, role):
    student = people["student"]
    client.force_login(people[role])
    header, row = sheet_rows(client.get(reverse("students:student_export"), {"stage": "primary"}))
    exported = dict(zip(header, row))
    assert exported["身份证号"] == mask_id_number(student.id_number)
    assert exported["出生年份"] == 2013 and "出生日期" not in exported
    assert exported["学籍号"] == masked_student_number(student.student_number)
    entry = ExportLog.objects.get()
    assert (entry.user, entry.list_name, entry.query, entry.row_count) == (people[role], "students", "stage=primary", 1)
    assert entry.id_numbers_masked is True
    assert entry.phones_masked is (role != "teacher")  # teachers call families


def test_a_background_export_by_a_viewer_is_logged(client, people, settings, tmp_path):
    settings.BACKGROUND_EXPORT_ROWS = 0
    settings.MEDIA_ROOT = str(tmp_path)
    client.force_login(people["city"])
    response = client.get(reverse("students:student_export"))  # one row: more than the threshold
    assert response.status_code == 302
    assert not ExportLog.objects.exists()  # nothing is out yet
    job = Job.objects.get()
    jobs.run_in_worker(job.pk)
    job.refresh_from_db()
    assert job.status == Job.Status.DONE
    entry = ExportLog.objects.get()
    assert (entry.user, entry.list_name, entry.row_count, entry.id_numbers_masked) == (
        people["city"], "students", 1, True
    )


@pytest.mark.parametrize(
    ("url_name", "parameter"),
    [
        ("students:student_export", "school"),
        ("students:student_list", "school"),  # the list's own ?export=xlsx
        ("aid:visit_export", "school"),
        ("aid:case_export", "school"),
        ("aid:unvisited", "school"),
        ("students:distribution_export", "region"),
    ],
)
def test_an_export_filtered_by_a_record_outside_the_scope_is_a_404(client, people, county, url_name, parameter):
    own = county["primary"].pk if parameter == "school" else county["town"].code
    other = county["other"].pk if parameter == "school" else county["other_county"].code
    query = {"export": "xlsx"}
    client.force_login(people["bureau"])
    assert client.get(reverse(url_name), {parameter: own, **query}).status_code == 200
    logged = ExportLog.objects.count()
    assert client.get(reverse(url_name), {parameter: other, **query}).status_code == 404
    assert client.get(reverse(url_name), {parameter: "999999", **query}).status_code == 404
    assert ExportLog.objects.count() == logged  # nothing logged as if the filter applied


@pytest.mark.parametrize("url_name", ["students:student_export", "aid:visit_export", "aid:case_export"])
def test_a_user_of_another_school_exporting_ours_gets_a_404(client, people, county, url_name):
    client.force_login(people["other_admin"])
    assert client.get(reverse(url_name), {"school": county["other"].pk}).status_code == 200
    assert client.get(reverse(url_name), {"school": county["primary"].pk}).status_code == 404
    assert list(ExportLog.objects.values_list("user", "query")) == [(people["other_admin"].pk, f"school={county['other'].pk}")]


def test_an_out_of_scope_project_export_is_a_404(client, people, county):
    client.force_login(people["bureau"])
    url = reverse("aid:project_export")
    assert client.get(url, {"school": county["primary"].pk}).status_code == 200
    assert client.get(url, {"school": county["other"].pk}).status_code == 404


def test_a_bad_date_in_an_export_filter_is_not_a_404(client, people):
    """Only choices of records answer 404; other bad values export nothing, as before."""
    client.force_login(people["bureau"])
    response = client.get(reverse("aid:visit_export"), {"visited_after": "not-a-date"})
    assert response.status_code == 200


def test_the_export_log_shows_every_role_of_the_county_with_its_masking(client, people):
    for role in ("bureau", "city", "grid", "teacher", "other_admin"):
        client.force_login(people[role])
        assert client.get(reverse("students:student_export")).status_code == 200
    client.force_login(people["bureau"])
    page = client.get(reverse("students:export_log"), HTTP_ACCEPT_LANGUAGE="en")
    entries = {entry.user: entry for entry in page.context["entries"]}
    # The county's own staff, and the city viewer whose scope takes the county in; not the
    # school of the county next door.
    assert set(entries) == {people["bureau"], people["city"], people["grid"], people["teacher"]}
    html = page.content.decode()
    assert "ID and phone numbers masked" in html and "ID numbers masked, phone numbers in full" in html
    assert "In full" in html
    masked_only = client.get(reverse("students:export_log"), {"id_numbers_masked": "true"})
    assert {entry.user for entry in masked_only.context["entries"]} == {people["city"], people["grid"], people["teacher"]}

    client.force_login(people["other_bureau"])  # the city takes in the county next door too
    others = client.get(reverse("students:export_log")).context["entries"]
    assert {entry.user for entry in others} == {people["other_admin"], people["city"]}
    for role in ("city", "grid", "teacher", "other_admin"):
        client.force_login(people[role])
        assert client.get(reverse("students:export_log")).status_code == 403


# ---------------------------------------------------------------------------------------
# The assessor's test: rebuild full ID numbers from everything a masked role can open
# ---------------------------------------------------------------------------------------

MASKED_ID = re.compile(r"(\d{6})\*{8}(\d{3}[\dX])")
FULL_ID = re.compile(r"\d{17}[\dX]")
DATES = (
    re.compile(r"((?:19|20)\d{2})-(\d{1,2})-(\d{1,2})"),
    re.compile(r"((?:19|20)\d{2})/(\d{1,2})/(\d{1,2})"),
    re.compile(r"((?:19|20)\d{2})年(\d{1,2})月(\d{1,2})日"),
    re.compile(r"(?<!\d)((?:19|20)\d{2})(\d{2})(\d{2})(?!\d)"),
)


def dates_in(text):
    found = set()
    for pattern in DATES:
        for year, month, day in pattern.findall(text):
            try:
                found.add(datetime.date(int(year), int(month), int(day)))
            except ValueError:
                continue
    return found


def rebuilt_ids(text, real_ids):
    """What an assessor rebuilds from one page or file: full numbers shown anywhere (also
    inside a student number), and each masked number completed with each date it shows."""
    rebuilt = {number for number in FULL_ID.findall(text) if number in real_ids}
    dates = dates_in(text)
    for region, ending in set(MASKED_ID.findall(text)):
        for date in dates:
            candidate = f"{region}{date:%Y%m%d}{ending}"
            if candidate in real_ids:
                rebuilt.add(candidate)
    return rebuilt


def text_of(response):
    """The page's HTML, or every cell of every sheet of a workbook (dates as 2013-07-19)."""
    content = b"".join(response.streaming_content) if response.streaming else response.content
    if response.get("Content-Type", "").startswith("text/html"):
        return content.decode()
    book = openpyxl.load_workbook(io.BytesIO(content), read_only=True)
    values = []
    for sheet in book.worksheets:
        for row in sheet.iter_rows(values_only=True):
            for value in row:
                if isinstance(value, datetime.datetime):
                    value = value.date()
                values.append(value.isoformat() if isinstance(value, datetime.date) else str(value or ""))
    return "\n".join(values)


class Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.hrefs = []

    def handle_starttag(self, tag, attrs):
        href = dict(attrs).get("href")
        if tag == "a" and href and href.startswith(("/", "?")) and not href.startswith(("/static/", "/admin/")):
            self.hrefs.append(href.split("#")[0])


def links_on(path, html):
    parser = Links()
    parser.feed(html)
    base = path.split("?")[0]
    return {href if href.startswith("/") else base + href for href in parser.hrefs}


def patterns(url_patterns=None, namespace=""):
    for pattern in get_resolver().url_patterns if url_patterns is None else url_patterns:
        if isinstance(pattern, URLResolver):
            if pattern.namespace != "admin":
                inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
                yield from patterns(pattern.url_patterns, inner)
        elif isinstance(pattern, URLPattern) and pattern.name:
            yield namespace + pattern.name, pattern


def view_of(pattern):
    return getattr(pattern.callback, "view_class", None)


def export_views():
    """Every way out in a spreadsheet: the views whose permission is to export, and the
    list pages that export themselves with ?export=xlsx."""
    found = {}
    for name, pattern in patterns():
        view = view_of(pattern)
        if view is None or not getattr(view, "permission", None):
            continue
        if view.permission[0] == permissions.EXPORT:
            found[name] = view
        elif issubclass(view, ExcelExportMixin):
            found[f"{name}?export"] = view
    return found


class Walk:
    """Opens, as one user, every page without arguments the user may open (and each list's
    ?export=xlsx), then the pages they link to, two levels deep, up to `per_view` per
    kind of page; runs background exports in the worker and reads their file."""

    per_view = 12

    def __init__(self, client, user):
        self.client, self.user = client, user
        self.texts, self.opened, self.seen, self.per_name = [], set(), set(), {}

    def run(self, extra=()):
        queue = list(extra)
        for name, pattern in patterns():
            view = view_of(pattern)
            if view is None or not getattr(view, "permission", None) or not view.allows(self.user):
                continue
            if "<" not in str(pattern.pattern):
                queue.append(reverse(name))
                if issubclass(view, ExcelExportMixin) and not view.always_exports:
                    queue.append(reverse(name) + "?export=xlsx")
        queue += [f"{reverse('aid:ledger')}?kind={kind}" for kind in ("school_age", "suspected", "dropout")]
        for depth in range(3):
            following = []
            for path in queue:
                following += self.open(path)
            queue = following

    def open(self, path):
        if path in self.seen:
            return []
        self.seen.add(path)
        match = resolve(path.split("?")[0])
        if match.view_name in ("logout", "set_language", "jobs:job_status"):
            return []
        count = self.per_name.get(match.view_name, 0)
        if count >= self.per_view:
            return []
        self.per_name[match.view_name] = count + 1
        response = self.client.get(path)
        assert response.status_code < 500, path
        if response.status_code == 302 and resolve(response.url).view_name == "jobs:job_detail":
            return self.from_worker(path, response)
        if response.status_code != 200:
            return []
        self.record(match.view_name, path)
        text = text_of(response)
        self.texts.append((path, text))
        return sorted(links_on(path, text)) if response.get("Content-Type", "").startswith("text/html") else []

    def record(self, view_name, path):
        self.opened.add(f"{view_name}?export" if "export=xlsx" in path else view_name)

    def from_worker(self, path, response):
        job = Job.objects.filter(owner=self.user).latest("pk")
        jobs.run_in_worker(job.pk)
        job.refresh_from_db()
        assert job.status == Job.Status.DONE, (path, job.error)
        file = self.client.get(reverse("jobs:job_file", args=[job.pk]))
        assert file.status_code == 200
        self.record(resolve(path.split("?")[0]).view_name, path)
        self.texts.append((path, text_of(file)))
        return []


@pytest.mark.today("2026-11-16")
def test_no_masked_login_of_the_demo_county_can_rebuild_an_id_number(client, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    output = io.StringIO()
    call_command("seed_demo", students=150, seed=3, stdout=output)
    # A correction the bureau made, so that histories hold an old ID number as well.
    bureau = User.objects.get(username="bureau")
    teacher = User.objects.get(username="teacher")
    corrected = Student.objects.visible_to(teacher).first()
    old_number = corrected.id_number
    corrected.id_number = idnumber.make(old_number[:6], corrected.birth_date + datetime.timedelta(days=3), 421)
    corrected.student_number = "G" + corrected.id_number
    corrected.fill_from_id_number()
    corrected._history_user = bureau
    corrected.save()
    real_ids = set(Student.objects.values_list("id_number", flat=True)) | {old_number}
    assert all(number.startswith("G") for number in Student.objects.values_list("student_number", flat=True))

    masked_users = [User.objects.get(username=name) for name in ("city", "grid", "teacher")]
    assert {user.role for user in masked_users} == {Role.VIEWER, Role.GRID_LEADER, Role.TEACHER}
    assert not any(user.sees_full_id_numbers for user in masked_users)
    exports = export_views()
    for user in masked_users:
        client.force_login(user)
        walk = Walk(client, user)
        walk.run(extra=[corrected.get_absolute_url()])
        student_pages = [path for path, _text in walk.texts if resolve(path.split("?")[0]).view_name == "students:student_detail"]
        assert student_pages, user.username
        for path, text in walk.texts:
            assert rebuilt_ids(text, real_ids) == set(), f"{user.username} rebuilt IDs from {path}"
        allowed = {name for name, view in exports.items() if view.allows(user)}
        assert allowed - walk.opened == set(), f"{user.username} did not reach these exports"
        client.logout()


def test_the_rebuilding_finds_what_an_unmasked_page_shows():
    """The assessor's check itself: it rebuilds from the old mask and birth date, and from a
    student number that is the full ID number."""
    number = idnumber.make("371324", datetime.date(2013, 7, 19), 135)
    real = {number}
    assert rebuilt_ids(f"{mask_id_number(number)} 2013-07-19", real) == real
    assert rebuilt_ids(f"{mask_id_number(number)} 2013年7月19日", real) == real
    assert rebuilt_ids(f"G{number}", real) == real
    assert rebuilt_ids(f"{mask_id_number(number)} 2013 G37132*********{number[-4:]}", real) == set()


def test_a_birth_year_leaves_many_dates_possible():
    """With the year and the check digit known, every masked number of a year's students
    still fits dozens of dates."""
    for day in range(0, 365, 17):
        number = idnumber.make("371324", datetime.date(2013, 1, 1) + datetime.timedelta(days=day), 135)
        fitting = 0
        for other in range(365):
            date = datetime.date(2013, 1, 1) + datetime.timedelta(days=other)
            try:
                idnumber.validate(f"371324{date:%Y%m%d}{number[-4:]}")
            except Exception:
                continue
            fitting += 1
        assert fitting >= 20
