"""Build the demo county: Lanling (兰陵县) with its townships, schools, households, students
and a demo account for each role.

The static tables live in students.demo_data; this command draws the people from them
with one seeded random.Random, so the same --seed gives the same county.
"""
import bisect
import datetime
import itertools
import os
import random
from dataclasses import dataclass

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.db.models import ProtectedError, Q, RestrictedError
from django.test.utils import override_settings
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import LoginEvent
from aid.casework import tallies
from common import bulk_writes
from common.audit import retention_bypass
from demo import data
from demo.casework import PLANTED_DEPARTURES, build_casework, delete_casework, demo_password_hash
from students import idnumber
from students.choices import Gender, RegionLevel, Stage, grades_of_stage
from students.models import COUNTY_WIDE_ROLES, Household, Region, School, Student, User, staff_of_region

BATCH_SIZE = 2000
DEFAULT_STUDENTS = 3621
DEFAULT_SEED = 2020
COUNTY_CODE, COUNTY_NAME = data.COUNTY
DEMO_USERNAMES = [row[0] for row in data.DEMO_USERS] + list(data.CASEWORK_LOGINS)
# Age reached by 31 August of the school year a stage's first grade starts.
ENTRY_AGE = {
    Stage.PRESCHOOL: 3,
    Stage.PRIMARY: 6,
    Stage.JUNIOR: 12,
    Stage.SENIOR: 15,
    Stage.VOCATIONAL: 15,
}


class Command(BaseCommand):
    help = "Build the demo county (Lanling, Linyi, Shandong) with schools, students and logins."

    def add_arguments(self, parser):
        parser.add_argument(
            "--students",
            type=int,
            default=DEFAULT_STUDENTS,
            help="Number of students on the roster (default: %(default)s, as in the seed story); those who left it are made on top.",
        )
        parser.add_argument(
            "--seed",
            type=int,
            default=DEFAULT_SEED,
            help="Seed of the random generator; the same seed builds the same county.",
        )
        parser.add_argument(
            "--reset",
            action="store_true",
            help="Delete the demo county and its demo users first.",
        )
        parser.add_argument(
            "--no-casework",
            action="store_true",
            help="Registry only: no teachers, pairings, visits, school pairings or batches.",
        )
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="When the county already has students, leave it and only print the logins.",
        )

    def handle(self, *args, students, seed, reset, if_empty, **options):
        if students < 1:
            raise CommandError(_("--students must be at least 1."))
        password = os.environ.get("DEMO_PASSWORD") or data.DEMO_PASSWORD
        with transaction.atomic():
            if reset:
                delete_demo_data()
            elif Student.objects.filter(school__region__code__startswith=COUNTY_CODE).exists():
                if not if_empty:
                    raise CommandError(
                        _(
                            "%(county)s already has students. Run the command with --reset "
                            "to replace the demo data."
                        )
                        % {"county": COUNTY_NAME}
                    )
                self.stdout.write(
                    _("%(county)s already has students; the demo data was left as it is.")
                    % {"county": COUNTY_NAME}
                )
                self.write_logins(existing_demo_users(password), password)
                return
            # The tallies are counted once for the whole load, not statement by statement.
            with tallies.counted_after():
                users, counts = build_county(
                    random.Random(seed), students, password, with_casework=not options["no_casework"]
                )
            # The planner's statistics still describe the empty tables: pages opened right
            # after a seed (the first visitor, the tests) would get plans for empty tables.
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
        self.write_logins(users, password)
        self.stdout.write(
            _(
                "Created %(regions)d regions, %(schools)d schools, %(households)d households, "
                "%(students)d students on the roster (and %(left)d who left it) and %(users)d "
                "demo users."
            )
            % counts
        )

    def write_logins(self, users, password):
        """One line per login, `username password role scope`, for people and scripts."""
        for user in users:
            self.stdout.write(f"{user.username} {password} {user.role} {user.scope_label}")


def existing_demo_users(password):
    """The demo users that can still log in with this password, in the usual order."""
    users = User.objects.select_related("region", "school").in_bulk(
        DEMO_USERNAMES, field_name="username"
    )
    return [
        users[username]
        for username in DEMO_USERNAMES
        if username in users and users[username].check_password(password)
    ]


