"""The fixed vocabularies of the registry, with their Chinese labels in the catalog."""
from django.db import models
from django.utils.translation import gettext_lazy as _


class Gender(models.TextChoices):
    MALE = "M", _("Male")
    FEMALE = "F", _("Female")


class Stage(models.TextChoices):
    PRESCHOOL = "preschool", _("Preschool")
    PRIMARY = "primary", _("Primary")
    JUNIOR = "junior", _("Junior secondary")
    SENIOR = "senior", _("Senior secondary")
    VOCATIONAL = "vocational", _("Secondary vocational")
    HIGHER = "higher", _("Higher education")


class Grade(models.TextChoices):
    """Grades carry their stage in the first letter of the code (see STAGE_OF_GRADE)."""

    K1 = "K1", _("Nursery class")
    K2 = "K2", _("Middle class")
    K3 = "K3", _("Senior class (preschool)")
    P1 = "P1", _("Grade 1")
    P2 = "P2", _("Grade 2")
    P3 = "P3", _("Grade 3")
    P4 = "P4", _("Grade 4")
    P5 = "P5", _("Grade 5")
    P6 = "P6", _("Grade 6")
    J1 = "J1", _("Grade 7")
    J2 = "J2", _("Grade 8")
    J3 = "J3", _("Grade 9")
    S1 = "S1", _("Senior year 1")
    S2 = "S2", _("Senior year 2")
    S3 = "S3", _("Senior year 3")
    V1 = "V1", _("Vocational year 1")
    V2 = "V2", _("Vocational year 2")
    V3 = "V3", _("Vocational year 3")
    H1 = "H1", _("University year 1")
    H2 = "H2", _("University year 2")
    H3 = "H3", _("University year 3")
    H4 = "H4", _("University year 4")
    H5 = "H5", _("University year 5")


STAGE_OF_GRADE_PREFIX = {
    "K": Stage.PRESCHOOL,
    "P": Stage.PRIMARY,
    "J": Stage.JUNIOR,
    "S": Stage.SENIOR,
    "V": Stage.VOCATIONAL,
    "H": Stage.HIGHER,
}


def stage_of_grade(grade):
    return STAGE_OF_GRADE_PREFIX[grade[0]]


def grades_of_stage(stage):
    return [grade for grade in Grade if stage_of_grade(grade) == stage]


class Status(models.TextChoices):
    ENROLLED = "enrolled", _("Enrolled")
    HOME_TAUGHT = "home_taught", _("Taught at home")
    SUSPENDED = "suspended", _("Suspended")
    DROPPED_OUT = "dropped_out", _("Dropped out")
    NOT_ENROLLED = "not_enrolled", _("Not enrolled")
    OUTSIDE_COUNTY = "outside_county", _("Studying outside the county")
    GRADUATED = "graduated", _("Graduated")


# Students taught at home (送教上门) are counted as in school in every report.
IN_SCHOOL_STATUSES = (Status.ENROLLED, Status.HOME_TAUGHT)


class HouseholdCategory(models.TextChoices):
    REGISTERED_POOR = "registered_poor", _("Registered poor, not yet lifted")
    REGISTERED_LIFTED = "registered_lifted", _("Registered poor, lifted out")
    UNSTABLE = "unstable", _("Lifted but unstable")
    MARGINAL = "marginal", _("Marginal, at risk of poverty")
    SUDDEN_HARDSHIP = "sudden_hardship", _("Sudden severe hardship")
    DIBAO = "dibao", _("Minimum living allowance")
    TEKUN = "tekun", _("Extreme poverty support")
    OTHER = "other", _("Other hardship")


class PovertyCause(models.TextChoices):
    ILLNESS = "illness", _("Illness")
    DISABILITY = "disability", _("Disability")
    EDUCATION = "education", _("Cost of schooling")
    DISASTER = "disaster", _("Natural disaster")
    LACK_OF_LABOUR = "lack_of_labour", _("Lack of labour")
    LACK_OF_SKILLS = "lack_of_skills", _("Lack of skills")
    LACK_OF_LAND = "lack_of_land", _("Lack of land")
    LACK_OF_CAPITAL = "lack_of_capital", _("Lack of capital")
    POOR_TRANSPORT = "poor_transport", _("Poor transport")
    LACK_OF_DRIVE = "lack_of_drive", _("Lack of drive")
    OTHER = "other", _("Other")


class LeaveReason(models.TextChoices):
    GRADUATED = "graduated", _("Graduated from the last stage")
    MOVED_AWAY = "moved_away", _("Household moved out of the county")
    NO_LONGER_ELIGIBLE = "no_longer_eligible", _("Household no longer registered")
    DUPLICATE = "duplicate", _("Duplicate record")
    DECEASED = "deceased", _("Deceased")
    OTHER = "other", _("Other")


class RegionLevel(models.TextChoices):
    PROVINCE = "province", _("Province")
    CITY = "city", _("City")
    COUNTY = "county", _("County")
    TOWNSHIP = "township", _("Township")


class Role(models.TextChoices):
    BUREAU_ADMIN = "bureau_admin", _("Bureau administrator")
    VIEWER = "viewer", _("City or province viewer")
    GRID_LEADER = "grid_leader", _("Grid group leader or member")
    SCHOOL_ADMIN = "school_admin", _("School administrator")
    TEACHER = "teacher", _("Teacher")
