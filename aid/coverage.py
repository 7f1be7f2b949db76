"""Home-visit coverage (家访覆盖率): the share of students on the roster visited in a term.

A student counts as visited when at least one home visit is dated within the term, however
many visits there were. The figures are computed in the database: one query groups the
students in scope by school, and the township subtotals and the total are sums of those rows.
"""
from dataclasses import dataclass, field

from django.db.models import Count, Exists, OuterRef

from students.models import Student

from .models import HomeVisit


def visited_in(term):
    """True for a student with at least one visit dated within the term."""
    return Exists(HomeVisit.objects.in_term(term).filter(student_id=OuterRef("pk")))


def unvisited_students(students, term):
    """The students among `students` with no visit dated within the term."""
    return students.filter(~visited_in(term))


@dataclass
class Figure:
    total: int = 0
    visited: int = 0

    @property
    def unvisited(self):
        return self.total - self.visited

    @property
    def share(self):
        """Percent visited, or None when there is nobody to visit."""
        return 100 * self.visited / self.total if self.total else None

    def add(self, other):
        self.total += other.total
        self.visited += other.visited


@dataclass
class SchoolCoverage:
    school_id: int
    school_name: str
    figure: Figure


@dataclass
class TownshipCoverage:
    code: str
    name: str
    schools: list = field(default_factory=list)
    subtotal: Figure = field(default_factory=Figure)


@dataclass
class Coverage:
    term: object
    townships: list = field(default_factory=list)
    total: Figure = field(default_factory=Figure)


def coverage_for(user, term):
    """Coverage of the students on the roster in the user's scope, by township and school."""
    rows = (
        Student.objects.visible_to(user)
        .on_roster()
        .values("school_id", "school__name", "school__region__code", "school__region__name")
        .annotate(total=Count("pk"), visited_count=Count("pk", filter=visited_in(term)))
        .order_by("school__region__code", "school__name")
    )
    coverage = Coverage(term=term)
    for row in rows:
        if not coverage.townships or coverage.townships[-1].code != row["school__region__code"]:
            coverage.townships.append(
                TownshipCoverage(code=row["school__region__code"], name=row["school__region__name"])
            )
        township = coverage.townships[-1]
        figure = Figure(total=row["total"], visited=row["visited_count"])
        township.schools.append(SchoolCoverage(row["school_id"], row["school__name"], figure))
        township.subtotal.add(figure)
        coverage.total.add(figure)
    return coverage


def coverage_total(user, term):
    """Only the overall figure, for the home page: one query."""
    counts = (
        Student.objects.visible_to(user)
        .on_roster()
        .aggregate(total=Count("pk"), visited=Count("pk", filter=visited_in(term)))
    )
    return Figure(total=counts["total"], visited=counts["visited"])