def build_county(rng, student_count, password, with_casework=True):
    """Create everything; return the demo users and the number of objects by kind."""
    regions = build_regions()
    townships = [regions[code] for code, *_rest in data.TOWNSHIPS]
    school_plans = build_schools(rng, townships)
    users = build_users(regions, school_plans, password)
    counts = {
        "regions": len(regions),
        "schools": len(school_plans),
        "households": 0,
        "students": 0,
        "left": 0,
        "users": len(users),
    }
    roster = RosterBuilder(rng, townships, school_plans)
    # The records date from a year back, so last term's payments find their students
    # on the roster as it stood then.
    registered_at = timezone.now() - datetime.timedelta(days=365)
    # `student_count` students stay on the roster (the seed story's 3,621): the casework
    # takes PLANTED_DEPARTURES of them off, so they are made on top.
    on_roster = student_count + (PLANTED_DEPARTURES if with_casework else 0)
    with bulk_writes.indexes_built_after([Household, Student]):
        # Chunk by chunk, so that memory stays flat however many students are asked for.
        for families in roster.chunks(on_roster, BATCH_SIZE):
            write_families(families, registered_at)
            counts["households"] += len(families)
    if with_casework:
        users += build_casework(
            rng,
            county=regions[COUNTY_CODE],
            students=Student.objects.filter(school__region__code__startswith=COUNTY_CODE),
            schools=[plan.school for plan in school_plans],
            users={user.username: user for user in users},
            password=password,
        )
        counts["users"] = len(users)
    county_students = Student.objects.filter(school__region__code__startswith=COUNTY_CODE)
    counts["students"] = county_students.on_roster().count()
    counts["left"] = county_students.filter(left_roster_on__isnull=False).count()
    return users, counts


def write_families(families, registered_at):
    """Write (household, children) rows, the children's household_id filled in."""
    ids = bulk_writes.create_rows(
        Household, [household for household, _children in families],
        user=None, reason=data.CHANGE_REASON, date=registered_at,
    )
    students = [
        {**child, "household_id": household_id}
        for household_id, (_household, children) in zip(ids, families, strict=True)
        for child in children
    ]
    bulk_writes.create_rows(Student, students, user=None, reason=data.CHANGE_REASON, date=registered_at)


def delete_demo_data():
    """Delete the demo county, its people and history, and the demo users.

    The city and province are kept when other counties still hang under them.
    """
    county_regions = Region.objects.filter(code__startswith=COUNTY_CODE)
    township_ids = list(county_regions.values_list("pk", flat=True))
    schools = School.objects.filter(region_id__in=township_ids)
    school_ids = list(schools.values_list("pk", flat=True))
    try:
        with retention_bypass():
            delete_county(county_regions, township_ids, schools, school_ids)
    except (ProtectedError, RestrictedError) as error:
        raise CommandError(
            _("Cannot reset the demo county: %(error)s") % {"error": error.args[0]}
        ) from error


def delete_county(county_regions, township_ids, schools, school_ids):
    """The demo county goes with its audit trail (history rows name its people and the
    deleted demo users): the one removal besides the retention command, for the demo only."""
    LoginEvent.objects.filter(staff_of_region(COUNTY_CODE) | Q(user__username__in=DEMO_USERNAMES)).delete()
    delete_casework(school_ids)
    User.objects.filter(username__in=DEMO_USERNAMES).delete()
    # Their history goes too, so a deletion record per row would only cost time
    # (minutes for 200,000 students).
    with override_settings(SIMPLE_HISTORY_ENABLED=False):
        Student.objects.filter(school_id__in=school_ids).delete()
        Household.objects.filter(township_id__in=township_ids).delete()
    Student.history.model.objects.filter(school_id__in=school_ids).delete()
    Household.history.model.objects.filter(township_id__in=township_ids).delete()
    schools.delete()
    county_regions.filter(level=RegionLevel.TOWNSHIP).delete()
    county_regions.delete()
    for code in (data.CITY[0], data.PROVINCE[0]):
        Region.objects.filter(code=code, children__isnull=True).delete()


def build_regions():
    """Create or update the region tree; return the regions by code."""
    regions = {}

    def upsert(code, name, level, parent):
        regions[code], _created = Region.objects.update_or_create(
            code=code, defaults={"name": name, "level": level, "parent": parent}
        )
        return regions[code]

    province = upsert(*data.PROVINCE, RegionLevel.PROVINCE, None)
    city = upsert(*data.CITY, RegionLevel.CITY, province)
    county = upsert(*data.COUNTY, RegionLevel.COUNTY, city)
    for code, name, *_rest in data.TOWNSHIPS:
        upsert(code, name, RegionLevel.TOWNSHIP, county)
    return regions


@dataclass(eq=False)  # hashed by identity: plans are keys of the school choosers
class SchoolPlan:
    """A school to create, and how students are spread over it (see demo_data)."""

    name: str
    township: Region
    stages: tuple
    share: int
    classes: int
    kind: str  # "county", "township" or "village"
    village: str = ""
    school: School | None = None


