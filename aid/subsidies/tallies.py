"""Each program's lines per term, school and status, with their amounts: the home page's
money figures without summing every line of a county (LineTally); and the same lines by what
their students are now, for the precision checks' counts (EligibilityTally).

LineTally is kept by statement-level triggers on the lines (migration 0011, with the
roster's tallies in aid.casework.tallies): a line's program, term, school, status and amount
are its own columns, so each statement adds what its rows changed and nothing else is read.
EligibilityTally is kept by triggers on the lines, the students and the households
(migration 0013), as a student's or a household's change moves their lines.
"""
from django.db import models
from django.db.models import Q, Sum
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _

from aid.casework.tallies import tallied_scope
from aid.reference.models import AidProgram, Term
from aid.subsidies.models import DisbursementLine
from students.models import School


class LineTally(models.Model):
    """The lines of a program, term, school and status, and the sum of their amounts. Rows
    stay when their counts fall to 0."""

    program = models.ForeignKey(
        AidProgram, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="+"
    )
    term = models.ForeignKey(Term, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="+")
    school = models.ForeignKey(
        School, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="+"
    )
    status = models.CharField(max_length=10)
    lines = models.IntegerField()
    amount = models.DecimalField(max_digits=16, decimal_places=2)

    class Meta:
        verbose_name = _("lines tally")
        verbose_name_plural = _("lines tallies")
        constraints = [
            models.UniqueConstraint(fields=["term", "program", "school", "status"], name="line_tally_key"),
        ]


class EligibilityTally(models.Model):
    """The lines of a program, term, school and status, by their own stage and amount and by
    the facts a program's eligibility rules read of their students as they are now
    (AidProgram.eligibility_rules): the student's school, stage, status, boarding, place on
    the roster and household category. Rows stay when their counts fall to 0."""

    program = models.ForeignKey(
        AidProgram, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="+"
    )
    term = models.ForeignKey(Term, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="+")
    school = models.ForeignKey(
        School, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="+"
    )
    status = models.CharField(max_length=10)
    line_stage = models.CharField(max_length=12)
    amount = models.DecimalField(max_digits=10, decimal_places=2)
    amount_explained = models.BooleanField()  # a reason is given for the amount
    student_school = models.ForeignKey(
        School, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="+"
    )
    stage = models.CharField(max_length=12)
    student_status = models.CharField(max_length=20)
    is_boarder = models.BooleanField()
    on_roster = models.BooleanField()
    household_category = models.CharField(max_length=30)  # "" for a student with no household
    lines = models.IntegerField()

    # The tally's column of each student field path an eligibility rule reads.
    FACTS = {
        "stage": "stage", "status": "student_status", "is_boarder": "is_boarder", "school_id": "student_school_id",
        "household__category": "household_category",
    }

    class Meta:
        verbose_name = _("eligibility tally")
        verbose_name_plural = _("eligibility tallies")
        constraints = [
            models.UniqueConstraint(
                fields=[
                    "term", "program", "school", "status", "line_stage", "amount", "amount_explained",
                    "student_school", "stage", "student_status", "is_boarder", "on_roster", "household_category",
                ],
                name="eligibility_tally_key",
            ),
        ]


class StudentFactsTally(models.Model):
    """The students on the roster of a school by the facts a program's eligibility rules read
    (as EligibilityTally): their stage, status, boarding and household category. Rows stay
    when their counts fall to 0."""

    school = models.ForeignKey(
        School, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="+"
    )
    stage = models.CharField(max_length=12)
    status = models.CharField(max_length=20)
    is_boarder = models.BooleanField()
    household_category = models.CharField(max_length=30)  # "" for a student with no household
    students = models.IntegerField()

    FACTS = {
        "stage": "stage", "status": "status", "is_boarder": "is_boarder", "school_id": "school_id",
        "household__category": "household_category",
    }

    class Meta:
        verbose_name = _("students' facts tally")
        verbose_name_plural = _("students' facts tallies")
        constraints = [
            models.UniqueConstraint(
                fields=["school", "stage", "status", "is_boarder", "household_category"], name="student_facts_tally_key"
            ),
        ]


def lines_tallied(program, term, condition):
    """How many of the program's lines of the term that count (not removed) meet
    `condition`, a Q on EligibilityTally's columns (the scope among them): one sum over a
    few hundred rows."""
    rows = (
        EligibilityTally.objects.filter(program=program, term=term, lines__gt=0)
        .exclude(status=DisbursementLine.Status.REMOVED)
        .filter(condition)
    )
    return rows.aggregate(lines=Coalesce(Sum("lines"), 0))["lines"]


def students_tallied(condition):
    """How many students on the roster meet `condition`, a Q on StudentFactsTally's columns
    (the scope among them)."""
    rows = StudentFactsTally.objects.filter(students__gt=0).filter(condition)
    return rows.aggregate(students=Coalesce(Sum("students"), 0))["students"]


def money_by_program(user, term):
    """Per program with lines in the user's scope this term: its name, the planned and paid
    amounts (Decimal sums in the database) and lines, of the lines that count (as
    DisbursementLineQuerySet.counting has them: all but the removed). From the tallies
    where the user sees whole schools; a teacher's are summed from their students' lines."""
    paid = Q(status=DisbursementLine.Status.PAID)
    schools = tallied_scope(user)
    if schools is not None:
        rows = (
            LineTally.objects.using(schools.db)
            .filter(school__in=schools, term=term, lines__gt=0)
            .exclude(status=DisbursementLine.Status.REMOVED)
        )
        lines = Sum("lines")
        paid_lines = Coalesce(Sum("lines", filter=paid), 0)  # a count, as Count gives it
    else:
        rows = DisbursementLine.objects.visible_to(user).counting().filter(term=term)
        lines = models.Count("pk")
        paid_lines = models.Count("pk", filter=paid)
    return (
        rows.values("program_id", "program__name")
        .annotate(planned=Sum("amount"), paid=Sum("amount", filter=paid), planned_count=lines, paid_count=paid_lines)
        .order_by("program__name")
    )
