"""Evidence on records: photos of a home visit and of a rectification's work, scanned pages
of a school's signed roster; refused when they are no photo or too large, stored without
EXIF, served only to users who see the record, never cached, and kept in history."""
import pytest
from django.urls import reverse

from aid.evidence.models import Attachment
from aid.supervision.models import Rectification
from tests.aid.casework.test_visits import create_url, paired_student, update_url, visit_data  # noqa: F401
from tests.aid.evidence.pictures import exif_of, not_a_photo, photo, twenty_megabyte_photo
from tests.aid.subsidies.test_views import batch, people, program, students  # noqa: F401
from tests.aid.supervision.test_supervision import GridGroupFactory, RectificationFactory
from tests.factories import (
    HomeVisitFactory,
    PairingFactory,
    SchoolAdminFactory,
    StudentFactory,
    TeacherFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    return tmp_path


def served(response):
    return b"".join(response.streaming_content)


# ---------------------------------------------------------------------------------------
# Home visits
# ---------------------------------------------------------------------------------------


def test_the_visit_form_opens_the_camera(client_for, teacher, paired_student):  # noqa: F811
    page = client_for(teacher).get(create_url(paired_student)).content.decode()
    assert 'enctype="multipart/form-data"' in page
    assert 'type="file" name="photos"' in page
    assert 'accept="image/*"' in page and 'capture="environment"' in page and "multiple" in page
    assert "id=\"photos-offline-note\"" in page  # says that photos are not kept offline


def test_a_visit_is_saved_with_its_photos_stripped_of_gps(client_for, teacher, paired_student, media_root):  # noqa: F811
    client = client_for(teacher)
    response = client.post(create_url(paired_student), visit_data(photos=[photo(), photo("二.jpg")]))
    assert response.status_code == 302
    visit = paired_student.visits.get()
    photos = list(visit.photos.order_by("pk"))
    assert [p.kind for p in photos] == ["visit", "visit"]
    assert all(p.uploaded_by == teacher for p in photos)
    stored = photos[0].image.read()
    assert exif_of(stored) == ({}, {})
    assert "家访" not in photos[0].image.name and photos[0].image.name.startswith("evidence/")
    assert (media_root / photos[0].image.name).exists()  # through the default storage
    # Served to the author, inline, never kept by a cache.
    response = client.get(photos[0].get_absolute_url())
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    assert "no-store" in response["Cache-Control"] and "private" in response["Cache-Control"]
    assert served(response) == stored
    thumbnail = client.get(photos[0].get_thumbnail_url())
    assert served(thumbnail) == photos[0].thumbnail.read()
    # Shown on the visit page.
    page = client.get(visit.get_absolute_url()).content.decode()
    assert page.count(reverse("aid:attachment_thumbnail", args=[photos[0].pk])) == 1
    # And part of the history: who added it, when.
    record = photos[0].history.get()
    assert record.history_type == "+" and record.history_user == teacher


@pytest.mark.parametrize(
    ("upload", "message"),
    [(not_a_photo, "“照片.jpg”"), (twenty_megabyte_photo, "“大照片.png”")],
)
def test_a_visit_with_a_bad_photo_is_not_saved_and_keeps_what_was_typed(
    client_for, teacher, paired_student, upload, message  # noqa: F811
):
    response = client_for(teacher).post(
        create_url(paired_student), visit_data(photos=[upload()]), HTTP_ACCEPT_LANGUAGE="zh-hans"
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "作业按时完成，数学有进步" in page  # what the teacher typed is still there
    photos_field = page[page.index('id="visit-photos"'):page.index('id="photos-offline-note"')]
    assert "has-error" in photos_field and message in photos_field  # the message names the file
    assert not paired_student.visits.exists() and not Attachment.objects.exists()


def test_photos_added_when_editing_a_visit_join_those_it_has(client_for, teacher, paired_student):  # noqa: F811
    client = client_for(teacher)
    client.post(create_url(paired_student), visit_data(photos=[photo()]))
    visit = paired_student.visits.get()
    assert client.post(update_url(visit), visit_data(photos=[photo("补拍.jpg")])).status_code == 302
    assert visit.photos.count() == 2
    page = client.get(update_url(visit)).content.decode()
    assert page.count("/thumbnail/") == 2


def test_visit_photos_are_out_of_reach_of_another_school(client_for, teacher, paired_student, other_school):  # noqa: F811
    client = client_for(teacher)
    client.post(create_url(paired_student), visit_data(photos=[photo()]))
    attachment = Attachment.objects.get()
    for outsider in (SchoolAdminFactory(school=other_school), TeacherFactory(school=paired_student.school)):
        client.force_login(outsider)
        assert client.get(attachment.get_absolute_url()).status_code == 404
        assert client.get(attachment.get_thumbnail_url()).status_code == 404
    client.force_login(SchoolAdminFactory(school=paired_student.school))
    assert client.get(attachment.get_absolute_url()).status_code == 200


def test_a_teacher_may_not_add_photos_to_a_visit_of_someone_elses_student(client_for, teacher, school):
    someone_elses = PairingFactory(teacher=TeacherFactory(school=school), student=StudentFactory(school=school)).student
    visit = HomeVisitFactory(student=someone_elses)
    response = client_for(teacher).post(update_url(visit), visit_data(photos=[photo()]))
    assert response.status_code == 404
    assert not Attachment.objects.exists()


# ---------------------------------------------------------------------------------------
# Rectification reports
# ---------------------------------------------------------------------------------------


@pytest.fixture
def rectification(county):
    grid = GridGroupFactory(region=county["county"], townships=[county["town"]])
    item = RectificationFactory(inspection__grid=grid, inspection__school=county["primary"])
    return item


def test_the_school_reports_with_photos_that_the_grid_sees(client_for, rectification, county):
    admin = SchoolAdminFactory(school=county["primary"])
    client = client_for(admin)
    url = reverse("aid:rectification_update", args=[rectification.pk])
    page = client.get(url).content.decode()
    assert 'capture="environment"' in page and 'enctype="multipart/form-data"' in page
    response = client.post(url, {"action": "report", "report": "台账已补齐", "photos": [photo("台账.jpg")]})
    assert response.status_code == 302
    rectification.refresh_from_db()
    assert rectification.status == Rectification.Status.REPORTED
    attachment = rectification.photos.get()
    assert attachment.kind == "rectification" and exif_of(attachment.image.read()) == ({}, {})
    client.force_login(rectification.inspection.grid.leader)
    assert client.get(attachment.get_absolute_url()).status_code == 200
    assert attachment.get_thumbnail_url() in client.get(url).content.decode()
    client.force_login(SchoolAdminFactory(school=county["other"]))
    assert client.get(attachment.get_absolute_url()).status_code == 404


def test_a_report_with_a_file_that_is_no_photo_is_refused(client_for, rectification, county):
    client = client_for(SchoolAdminFactory(school=county["primary"]))
    url = reverse("aid:rectification_update", args=[rectification.pk])
    response = client.post(url, {"action": "report", "report": "台账已补齐", "photos": [not_a_photo()]})
    assert response.status_code == 400
    assert "台账已补齐" in response.content.decode()
    rectification.refresh_from_db()
    assert rectification.status == Rectification.Status.OPEN and not Attachment.objects.exists()


# ---------------------------------------------------------------------------------------
# Signed rosters
# ---------------------------------------------------------------------------------------


def upload_roster(client, batch, school, *pictures):  # noqa: F811
    return client.post(
        reverse("aid:signed_roster_upload", args=[batch.pk]),
        {"school": school.pk, "pictures": list(pictures) or [photo("花名册.jpg")]},
    )


def test_a_school_uploads_its_signed_roster(client_for, batch, county, people):  # noqa: F811
    client = client_for(people["first_admin"])
    response = upload_roster(client, batch, county["primary"], photo("第1页.jpg"), photo("第2页.jpg"))
    assert response.status_code == 302
    pages = list(batch.signed_rosters.order_by("pk"))
    assert [(p.kind, p.school) for p in pages] == [("roster", county["primary"])] * 2
    page = client.get(batch.get_absolute_url()).content.decode()
    assert all(p.get_thumbnail_url() in page for p in pages)
    client.force_login(people["preparer"])
    assert client.get(pages[0].get_absolute_url()).status_code == 200
    client.force_login(people["second_admin"])  # another school of the same batch
    assert client.get(pages[0].get_absolute_url()).status_code == 404
    client.force_login(people["other_bureau"])
    assert client.get(pages[0].get_absolute_url()).status_code == 404


def test_a_school_cannot_upload_the_roster_of_another_school(client_for, batch, county, people):  # noqa: F811
    client = client_for(people["first_admin"])
    assert upload_roster(client, batch, county["junior"]).status_code == 404
    client.force_login(people["other_admin"])
    assert upload_roster(client, batch, county["other"]).status_code == 404
    client.force_login(people["viewer"])
    assert upload_roster(client, batch, county["primary"]).status_code == 403
    assert not Attachment.objects.exists()


def test_a_roster_that_is_no_picture_is_refused_with_a_message(client_for, batch, county, people):  # noqa: F811
    client = client_for(people["preparer"])
    response = upload_roster(client, batch, county["primary"], not_a_photo("花名册.pdf"))
    assert response.status_code == 302
    page = client.get(response.url).content.decode()
    assert "花名册.pdf" in page and not Attachment.objects.exists()
