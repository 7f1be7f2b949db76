"""The roster's tallies (aid.casework.tallies), kept by triggers on students, pairings,
visits and terms.

A random series of the ways those rows are written (a form's save, the importer's COPY and
bulk UPDATE, queryset updates and deletes, bulk inserts, a rolled-back transaction), each
followed by a comparison of every tally with a count made here from the rows; and two
transactions writing at once, each on its own connection.
"""
import datetime
import random
import threading
import time
from collections import Counter

import pytest
from django.db import connection, connections, transaction
from django.db.models import Exists, OuterRef

from aid.casework import tallies
from aid.casework.coverage import roster_counts_for
from aid.casework.models import HomeVisit, Pairing
from aid.casework.tallies import RosterTally, TeacherTally, VisitTally
from aid.reference.models import Term
from common import bulk_writes
from students.choices import Stage, Status
from students.models import School, Student

from ...factories import (
    BureauAdminFactory,
    HomeVisitFactory,
    PairingFactory,
    SchoolAdminFactory,
    SchoolFactory,
    StudentFactory,
    TeacherFactory,
    TermFactory,
)

D = datetime.date
STAGES = [Stage.PRIMARY, Stage.JUNIOR]
STATUSES = [Status.ENROLLED, Status.SUSPENDED, Status.DROPPED_OUT]
# Visit days within the two terms, between them, and before both.
VISIT_DAYS = [D(2026, 2, 20), D(2026, 3, 1), D(2026, 5, 10), D(2026, 7, 15), D(2026, 8, 10),
              D(2026, 9, 1), D(2026, 10, 20), D(2027, 1, 20)]
LEFT = {"left_roster_on": D(2026, 7, 1), "left_roster_reason": "graduated"}


def recounted():
    """({(school, stage, status): (students, paired)}, {(term, school, stage, status): visited},
    {(school, teacher): active pairings}) counted here from the rows: the first two of the
    students on the roster, the third of every student."""
    on_roster = {
        pk: (school, stage, status)
        for pk, school, stage, status in Student.objects.filter(left_roster_on__isnull=True).values_list(
            "pk", "school_id", "stage", "status"
        )
    }
    paired = set(Pairing.objects.filter(ended_on__isnull=True).values_list("student_id", flat=True))
    roster = Counter(on_roster.values())
    roster_paired = Counter(key for pk, key in on_roster.items() if pk in paired)
    visits = list(HomeVisit.objects.values_list("student_id", "visited_on"))
    visited = Counter()
    for term in Term.objects.all():
        students = {pk for pk, day in visits if term.starts_on <= day <= term.ends_on and pk in on_roster}
        visited.update((term.pk, *on_roster[pk]) for pk in students)
    schools = dict(Student.objects.values_list("pk", "school_id"))
    teachers = Counter(
        (schools[student], teacher)
        for student, teacher in Pairing.objects.filter(ended_on__isnull=True).values_list("student_id", "teacher_id")
    )
    return {key: (n, roster_paired[key]) for key, n in roster.items()}, dict(visited), dict(teachers)


def kept():
    """The same from the tallies, leaving out the rows whose counts have fallen to 0."""
    assert not RosterTally.objects.filter(students__lt=0).exists()
    assert not RosterTally.objects.filter(paired__lt=0).exists()
    assert not VisitTally.objects.filter(visited__lt=0).exists()
    roster = {
        (school, stage, status): (students, paired)
        for school, stage, status, students, paired in RosterTally.objects.values_list(
            "school_id", "stage", "status", "students", "paired"
        )
        if (students, paired) != (0, 0)
    }
    visited = {
        (term, school, stage, status): visited
        for term, school, stage, status, visited in VisitTally.objects.values_list(
            "term_id", "school_id", "stage", "status", "visited"
        )
        if visited
    }
    assert not TeacherTally.objects.filter(pairings__lt=0).exists()
    teachers = {
        (school, teacher): pairings
        for school, teacher, pairings in TeacherTally.objects.values_list("school_id", "teacher_id", "pairings")
        if pairings
    }
    return roster, visited, teachers


def needing_reassignment(user):
    """Counted from the pairings, without the tallies."""
    return Pairing.objects.visible_to(user).needing_reassignment().count()


