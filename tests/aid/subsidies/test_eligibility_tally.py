"""The eligibility tallies: each program's lines per term, school, status, stage and amount
by their students' facts as they are now (EligibilityTally), and the students on the roster
by those facts (StudentFactsTally), kept by triggers on the lines, the students and the
households. A random series of the ways those rows are written, each followed by a
comparison with a count made here from the rows; and the precision checks' counts read from
the tallies against the same counts made from the lines and students."""
import datetime
import random
from collections import Counter

import pytest
from django.db import connection, transaction

from aid.casework import tallies
from aid.reference.models import ProgramStandard
from aid.subsidies.models import DisbursementBatch, DisbursementLine, PrecisionResolution
from aid.subsidies.precision import TALLIED_KINDS, PrecisionChecks
from aid.subsidies.tallies import EligibilityTally, StudentFactsTally
from common import bulk_writes
from students.choices import HouseholdCategory, Stage, Status
from students.models import Household, Student, shared_id_numbers
from tests.aid.casework.test_tallies import in_two_transactions
from tests.factories import (
    AidProgramFactory,
    BureauAdminFactory,
    HouseholdFactory,
    SchoolAdminFactory,
    SchoolFactory,
    StudentFactory,
    TermFactory,
)

pytestmark = pytest.mark.django_db

D = datetime.date
LINE_STATUSES = ["planned", "paid", "returned", "removed"]
STAGES = [Stage.PRIMARY, Stage.JUNIOR]
STUDENT_STATUSES = [Status.ENROLLED, Status.SUSPENDED, Status.DROPPED_OUT]
CATEGORIES = [HouseholdCategory.REGISTERED_POOR, HouseholdCategory.DIBAO, HouseholdCategory.MARGINAL]


def category(student):
    return student.household.category if student.household else ""


def recounted():
    """({line tally key: lines}, {student tally key: students}) counted here from the lines,
    the students and their households."""
    students = {s.pk: s for s in Student.objects.select_related("household")}
    lines = Counter()
    for line in DisbursementLine.objects.all():
        student = students[line.student_id]
        lines[(
            line.term_id, line.program_id, line.school_id, line.status, line.stage, line.amount,
            line.amount_reason != "", student.school_id, student.stage, student.status, student.is_boarder,
            student.left_roster_on is None, category(student),
        )] += 1
    on_roster = Counter(
        (s.school_id, s.stage, s.status, s.is_boarder, category(s)) for s in students.values() if s.left_roster_on is None
    )
    return dict(lines), dict(on_roster)


def kept():
    assert not EligibilityTally.objects.filter(lines__lt=0).exists()
    assert not StudentFactsTally.objects.filter(students__lt=0).exists()
    lines = {
        (t.term_id, t.program_id, t.school_id, t.status, t.line_stage, t.amount, t.amount_explained,
         t.student_school_id, t.stage, t.student_status, t.is_boarder, t.on_roster, t.household_category): t.lines
        for t in EligibilityTally.objects.all()
        if t.lines
    }
    students = {
        (t.school_id, t.stage, t.status, t.is_boarder, t.household_category): t.students
        for t in StudentFactsTally.objects.all()
        if t.students
    }
    return lines, students