def plan_schools(townships):
    by_code = {township.code: township for township in townships}
    plans = [
        SchoolPlan(name, by_code[code], stages, share, classes, "county")
        for name, code, stages, share, classes in data.COUNTY_SCHOOLS
    ]
    for township, (_code, _name, _share, villages) in zip(townships, data.TOWNSHIPS):
        for pattern, stages, share, classes in data.TOWNSHIP_SCHOOLS:
            name = pattern.format(township=township.name)
            plans.append(SchoolPlan(name, township, stages, share, classes, "township"))
        pattern, stages, share, classes = data.VILLAGE_SCHOOL
        for village in villages[: data.VILLAGE_SCHOOLS_PER_TOWNSHIP]:
            name = pattern.format(township=township.name, village=village_stem(village))
            plans.append(SchoolPlan(name, township, stages, share, classes, "village", village))
    return plans


def village_stem(village):
    """The village name as schools use it: 杨坡村 → 杨坡, but 代村 stays 代村."""
    stem = village.removesuffix("村")
    return stem if len(stem) > 1 else village


def build_schools(rng, townships):
    """Create or update the schools; return their plans, each with its saved school."""
    plans = plan_schools(townships)
    for index, plan in enumerate(plans, start=1):
        is_urban = plan.township.name.endswith("街道") and plan.kind != "village"
        plan.school, _created = School.objects.update_or_create(
            name=plan.name,
            defaults={
                "code": f"{data.SCHOOL_CODE_PREFIX}{index:04d}",
                "region": plan.township,
                "stages": [str(stage) for stage in plan.stages],
                "is_urban": is_urban,
                "is_weak": not is_urban and rng.random() < data.WEAK_SCHOOL_CHANCE[plan.kind],
                "is_poor_village": plan.kind == "village"
                and rng.random() < data.POOR_VILLAGE_CHANCE,
                "address": "".join(
                    (data.PROVINCE[1], data.CITY[1], COUNTY_NAME, plan.township.name, plan.village)
                ),
            },
        )
    return plans


def build_users(regions, school_plans, password):
    schools_by_name = {plan.name: plan.school for plan in school_plans}
    users = []
    for username, full_name, role, scope in data.DEMO_USERS:
        user = User.objects.filter(username=username).first() or User(username=username)
        user.full_name = full_name
        user.role = role
        user.region = regions[scope] if role in COUNTY_WIDE_ROLES else None
        user.school = None if role in COUNTY_WIDE_ROLES else schools_by_name[scope]
        user.password = demo_password_hash(password)
        # The printed logins must keep working for visitors (README, Security).
        user.must_change_password = settings.DEMO_MUST_CHANGE_PASSWORD
        user.save()
        users.append(user)
    return users


class Weighted:
    """Draws from a {value: weight} table with the builder's random generator: the draw of
    `rng.choices(values, cum_weights=…)[0]`, the same value from the same random number,
    without the checks and the list that cost more than the draw (millions of them)."""

    def __init__(self, rng, weights):
        self.random = rng.random
        self.values = list(weights)
        self.cum_weights = list(itertools.accumulate(weights.values()))
        self.total = self.cum_weights[-1] + 0.0
        self.last = len(self.values) - 1

    def __call__(self):
        return self.values[bisect.bisect(self.cum_weights, self.random() * self.total, 0, self.last)]


