"""Factories for the registry. ID numbers are valid and unique by construction."""
import datetime

import factory

from aid.casework.models import ExchangeActivity, HomeVisit, Pairing, SchoolPairing
from aid.reference.models import AidProgram, DeliveryItem, Term
from students import idnumber
from students.choices import HouseholdCategory, RegionLevel, Role, Stage, Status
from students.models import Household, Region, School, Student, User

from .dates import a_day_this_term, term_dates

COUNTY_CODE = "371324"


class RegionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Region
        django_get_or_create = ("code",)

    code = COUNTY_CODE
    name = "兰陵县"
    level = RegionLevel.COUNTY


class TownshipFactory(RegionFactory):
    code = factory.Sequence(lambda n: f"{COUNTY_CODE}{100 + n:03d}")
    name = factory.Sequence(lambda n: f"第{n}镇")
    level = RegionLevel.TOWNSHIP
    parent = factory.SubFactory(RegionFactory)


class SchoolFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = School

    name = factory.Sequence(lambda n: f"测试第{n}小学")
    region = factory.SubFactory(TownshipFactory)
    stages = factory.LazyFunction(lambda: [Stage.PRIMARY.value])


class HouseholdFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Household

    head_name = factory.Sequence(lambda n: f"户主{n}")
    township = factory.SubFactory(TownshipFactory)
    village = "王庄村"
    category = HouseholdCategory.REGISTERED_POOR
    guardian_name = "王芳"
    guardian_phone = "13812345678"


def id_number_for(n, birth_date=datetime.date(2012, 5, 1), male=True):
    """The n-th valid ID number; birth days roll over so n can be large."""
    birth_date = birth_date + datetime.timedelta(days=n // 400)
    sequence = (n % 400) * 2 + (1 if male else 0)
    return idnumber.make(COUNTY_CODE, birth_date, sequence % 1000)


class StudentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Student

    name = factory.Sequence(lambda n: f"学生{n}")
    id_number = factory.Sequence(lambda n: id_number_for(n))
    gender = factory.LazyAttribute(lambda o: idnumber.validate(o.id_number).gender)
    birth_date = factory.LazyAttribute(lambda o: idnumber.validate(o.id_number).birth_date)
    school = factory.SubFactory(SchoolFactory)
    stage = Stage.PRIMARY
    grade = "P3"
    class_name = "1班"
    status = Status.ENROLLED
    household = factory.SubFactory(
        HouseholdFactory, township=factory.SelfAttribute("..school.region")
    )


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    full_name = factory.Sequence(lambda n: f"职员{n}")
    password = factory.PostGenerationMethodCall("set_password", "pass12345")

    @factory.post_generation
    def saved(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class BureauAdminFactory(UserFactory):
    role = Role.BUREAU_ADMIN
    region = factory.SubFactory(RegionFactory)


class ViewerFactory(UserFactory):
    role = Role.VIEWER
    region = factory.SubFactory(RegionFactory)


class SchoolAdminFactory(UserFactory):
    role = Role.SCHOOL_ADMIN
    school = factory.SubFactory(SchoolFactory)


class TeacherFactory(UserFactory):
    role = Role.TEACHER
    school = factory.SubFactory(SchoolFactory)


# ---------------------------------------------------------------------------------------
# Casework (aid)
# ---------------------------------------------------------------------------------------


class TermFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Term
        django_get_or_create = ("name",)

    name = factory.LazyFunction(lambda: term_dates().name)
    starts_on = factory.LazyFunction(lambda: term_dates().starts_on)
    ends_on = factory.LazyFunction(lambda: term_dates().ends_on)


def previous_term():
    """The term before the current one."""
    dates = term_dates().previous()
    return TermFactory(name=dates.name, starts_on=dates.starts_on, ends_on=dates.ends_on)


class AidProgramFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AidProgram

    name = factory.Sequence(lambda n: f"资助项目{n}")
    stages = factory.LazyFunction(lambda: [Stage.PRIMARY.value])
    household_categories = factory.LazyFunction(list)


class DeliveryItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DeliveryItem
        django_get_or_create = ("name",)

    name = "书包"


class PairingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Pairing

    student = factory.SubFactory(StudentFactory)
    teacher = factory.SubFactory(TeacherFactory, school=factory.SelfAttribute("..student.school"))
    started_on = factory.LazyFunction(lambda: term_dates().starts_on)
    created_by = factory.SelfAttribute("teacher")


class HomeVisitFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = HomeVisit

    student = factory.SubFactory(StudentFactory)
    author = factory.SubFactory(TeacherFactory, school=factory.SelfAttribute("..student.school"))
    visited_on = factory.LazyFunction(a_day_this_term)
    study_situation = "学习认真"


class SchoolPairingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SchoolPairing
        skip_postgeneration_save = True

    lead_school = factory.SubFactory(SchoolFactory, is_urban=True)
    started_on = factory.LazyFunction(lambda: term_dates().previous().starts_on)
    goals = "送教下乡、联合教研"

    @factory.post_generation
    def supported_schools(obj, create, extracted, **kwargs):
        if create:
            obj.supported_schools.set(extracted or [SchoolFactory(is_weak=True)])


class ExchangeActivityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ExchangeActivity

    pairing = factory.SubFactory(SchoolPairingFactory)
    kind = ExchangeActivity.Kind.TEACHING
    held_on = factory.LazyFunction(a_day_this_term)
    summary = "送教下乡：数学公开课"
    recorded_by = factory.SubFactory(BureauAdminFactory)