class Registry:
    """Writes lines, students and households at random, by the paths the application
    writes them: a form's save, the importer's bulk UPDATE, queryset updates, bulk inserts,
    deletions, a rolled-back transaction."""

    def __init__(self, seed):
        self.random = random.Random(seed)
        self.bureau = BureauAdminFactory()
        self.schools = [SchoolFactory(), SchoolFactory()]
        self.terms = [
            TermFactory(name="2026 春季学期", starts_on=D(2026, 3, 1), ends_on=D(2026, 7, 15)),
            TermFactory(name="2026 秋季学期", starts_on=D(2026, 9, 1), ends_on=D(2027, 1, 20)),
        ]
        self.programs = [
            AidProgramFactory(stages=[Stage.PRIMARY], household_categories=[HouseholdCategory.DIBAO]),
            AidProgramFactory(stages=[Stage.PRIMARY, Stage.JUNIOR], requires_enrolment=True, boarders_only=True),
        ]
        for program in self.programs:
            ProgramStandard.objects.create(program=program, stage=Stage.PRIMARY, amount=500)
            ProgramStandard.objects.create(program=program, stage=Stage.JUNIOR, amount=625)
        self.batches = [
            DisbursementBatch.objects.create(program=program, term=term, region=self.schools[0].region.parent,
                                             prepared_by=self.bureau)
            for program in self.programs for term in self.terms
        ]
        self.households = [HouseholdFactory(category=category) for category in CATEGORIES]
        for _ in range(8):
            self.register()
        for _ in range(6):
            self.add_one()

    def pick(self, queryset, count=1):
        pks = list(queryset.values_list("pk", flat=True))
        return list(queryset.filter(pk__in=self.random.sample(pks, min(count, len(pks)))))

    def facts(self):
        return {
            "school": self.random.choice(self.schools), "stage": self.random.choice(STAGES),
            "status": self.random.choice(STUDENT_STATUSES), "is_boarder": self.random.random() < 0.5,
            "household": self.random.choice([*self.households, None]),
        }

    # Students and households -------------------------------------------------------------

    def register(self):
        StudentFactory(**self.facts())

    def change_in_a_form(self):
        for student in self.pick(Student.objects.all()):
            for name, value in self.facts().items():
                if self.random.random() < 0.5:
                    setattr(student, name, value)
            student.save()

    def import_in_bulk(self):
        students = self.pick(Student.objects.all(), 3)
        for student in students:
            for name, value in self.facts().items():
                setattr(student, name, value)
        if students:
            bulk_writes.update(students, ["school", "stage", "status", "is_boarder", "household"])

    def leave_roster(self):
        Student.objects.filter(pk__in=[s.pk for s in self.pick(Student.objects.on_roster(), 2)]).update(
            left_roster_on=D(2026, 10, 1), left_roster_reason="graduated"
        )

    def return_to_roster(self):
        left = Student.objects.filter(left_roster_on__isnull=False)
        Student.objects.filter(pk__in=[s.pk for s in self.pick(left)]).update(left_roster_on=None, left_roster_reason="")

    def copy_in(self):
        bulk_writes.create([StudentFactory.build(**self.facts()) for _ in range(self.random.randint(1, 3))])

    def delete_a_student(self):
        """One without lines, as an erroneous record is removed."""
        for student in self.pick(Student.objects.filter(disbursements__isnull=True)):
            student.delete()

    def edit_names(self):
        Student.objects.filter(pk__in=[s.pk for s in self.pick(Student.objects.all(), 3)]).update(class_name="2班")

    def recategorise_a_household(self):
        household = self.random.choice(self.households)
        household.category = self.random.choice(CATEGORIES)
        household.save()

    def recategorise_households(self):
        Household.objects.filter(pk__in=[h.pk for h in self.random.sample(self.households, 2)]).update(
            category=self.random.choice(CATEGORIES)
        )

    def rename_households(self):
        Household.objects.update(village="李庄村")

    # Lines -------------------------------------------------------------------------------

    def new_line(self):
        batch = self.random.choice(self.batches)
        student = self.random.choice(list(Student.objects.all()))
        taken = DisbursementLine.objects.filter(program=batch.program, term=batch.term, student=student)
        if taken.exclude(status="removed").exists():
            return None
        status = self.random.choice(LINE_STATUSES)
        return DisbursementLine(
            batch=batch, program=batch.program, term=batch.term, student=student, school=student.school,
            stage=student.stage, standard_amount=500, amount=500, status=status,
            removed_reason="已转学" if status == "removed" else "", paid_on=D(2026, 10, 1) if status == "paid" else None,
        )

    def add_one(self):
        if line := self.new_line():
            line.save()

    def add_in_bulk(self):
        lines, keys = [], set()
        for _ in range(3):
            line = self.new_line()
            if line and (line.program_id, line.term_id, line.student_id) not in keys:
                keys.add((line.program_id, line.term_id, line.student_id))
                lines.append(line)
        DisbursementLine.objects.bulk_create(lines)

    def change_amounts(self):
        for line in self.pick(DisbursementLine.objects.all(), 2):
            line.amount = self.random.choice([500, 400, 625])
            line.amount_reason = self.random.choice(["", "按实际在校天数"]) if line.amount != 500 else ""
            line.standard_amount = line.amount if not line.amount_reason else 500
            line.save()

    def pay_a_batch(self):
        self.random.choice(self.batches).lines.exclude(status="removed").update(status="paid", paid_on=D(2026, 10, 1))

    def remove_lines(self):
        DisbursementLine.objects.filter(pk__in=[line.pk for line in self.pick(DisbursementLine.objects.all(), 2)]).update(
            status="removed", removed_reason="已转学"
        )

    def move_lines(self):
        DisbursementLine.objects.filter(pk__in=[line.pk for line in self.pick(DisbursementLine.objects.all(), 2)]).update(
            school=self.random.choice(self.schools)
        )

    def delete_lines(self):
        DisbursementLine.objects.filter(pk__in=[line.pk for line in self.pick(DisbursementLine.objects.all(), 2)]).delete()

    def rolled_back(self):
        with pytest.raises(RuntimeError), transaction.atomic():
            self.add_in_bulk()
            self.import_in_bulk()
            self.recategorise_households()
            raise RuntimeError("the request failed half-way")

    OPERATIONS = (
        register, copy_in, change_in_a_form, import_in_bulk, leave_roster, return_to_roster, delete_a_student,
        edit_names, recategorise_a_household, recategorise_households, rename_households,
        add_one, add_in_bulk, change_amounts, pay_a_batch, remove_lines, move_lines, delete_lines, rolled_back,
    )


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_eligibility_tally_equals_a_recount_after_a_random_series_of_writes(seed):
    registry = Registry(seed)
    for step in range(60):
        operation = registry.random.choice(Registry.OPERATIONS)
        operation(registry)
        assert kept() == recounted(), f"after step {step}, {operation.__name__}"
    assert DisbursementLine.objects.exists()