class County:
    """Writes students, pairings, visits and terms at random, by every path the
    application writes them."""

    def __init__(self, seed):
        self.random = random.Random(seed)
        self.schools = [SchoolFactory(), SchoolFactory()]
        self.teachers = {school.pk: TeacherFactory(school=school) for school in self.schools}
        self.others = [TeacherFactory(school=school) for school in self.schools]
        self.bureau = BureauAdminFactory()
        TermFactory(name="2026 春季学期", starts_on=D(2026, 3, 1), ends_on=D(2026, 7, 15))
        TermFactory(name="2026 秋季学期", starts_on=D(2026, 9, 1), ends_on=D(2027, 1, 20))
        self.terms_made = 0
        for _ in range(6):
            self.register()
        self.pair_in_bulk()
        self.visit_in_bulk()

    # The rows to write -------------------------------------------------------------------

    def pick(self, queryset, count=1):
        pks = list(queryset.values_list("pk", flat=True))
        return list(queryset.filter(pk__in=self.random.sample(pks, min(count, len(pks)))))

    def attributes(self):
        return {"school": self.random.choice(self.schools), "stage": self.random.choice(STAGES),
                "status": self.random.choice(STATUSES), "household": None}

    def unpaired(self):
        active = Pairing.objects.active().filter(student=OuterRef("pk"))
        return Student.objects.on_roster().exclude(Exists(active))

    def day(self):
        return self.random.choice(VISIT_DAYS)

    # Students ----------------------------------------------------------------------------

    def register(self):
        StudentFactory(**self.attributes())

    def copy_in(self):
        bulk_writes.create([StudentFactory.build(**self.attributes()) for _ in range(self.random.randint(1, 4))])

    def move_in_bulk(self):
        students = self.pick(Student.objects.all(), 3)
        for student in students:
            for name, value in self.attributes().items():
                setattr(student, name, value)
        if students:
            bulk_writes.update(students, ["school", "stage", "status"])

    def change_status(self):
        for student in self.pick(Student.objects.all()):
            student.status = self.random.choice(STATUSES)
            student.save()

    def leave_roster(self):
        Student.objects.filter(pk__in=[s.pk for s in self.pick(Student.objects.on_roster(), 2)]).update(**LEFT)

    def return_to_roster(self):
        left = Student.objects.filter(left_roster_on__isnull=False)
        Student.objects.filter(pk__in=[s.pk for s in self.pick(left)]).update(
            left_roster_on=None, left_roster_reason=""
        )

    def edit_names(self):
        Student.objects.filter(pk__in=[s.pk for s in self.pick(Student.objects.all(), 3)]).update(class_name="2班")

    def delete_student(self):
        """With their visits and pairings, as an erroneous record is removed."""
        for student in self.pick(Student.objects.all()):
            with transaction.atomic():
                student.visits.all().delete()
                student.pairings.all().delete()
                student.delete()

    # Pairings ----------------------------------------------------------------------------

    def pair(self):
        for student in self.pick(self.unpaired()):
            PairingFactory(student=student, teacher=self.teachers[student.school_id], started_on=D(2026, 3, 1))

    def pair_in_bulk(self):
        pairings = [
            Pairing(student=student, teacher=self.teachers[student.school_id], started_on=D(2026, 3, 1),
                    created_by=self.teachers[student.school_id])
            for student in self.pick(self.unpaired(), 3)
        ]
        Pairing.objects.bulk_create(pairings)

    def end_pairing(self):
        for pairing in self.pick(Pairing.objects.active()):
            pairing.ended_on = D(2026, 6, 1)
            pairing.save()

    def change_teacher(self):
        """Another teacher of the school, or of the other school (to be reassigned)."""
        for pairing in self.pick(Pairing.objects.active()):
            Pairing.objects.filter(pk=pairing.pk).update(teacher=self.random.choice(self.all_teachers()))

    def teacher_moves_or_leaves(self):
        """No tally changes: the figure reads the teacher's account where it is made."""
        teacher = self.random.choice(self.all_teachers())
        if self.random.random() < 0.5:
            teacher.is_active = not teacher.is_active
        else:
            teacher.school = self.random.choice([*self.schools, None])
        teacher.save()

    def all_teachers(self):
        return list(self.teachers.values()) + self.others

    def delete_pairings(self):
        Pairing.objects.filter(pk__in=[p.pk for p in self.pick(Pairing.objects.all(), 2)]).delete()

    # Visits ------------------------------------------------------------------------------

    def visit(self):
        for student in self.pick(Student.objects.all()):
            HomeVisitFactory(student=student, author=self.teachers[self.schools[0].pk], visited_on=self.day())

    def visit_in_bulk(self):
        """Two visits of one student in one statement, and others."""
        students = self.pick(Student.objects.all(), 2)
        visits = [
            HomeVisit(student=student, author=self.teachers[self.schools[0].pk], visited_on=self.day())
            for student in students + students[:1]
        ]
        HomeVisit.objects.bulk_create(visits)

    def redate_visits(self):
        HomeVisit.objects.filter(pk__in=[v.pk for v in self.pick(HomeVisit.objects.all(), 2)]).update(
            visited_on=self.day()
        )

    def visit_to_another_student(self):
        for visit in self.pick(HomeVisit.objects.all()):
            others = self.pick(Student.objects.all())
            if others:
                visit.student = others[0]
                visit.save()

    def delete_visits(self):
        HomeVisit.objects.filter(pk__in=[v.pk for v in self.pick(HomeVisit.objects.all(), 2)]).delete()

    # Terms -------------------------------------------------------------------------------

    def add_term(self):
        self.terms_made += 1
        starts_on = self.random.choice(VISIT_DAYS)
        Term.objects.create(name=f"学期{self.terms_made}", starts_on=starts_on,
                            ends_on=starts_on + datetime.timedelta(days=self.random.randint(20, 200)))

    def redate_term(self):
        for term in self.pick(Term.objects.all()):
            term.starts_on = term.starts_on - datetime.timedelta(days=self.random.randint(-30, 30))
            term.ends_on = max(term.ends_on, term.starts_on + datetime.timedelta(days=1))
            term.save()

    def delete_term(self):
        if Term.objects.count() > 1:
            for term in self.pick(Term.objects.all()):
                term.delete()

    def rolled_back(self):
        with pytest.raises(RuntimeError), transaction.atomic():
            self.copy_in()
            self.pair()
            self.visit()
            self.move_in_bulk()
            raise RuntimeError("the user's request failed half-way")

    OPERATIONS = (
        register, copy_in, move_in_bulk, change_status, leave_roster, return_to_roster, edit_names,
        delete_student, pair, pair_in_bulk, end_pairing, change_teacher, teacher_moves_or_leaves,
        delete_pairings, visit, visit_in_bulk,
        redate_visits, visit_to_another_student, delete_visits, add_term, redate_term, delete_term,
        rolled_back,
    )


