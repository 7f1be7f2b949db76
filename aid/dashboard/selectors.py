"""The figures of a role's home page (its dashboard), for its scope and the current term.

A fixed number of queries whatever the size of the county: each topic is one aggregate.
The precision findings are counted per program that has payments this term (a handful).
"""
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Count, Exists, Min, OuterRef, Q
from django.utils import timezone

from aid.casework import tallies
from aid.casework.coverage import coverage_for, roster_counts_for
from aid.casework.models import (
    ExchangeActivity,
    HomeVisit,
    SchoolPairing,
)
from aid.dropout.models import DropoutCase
from aid.reference.models import AidProgram, Term
from aid.subsidies.precision import open_findings_count
from aid.subsidies.tallies import money_by_program
from aid.supervision.models import Rectification
from common.figures import percent
from students.choices import IN_SCHOOL_STATUSES, Stage, Status
from students.models import School, shared_id_numbers


@dataclass
class StageRow:
    stage: str
    label: str
    counts: dict  # status → count
    total: int = 0
    in_school: int = 0


@dataclass
class ProgramMoney:
    program_id: int
    name: str
    planned: Decimal
    paid: Decimal
    planned_count: int
    paid_count: int
    open_findings: int = 0


@dataclass
class Dashboard:
    term: Term | None
    stages: list
    statuses: list
    total: int
    in_school: int
    paired: int
    visited: int
    coverage: object
    money: list = field(default_factory=list)
    open_cases: int = 0
    oldest_case_days: int | None = None
    overdue_rectifications: int = 0
    idle_school_pairings: int = 0
    roster_counts: list = field(default_factory=list)  # [RosterCount] the figures come from

    @property
    def unpaired(self):
        return self.total - self.paired

    @property
    def paired_share(self):
        return percent(self.paired, self.total)

    @property
    def visited_share(self):
        return percent(self.visited, self.total)

    @property
    def planned_total(self):
        return sum((m.planned for m in self.money), Decimal("0"))

    @property
    def paid_total(self):
        return sum((m.paid for m in self.money), Decimal("0"))

    @property
    def open_findings(self):
        return sum(m.open_findings for m in self.money)


def dashboard_for(user, today=None):
    today = today or timezone.localdate()
    term = Term.objects.current(today)
    counts = roster_counts_for(user, term)
    stages, statuses = stage_status_matrix(counts)
    board = Dashboard(
        term=term,
        stages=stages,
        statuses=statuses,
        total=sum(row.total for row in stages),
        in_school=sum(row.in_school for row in stages),
        paired=sum(count.paired for count in counts),
        visited=sum(count.visited for count in counts),
        coverage=coverage_for(user, term, counts) if term else None,
        roster_counts=counts,
    )
    if term is not None:
        board.money = money_this_term(user, term)
        board.idle_school_pairings = idle_school_pairings(user, term)
    cases = DropoutCase.objects.visible_to(user).open().aggregate(count=Count("pk"), oldest=Min("opened_on"))
    board.open_cases = cases["count"]
    board.oldest_case_days = (today - cases["oldest"]).days if cases["oldest"] else None
    board.overdue_rectifications = Rectification.objects.visible_to(user).overdue(today).count()
    return board


def stage_status_matrix(counts):
    """Students by stage and status, from the roster counts."""
    by_stage_status = {}
    for count in counts:
        key = (count.stage, count.status)
        by_stage_status[key] = by_stage_status.get(key, 0) + count.total
    rows = []
    for stage, label in Stage.choices:
        by_status = {status: by_stage_status.get((stage, status), 0) for status in Status.values}
        rows.append(
            StageRow(
                stage=stage,
                label=str(label),
                counts=by_status,
                total=sum(by_status.values()),
                in_school=sum(by_status[s] for s in IN_SCHOOL_STATUSES),
            )
        )
    return rows, [(status, str(label)) for status, label in Status.choices]


def money_this_term(user, term):
    """Planned and paid amounts per program this term (Decimal sums in the database), with
    the open precision findings of each program, as its precision page counts them."""
    rows = money_by_program(user, term)
    money = [
        ProgramMoney(
            program_id=row["program_id"], name=row["program__name"], planned=row["planned"],
            paid=row["paid"] or Decimal("0"), planned_count=row["planned_count"], paid_count=row["paid_count"],
        )
        for row in rows
    ]
    # Findings are counted for every program the precision page could list them for: those
    # with lines in scope, and those with a batch this term (whose lines in scope may all
    # have been removed, or whose eligible students were left out).
    programs = (
        AidProgram.objects.prefetch_related("standards", "schools")
        .filter(Q(pk__in=[m.program_id for m in money]) | Q(batches__term=term))
        .distinct()
        .order_by("name")
    )
    by_program = {m.program_id: m for m in money}
    shared_numbers = shared_id_numbers() if programs else []
    listed = []
    for program in programs:
        item = by_program.get(program.pk) or ProgramMoney(
            program_id=program.pk, name=program.name, planned=Decimal("0"), paid=Decimal("0"),
            planned_count=0, paid_count=0,
        )
        item.open_findings = open_findings_count(user, program, term, shared_numbers)
        if item.program_id in by_program or item.open_findings:
            listed.append(item)
    return listed


def idle_school_pairings(user, term):
    """School pairings in force with no exchange activity this term (pairings on paper)."""
    active = ExchangeActivity.objects.filter(
        pairing_id=OuterRef("pk"), held_on__gte=term.starts_on, held_on__lte=term.ends_on
    )
    return SchoolPairing.objects.visible_to(user).filter(ended_on__isnull=True).exclude(Exists(active)).count()


def casework_summary(user, board):
    """What bureau and school administrators act on: unpaired students by school (from the
    board's roster counts), pairings to reassign, and the current term's visit alerts and
    coverage. A fixed number of queries."""
    term = board.term
    unpaired = {}
    for count in board.roster_counts:
        unpaired[count.school_id] = unpaired.get(count.school_id, 0) + count.total - count.paired
    schools = School.objects.filter(pk__in=[pk for pk, n in unpaired.items() if n]).order_by("name")
    unpaired_by_school = [
        {"school_id": school.pk, "school__name": school.name, "count": unpaired[school.pk]} for school in schools
    ]
    summary = {
        "unpaired_by_school": unpaired_by_school,
        "unpaired_total": sum(row["count"] for row in unpaired_by_school),
        "reassignment_count": tallies.reassignment_count(user),
        "term": term,
    }
    if term is not None:
        # Two counts, each led by its few rows (the high-risk visits' index, the undelivered
        # checks): one count of both read every visit of the term (196 ms against 38 ms for
        # a county of 200,000).
        visits = HomeVisit.objects.visible_to(user).in_term(term)
        summary["alerts"] = {
            "high_risk": visits.filter(dropout_risk=HomeVisit.Risk.HIGH).count(),
            "policy_not_delivered": visits.with_undelivered_policy().count(),
        }
    return summary
