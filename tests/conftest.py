import pytest

from .factories import (
    BureauAdminFactory,
    SchoolAdminFactory,
    SchoolFactory,
    StudentFactory,
    TeacherFactory,
    ViewerFactory,
)


@pytest.fixture
def school(db):
    return SchoolFactory()


@pytest.fixture
def other_school(db):
    return SchoolFactory()


@pytest.fixture
def student(school):
    return StudentFactory(school=school)


@pytest.fixture
def other_student(other_school):
    return StudentFactory(school=other_school)


@pytest.fixture
def bureau_admin(db):
    return BureauAdminFactory()


@pytest.fixture
def viewer(db):
    return ViewerFactory()


@pytest.fixture
def school_admin(school):
    return SchoolAdminFactory(school=school)


@pytest.fixture
def teacher(school):
    return TeacherFactory(school=school)


@pytest.fixture
def client_for(client):
    """A test client logged in as the given user."""

    def login(user):
        client.force_login(user)
        return client

    return login