@pytest.mark.django_db
@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_every_tally_equals_a_recount_after_a_random_series_of_writes(seed):
    county = County(seed)
    most_paired = most_visited = most_to_reassign = 0
    for step in range(80):
        operation = county.random.choice(County.OPERATIONS)
        operation(county)
        roster, visited, teachers = recounted()
        assert kept() == (roster, visited, teachers), f"after step {step}, {operation.__name__}"
        assert tallies.reassignment_count(county.bureau) == needing_reassignment(county.bureau)
        most_paired = max(most_paired, sum(paired for _, paired in roster.values()))
        most_visited = max(most_visited, sum(visited.values()))
        most_to_reassign = max(most_to_reassign, needing_reassignment(county.bureau))
    assert most_paired > 1 and most_visited > 1, "the series paired and visited students"
    assert most_to_reassign > 0, "the series left pairings to reassign"


@pytest.mark.django_db
def test_the_recount_gives_what_the_triggers_kept():
    county = County(5)
    for _ in range(30):
        county.random.choice(County.OPERATIONS)(county)
    before = kept()
    tallies.recount()
    assert kept() == before == recounted()


@pytest.mark.django_db
def test_a_bulk_load_counted_after_it():
    """The demo seed's way: no trigger work per statement, one recount at the end."""
    county = County(6)
    with transaction.atomic(), tallies.counted_after():
        for operation in (County.copy_in, County.pair_in_bulk, County.visit_in_bulk, County.move_in_bulk,
                          County.add_term, County.end_pairing):
            operation(county)
        for _ in range(20):
            county.random.choice(County.OPERATIONS)(county)
    assert kept() == recounted()
    county.visit()  # the triggers work again afterwards
    assert kept() == recounted()


