"""Each program's lines per term, school and status, with their amounts: the home page's
money figures without summing every line of a county.

Kept by statement-level triggers on the lines (migration 0011, with the roster's tallies in
aid.casework.tallies): a line's program, term, school, status and amount are its own
columns, so each statement adds what its rows changed and nothing else is read.
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