def test_the_recount_and_a_bulk_load_give_what_the_triggers_kept():
    registry = Registry(4)
    for _ in range(30):
        registry.random.choice(Registry.OPERATIONS)(registry)
    before = kept()
    tallies.recount()
    assert kept() == before == recounted()
    with transaction.atomic(), tallies.counted_after():
        for _ in range(20):
            registry.random.choice(Registry.OPERATIONS)(registry)
    assert kept() == recounted()


def test_truncating_the_lines_empties_the_tally():
    Registry(5)
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("TRUNCATE aid_disbursementline CASCADE")
    assert kept()[0] == {} == recounted()[0]


def test_a_bulk_update_after_one_row_writes_on_the_same_connection_is_counted():
    """The triggers' statements are planned at each call: a plan kept from one-row writes
    would still count right, but slowly (bench/ times it); here the counts."""
    registry = Registry(6)
    for _ in range(6):
        registry.change_in_a_form()
        registry.recategorise_a_household()
    students = list(Student.objects.all())
    for student in students:
        student.stage, student.is_boarder = registry.random.choice(STAGES), not student.is_boarder
    bulk_writes.update(students, ["stage", "is_boarder"])
    Household.objects.update(category=HouseholdCategory.MARGINAL)
    assert kept() == recounted()


@pytest.mark.parametrize("seed", [7, 8, 9])
def test_the_checks_counted_from_the_tally_are_those_counted_from_the_lines(seed):
    """错发, 离册, 金额 and 漏发 as the home page counts them, from the tallies, and as the
    precision page counts them, from the lines and students: with resolutions, and with
    lines whose students changed after their payment (checked against their history)."""
    registry = Registry(seed)
    for _ in range(40):
        registry.random.choice(Registry.OPERATIONS)(registry)
    registry.add_one()
    registry.pay_a_batch()
    paid = DisbursementLine.objects.filter(status="paid").first()
    Student.objects.filter(pk=paid.student_id).update(left_roster_on=D(2026, 11, 1), left_roster_reason="graduated")
    StudentFactory(school=registry.schools[0], stage=Stage.PRIMARY, status=Status.ENROLLED, is_boarder=True,
                   household=HouseholdFactory(category=HouseholdCategory.DIBAO))  # due, and missed
    registry.change_in_a_form()
    for kind in TALLIED_KINDS:
        for line in registry.pick(DisbursementLine.objects.all()):
            PrecisionResolution.objects.create(program=line.program, term=line.term, kind=kind, student=line.student,
                                               note="已核实", resolved_by=registry.bureau)
    users = [registry.bureau, SchoolAdminFactory(school=registry.schools[0])]
    found = Counter()
    for user in users:
        for program in registry.programs:
            for term in registry.terms:
                tallied = PrecisionChecks(user, program, term, shared_id_numbers())
                from_lines = PrecisionChecks(user, program, term, shared_id_numbers())
                from_lines.tallied_schools = None
                for kind in TALLIED_KINDS:
                    assert tallied.count(kind) == from_lines.count(kind), (user, program, term, kind)
                    found[kind] += tallied.count(kind)
    assert all(found.values()), found


@pytest.mark.django_db(transaction=True)
def test_lines_students_and_households_written_at_once_are_counted_by_the_facts_that_stand():
    """Each pair in two transactions at once, either one first: the tally ends as a recount."""
    registry = Registry(10)
    student = StudentFactory(school=registry.schools[0], household=registry.households[0])
    batch = registry.batches[0]

    def add_line():
        DisbursementLine.objects.create(
            batch=batch, program=batch.program, term=batch.term, student=student, school=student.school,
            stage=student.stage, standard_amount=500, amount=500,
        )

    def move_student():
        Student.objects.filter(pk=student.pk).update(stage=Stage.JUNIOR, household=registry.households[1])

    def recategorise():
        Household.objects.filter(pk__in=[registry.households[0].pk, registry.households[1].pk]).update(
            category=HouseholdCategory.TEKUN
        )

    def reset():
        DisbursementLine.objects.filter(student=student).delete()
        Student.objects.filter(pk=student.pk).update(stage=Stage.PRIMARY, household=registry.households[0])
        for household, category in zip(registry.households, CATEGORIES):
            Household.objects.filter(pk=household.pk).update(category=category)

    for pair in ((add_line, move_student), (add_line, recategorise), (move_student, recategorise)):
        for first, second in (pair, pair[::-1]):
            reset()
            if add_line not in pair:
                add_line()  # the student's and the household's changes move a line
            in_two_transactions(first, second)
            assert DisbursementLine.objects.filter(student=student).exists()
            assert kept() == recounted(), (first.__name__, second.__name__)