class RosterBuilder:
    """Draws households and their children for the townships and schools, as rows
    ({attname: value}) for bulk_writes.create_rows."""

    def __init__(self, rng, townships, school_plans):
        self.rng = rng
        self.today = timezone.localdate()
        self.school_year = self.today.year if self.today.month >= 9 else self.today.year - 1
        self.township = Weighted(
            rng, {(township, row[3]): row[2] for township, row in zip(townships, data.TOWNSHIPS)}
        )
        self.schools = self._school_choosers(school_plans)
        self.stage = Weighted(rng, data.STAGE_WEIGHTS)
        self.status = Weighted(rng, data.STATUS_WEIGHTS)
        self.category = Weighted(rng, data.HOUSEHOLD_CATEGORY_WEIGHTS)
        self.cause = Weighted(rng, data.POVERTY_CAUSE_WEIGHTS)
        self.children = Weighted(rng, data.CHILDREN_PER_HOUSEHOLD_WEIGHTS)
        self.guardian = Weighted(rng, data.GUARDIAN_WEIGHTS)
        self.surname = Weighted(rng, data.SURNAMES)
        self.leave_reason = Weighted(rng, {row[:3]: row[3] for row in data.LEAVE_REASONS})
        self.grades = {stage: grades_of_stage(stage) for stage in data.STAGE_WEIGHTS}
        self.genders = Gender.values
        self.used_ids = set()
        self.registration_serial = 0

    def _school_choosers(self, school_plans):
        """A chooser of school plans per (township code, stage); senior and vocational
        schools take students from the whole county."""
        tables = {}
        for plan in school_plans:
            for stage in plan.stages:
                key = self._pool_key(plan.township.code, stage)
                tables.setdefault(key, {})[plan] = plan.share
        return {key: Weighted(self.rng, table) for key, table in tables.items()}

    @staticmethod
    def _pool_key(township_code, stage):
        return (None if stage in data.COUNTY_WIDE_STAGES else township_code, stage)

    def chunks(self, on_roster_count, chunk_size):
        """Yield lists of (household, children) of about chunk_size students each, until
        `on_roster_count` students are on the roster; those who left it come on top."""
        families, size = [], 0
        remaining = on_roster_count
        while remaining:
            township, household = self.household()
            children = [self.student(township, household) for _index in range(min(self.children(), remaining))]
            families.append((household, children))
            size += len(children)
            remaining -= sum(1 for child in children if child["left_roster_on"] is None)
            if size >= chunk_size or not remaining:
                yield families
                families, size = [], 0

    def household(self):
        """The township and the household's row."""
        township, villages = self.township()
        surname = self.surname()
        father_heads = self.rng.random() < data.HEAD_IS_FATHER_CHANCE
        head_gender = Gender.MALE if father_heads else Gender.FEMALE
        head_name = surname + self.rng.choice(data.ADULT_GIVEN_NAMES[head_gender])
        category = self.category()
        return township, {
            "registration_number": (
                self.registration_number() if category in data.REGISTERED_CATEGORIES else ""
            ),
            "head_name": head_name,
            "township_id": township.pk,
            "village": self.rng.choice(villages),
            "category": category,
            "poverty_cause": self.cause(),
            "guardian_name": self.guardian_name(surname, head_name, head_gender),
            "guardian_phone": self.rng.choice(data.MOBILE_PREFIXES) + f"{self.rng.randrange(10**8):08d}",
        }

    def registration_number(self):
        """Unique and increasing with gaps, as numbers left by households that were removed."""
        self.registration_serial += self.rng.randint(1, 12)
        return f"{COUNTY_CODE}{self.registration_serial:07d}"

    def guardian_name(self, surname, head_name, head_gender):
        guardian = self.guardian()
        if guardian == "head" or (guardian == "mother" and head_gender == Gender.FEMALE):
            return head_name
        if guardian == "mother":
            return self.surname() + self.rng.choice(data.ADULT_GIVEN_NAMES[Gender.FEMALE])
        return surname + self.rng.choice(data.ELDER_GIVEN_NAMES)

    def student(self, township, household):
        """A child's row (without its household_id, given when the household is written)."""
        gender = self.rng.choice(self.genders)
        stage = self.stage()
        grade = self.rng.choice(self.grades[stage])
        plan = self.schools[self._pool_key(township.code, stage)]()
        birth_date = self.birth_date(stage, grade)
        id_number = self.id_number(birth_date, gender)
        student = {
            "name": household["head_name"][0] + self.child_given_name(gender),
            "gender": gender,
            "id_number": id_number,
            "birth_date": birth_date,
            "student_number": "G" + id_number,
            "school_id": plan.school.pk,
            "stage": stage,
            "grade": grade,
            "class_name": f"{self.rng.randint(1, plan.classes)}班",
            "status": self.status(),
            "is_boarder": self.rng.random() < data.BOARDER_CHANCE.get(stage, 0),
            "left_roster_on": None,
            "left_roster_reason": "",
            "left_roster_note": "",
        }
        if self.rng.random() < data.LEFT_ROSTER_CHANCE:
            self.leave_roster(student)
        return student

    def child_given_name(self, gender):
        first, second = data.CHILD_NAME_CHARACTERS[gender]
        if self.rng.random() < data.SINGLE_CHARACTER_NAME_CHANCE:
            return self.rng.choice(second)
        return self.rng.choice(first) + self.rng.choice(second)

    def birth_date(self, stage, grade):
        """A birth date that fits the grade in this school year (1 September cut-off)."""
        age = ENTRY_AGE[stage] + int(grade[1:]) - 1
        if self.rng.random() < data.OLDER_THAN_GRADE_CHANCE:
            age += 1
        earliest = datetime.date(self.school_year - age - 1, 9, 1)
        return earliest + datetime.timedelta(days=self.rng.randrange(365))

    def id_number(self, birth_date, gender):
        """A valid, unused ID number: the sequence is odd for boys and even for girls."""
        parity = 1 if gender == Gender.MALE else 0
        while True:
            sequence = 2 * self.rng.randrange(500) + parity
            if (birth_date, sequence) not in self.used_ids:
                self.used_ids.add((birth_date, sequence))
                return idnumber.make(COUNTY_CODE, birth_date, sequence)

    def leave_roster(self, student):
        reason, status, note = self.leave_reason()
        student["left_roster_on"] = self.today - datetime.timedelta(days=self.rng.randint(1, 300))
        student["left_roster_reason"] = reason
        student["left_roster_note"] = note
        if status:
            student["status"] = status
