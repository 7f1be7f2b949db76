"""Login slips: ticked teachers get one-time passwords, stored hashed, to be changed at the
first login, printed on A4 slips; only teachers of the user's own schools can be ticked."""
import pytest
from django.urls import reverse

from tests.factories import BureauAdminFactory, SchoolAdminFactory, TeacherFactory, ViewerFactory

pytestmark = pytest.mark.django_db
SLIPS = reverse("aid:teacher_slips")


def passwords_on(page):
    """The one-time passwords printed on the slips, in order."""
    marker = 'class="password">'
    return [part.split("<", 1)[0] for part in page.split(marker)[1:]]


def test_ticked_teachers_get_one_time_passwords_on_printable_slips(client_for, school):
    admin = SchoolAdminFactory(school=school)
    teachers = [TeacherFactory(school=school, full_name=f"教师{n}") for n in range(12)]
    for teacher in teachers:
        teacher.set_unusable_password()
        teacher.save()
    untouched = TeacherFactory(school=school)
    untouched_hash = untouched.password
    client = client_for(admin)
    listed = client.get(reverse("aid:teacher_list")).content.decode()
    assert 'form="teacher-slips"' in listed and 'id="teacher-slips"' in listed

    response = client.post(SLIPS, {"teachers": [teacher.pk for teacher in teachers]})
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    page = response.content.decode()
    assert "print.css" in page and page.count('class="slip"') == 12
    passwords = passwords_on(page)
    assert len(passwords) == 12 and len(set(passwords)) == 12
    for teacher, password in zip(sorted(teachers, key=lambda t: t.pk), passwords, strict=True):
        teacher.refresh_from_db()
        assert teacher.username in page
        assert password not in teacher.password  # stored hashed, as any password
        assert teacher.must_change_password is True
        assert len(password) == 10 and not set(password) & set("0O1lI")
    by_login = dict(zip([t.username for t in sorted(teachers, key=lambda t: t.pk)], passwords, strict=True))
    first = teachers[0]
    assert first.check_password(by_login[first.username])
    untouched.refresh_from_db()
    assert untouched.password == untouched_hash and untouched.must_change_password is False


def test_a_teacher_of_another_school_cannot_be_ticked(client_for, school, other_school):
    mine = TeacherFactory(school=school)
    theirs = TeacherFactory(school=other_school)
    before = (mine.password, theirs.password)
    client = client_for(SchoolAdminFactory(school=school))
    response = client.post(SLIPS, {"teachers": [mine.pk, theirs.pk]}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("aid:teacher_list")
    assert [str(m) for m in response.context["messages"]] and 'class="slip"' not in response.content.decode()
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert (mine.password, theirs.password) == before
    assert not mine.must_change_password and not theirs.must_change_password


def test_a_teacher_who_left_gets_no_slip(client_for, school):
    gone = TeacherFactory(school=school, is_active=False)
    response = client_for(SchoolAdminFactory(school=school)).post(SLIPS, {"teachers": [gone.pk]})
    assert response.status_code == 302
    gone.refresh_from_db()
    assert not gone.must_change_password


def test_who_may_issue_slips(client_for, school):
    teacher = TeacherFactory(school=school)
    assert client_for(ViewerFactory(region=school.region.parent)).post(SLIPS, {"teachers": [teacher.pk]}).status_code == 403
    assert client_for(TeacherFactory(school=school)).post(SLIPS, {"teachers": [teacher.pk]}).status_code == 403
    bureau = BureauAdminFactory(region=school.region.parent)
    assert client_for(bureau).post(SLIPS, {"teachers": [teacher.pk]}).status_code == 200