@pytest.mark.django_db
@pytest.mark.parametrize("table", ["students_student", "aid_pairing", "aid_homevisit", "aid_term"])
def test_truncating_a_table_leaves_the_tallies_of_what_remains(table):
    """As a restore with --clean, or Django's flush, does."""
    county = County(7)
    county.visit_in_bulk()
    county.pair()
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no checks left pending before a TRUNCATE
        cursor.execute(f"TRUNCATE {table} CASCADE")
    assert kept() == recounted()


# ---------------------------------------------------------------------------------------
# Two transactions at once
# ---------------------------------------------------------------------------------------


def waiting_for_a_lock():
    """Whether another session of this database waits for a lock."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0] > 0


def in_two_transactions(first, second):
    """Run `first` in one transaction and, while it is still open, `second` in another (on
    another connection); the first commits once the second has done its work or waits for
    a lock, and the second finishes once it can."""
    first_wrote, second_done = threading.Event(), threading.Event()
    errors = []

    def run(work, before_commit):
        try:
            with transaction.atomic():
                work()
                before_commit()
        except Exception as error:  # reported by the test below
            errors.append(error)
        finally:
            connections.close_all()

    def hold_while_second_works():
        first_wrote.set()
        for _ in range(600):  # 30 s: a loaded machine may take its time to start the second
            if second_done.is_set() or waiting_for_a_lock():
                return
            time.sleep(0.05)
        errors.append(AssertionError("the second transaction neither finished nor waited"))

    def after_first():
        first_wrote.wait(30)
        second()
        second_done.set()

    one = threading.Thread(target=run, args=(first, hold_while_second_works))
    two = threading.Thread(target=run, args=(after_first, lambda: None))
    one.start()
    two.start()
    one.join(60)
    two.join(60)
    assert not errors


@pytest.mark.django_db(transaction=True)
def test_two_teachers_visiting_one_student_at_once_count_one_visited_student():
    student = StudentFactory(household=None)
    teacher = TeacherFactory(school=student.school)
    TermFactory(name="2026 秋季学期", starts_on=D(2026, 9, 1), ends_on=D(2027, 1, 20))
    visit = lambda: HomeVisit.objects.create(student=student, author=teacher, visited_on=D(2026, 10, 20))  # noqa: E731
    in_two_transactions(visit, visit)
    assert HomeVisit.objects.count() == 2
    assert kept() == recounted()
    assert list(VisitTally.objects.values_list("visited", flat=True)) == [1]


@pytest.mark.django_db(transaction=True)
def test_a_student_moving_school_while_being_paired_at_once_counts_the_pairing_at_the_new_school():
    student = StudentFactory(household=None)
    teacher = TeacherFactory(school=student.school)
    new_school = SchoolFactory()

    def move():
        Student.objects.filter(pk=student.pk).update(school=new_school)

    def pair():
        Pairing.objects.create(student=student, teacher=teacher, started_on=D(2026, 3, 1), created_by=teacher)

    for first, second in ((move, pair), (pair, move)):
        in_two_transactions(first, second)
        assert kept() == recounted()
        assert kept()[0] == {(new_school.pk, student.stage, student.status): (1, 1)}
        assert kept()[2] == {(new_school.pk, teacher.pk): 1}
        Pairing.objects.all().delete()
        Student.objects.filter(pk=student.pk).update(school=student.school)
        assert kept()[0] == {(student.school_id, student.stage, student.status): (1, 0)}


@pytest.mark.django_db
def test_a_school_administrator_reads_the_figures_of_their_school_from_the_tallies(django_assert_num_queries):
    county = County(8)
    for _ in range(20):
        county.random.choice(County.OPERATIONS)(county)
    school = School.objects.get(pk=county.schools[1].pk)
    admin = SchoolAdminFactory(school=school)
    term = Term.objects.order_by("starts_on").last()
    with django_assert_num_queries(1):
        counts = roster_counts_for(admin, term)
    roster, visited, _teachers = recounted()
    assert {(c.school_id, c.stage, c.status): (c.total, c.paired) for c in counts} == {
        key: value for key, value in roster.items() if key[0] == school.pk and value[0]
    }
    assert sum(c.visited for c in counts) == sum(n for key, n in visited.items() if key[:2] == (term.pk, school.pk))
