"""LineTally: each program's lines and amounts per term, school and status, kept by triggers
on the lines. A random series of the ways lines are written (one by one, in bulk, a batch's
statuses at once, amounts, deletions, a rolled-back transaction), each followed by a
comparison with sums made here from the lines; and the home page's money figures read from
the tally against the same figures summed in Python."""
import datetime
import random
from collections import defaultdict
from decimal import Decimal

import pytest
from django.db import transaction

from aid.subsidies.models import DisbursementBatch, DisbursementLine
from aid.subsidies.tallies import LineTally, money_by_program
from tests.factories import AidProgramFactory, BureauAdminFactory, SchoolFactory, StudentFactory, TermFactory

pytestmark = pytest.mark.django_db

D = datetime.date
STATUSES = ["planned", "paid", "returned", "failed"]
AMOUNTS = [Decimal("500.00"), Decimal("625.50"), Decimal("0.01"), Decimal("1000.00")]


def summed():
    """{(term, program, school, status): (lines, amount)} summed here from the lines."""
    sums = defaultdict(lambda: [0, Decimal("0")])
    for line in DisbursementLine.objects.all():
        key = (line.term_id, line.program_id, line.school_id, line.status)
        sums[key][0] += 1
        sums[key][1] += line.amount
    return {key: (lines, amount) for key, (lines, amount) in sums.items()}


def kept():
    assert not LineTally.objects.filter(lines__lt=0).exists()
    return {
        (t.term_id, t.program_id, t.school_id, t.status): (t.lines, t.amount)
        for t in LineTally.objects.all()
        if t.lines or t.amount
    }


class Payments:
    def __init__(self, seed):
        self.random = random.Random(seed)
        self.bureau = BureauAdminFactory()
        self.schools = [SchoolFactory(), SchoolFactory()]
        self.terms = [
            TermFactory(name="2026 春季学期", starts_on=D(2026, 3, 1), ends_on=D(2026, 7, 15)),
            TermFactory(name="2026 秋季学期", starts_on=D(2026, 9, 1), ends_on=D(2027, 1, 20)),
        ]
        self.programs = [AidProgramFactory(), AidProgramFactory()]
        self.batches = [
            DisbursementBatch.objects.create(program=program, term=term, region=self.schools[0].region.parent,
                                             prepared_by=self.bureau)
            for program in self.programs for term in self.terms
        ]

    def new_line(self):
        batch = self.random.choice(self.batches)
        school = self.random.choice(self.schools)
        amount = self.random.choice(AMOUNTS)
        return DisbursementLine(
            batch=batch, program=batch.program, term=batch.term, student=StudentFactory(school=school, household=None),
            school=school, stage="primary", standard_amount=amount, amount=amount,
            status=self.random.choice(STATUSES),
        )

    def lines(self, count):
        pks = list(DisbursementLine.objects.values_list("pk", flat=True))
        return DisbursementLine.objects.filter(pk__in=self.random.sample(pks, min(count, len(pks))))

    def add_one(self):
        self.new_line().save()

    def add_in_bulk(self):
        DisbursementLine.objects.bulk_create([self.new_line() for _ in range(self.random.randint(1, 4))])

    def pay_a_batch(self):
        batch = self.random.choice(self.batches)
        batch.lines.exclude(status="removed").update(status="paid", paid_on=D(2026, 10, 1))

    def change_amounts(self):
        for line in self.lines(2):
            line.amount = self.random.choice(AMOUNTS)
            line.amount_reason = "按实际在校天数"
            line.save()

    def remove(self):
        self.lines(2).update(status="removed", removed_reason="已转学")

    def move_school(self):
        self.lines(2).update(school=self.random.choice(self.schools))

    def edit_other_fields(self):
        self.lines(3).update(bank_account="6217000000000000000")

    def delete(self):
        self.lines(2).delete()

    def rolled_back(self):
        with pytest.raises(RuntimeError), transaction.atomic():
            self.add_in_bulk()
            self.pay_a_batch()
            raise RuntimeError("the request failed half-way")

    OPERATIONS = (add_one, add_in_bulk, pay_a_batch, change_amounts, remove, move_school, edit_other_fields,
                  delete, rolled_back)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_every_line_tally_equals_the_sums_of_the_lines_after_a_random_series_of_writes(seed):
    payments = Payments(seed)
    for step in range(60):
        operation = payments.random.choice(Payments.OPERATIONS)
        operation(payments)
        assert kept() == summed(), f"after step {step}, {operation.__name__}"
    assert DisbursementLine.objects.exists()


def test_the_money_figures_read_from_the_tally_are_those_of_the_lines():
    payments = Payments(4)
    for _ in range(40):
        payments.random.choice(Payments.OPERATIONS)(payments)
    term = payments.terms[1]
    unpaid = DisbursementBatch.objects.create(program=AidProgramFactory(name="营养改善计划"), term=term,
                                              region=payments.schools[0].region.parent, prepared_by=payments.bureau)
    line = payments.new_line()
    line.batch, line.program, line.term, line.status = unpaid, unpaid.program, term, "planned"
    line.save()  # a program with nothing paid yet: 0 lines paid, no amount paid
    expected = {}
    for line in DisbursementLine.objects.filter(term=term).exclude(status="removed").select_related("program"):
        row = expected.setdefault(line.program.name, [Decimal("0"), Decimal("0"), 0, 0])
        row[0] += line.amount
        row[2] += 1
        if line.status == "paid":
            row[1] += line.amount
            row[3] += 1
    figures = {
        row["program__name"]: [row["planned"], row["paid"] or Decimal("0"), row["planned_count"], row["paid_count"]]
        for row in money_by_program(payments.bureau, term)
    }
    assert figures == expected
    assert figures["营养改善计划"][3] == 0
