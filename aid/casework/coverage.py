"""Home-visit coverage (家访覆盖率): the share of students on the roster visited in a term.

A student counts as visited when at least one home visit is dated within the term, however
many visits there were. The figures are computed in the database: one query groups the
students in scope by school, and the township subtotals and the total are sums of those rows.
"""
import datetime
from dataclasses import dataclass, field

from django.db.models import Count, Exists, OuterRef, Subquery
from django.utils.translation import gettext as _
from openpyxl import Workbook

from aid.casework.models import HomeVisit
from common.figures import percent
from common.excel import (
    BOLD,
    COUNT_FORMAT,
    ExportColumn,
    put_cell,
    set_a4_print,
    style_table,
    write_facts_row,
    write_header,
    write_title,
)
from students.models import Student


def visited_in(term):
    """True for a student with at least one visit dated within the term."""
    return Exists(HomeVisit.objects.in_term(term).filter(student_id=OuterRef("pk")))


def unvisited_students(students, term):
    """The students among `students` with no visit dated within the term."""
    return students.filter(~visited_in(term))


# When the bureau has configured no term, a student is due for a visit when nobody has
# visited them for this long.
VISIT_INTERVAL_WITHOUT_TERM = datetime.timedelta(days=120)


def with_visit_status(students, term, today):
    """Annotate `last_visited_on` and `due`: not visited in `term` (as the coverage pages
    count it), or, without a term, no visit in the last VISIT_INTERVAL_WITHOUT_TERM.
    Subqueries, so that the list stays one query."""
    visits = HomeVisit.objects.filter(student=OuterRef("pk"))
    if term is not None:
        visited = visited_in(term)
    else:
        visited = Exists(visits.filter(visited_on__gt=today - VISIT_INTERVAL_WITHOUT_TERM))
    return students.annotate(
        last_visited_on=Subquery(visits.order_by("-visited_on").values("visited_on")[:1]),
        due=~visited,
    )


@dataclass
class Figure:
    total: int = 0
    visited: int = 0

    @property
    def unvisited(self):
        return self.total - self.visited

    @property
    def share(self):
        """Percent visited (one decimal, half up), or None when there is nobody to visit."""
        return percent(self.visited, self.total)

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


# ---------------------------------------------------------------------------------------
# The table as rows, and as a printable workbook
# ---------------------------------------------------------------------------------------

SHARE_FORMAT = "0.0"


def figure_cells(figure):
    """Students, visited, not visited, and the share visited in percent (one decimal; empty
    when there is nobody to visit)."""
    return [figure.total, figure.visited, figure.unvisited, figure.share]


def coverage_rows(coverage, *, subtotals):
    """(is a subtotal, [township, school, *figure_cells]) for each school, and after each
    township's schools its subtotal when asked. The total is coverage.total."""
    for township in coverage.townships:
        for school in township.schools:
            yield False, [township.name, school.school_name, *figure_cells(school.figure)]
        if subtotals:
            label = _("%(township)s subtotal") % {"township": township.name}
            yield True, [label, "", *figure_cells(township.subtotal)]


def coverage_workbook(coverage, unit, today):
    """The coverage page as a bureau sends it upward: A4 portrait, township subtotals and the
    total in bold."""
    columns = (
        ExportColumn(_("Township"), 16),
        ExportColumn(_("School"), 30),
        ExportColumn(_("Students on the roster"), 11, COUNT_FORMAT),
        ExportColumn(_("Visited"), 9, COUNT_FORMAT),
        ExportColumn(_("Not visited"), 9, COUNT_FORMAT),
        ExportColumn(_("Coverage (%)"), 10, SHARE_FORMAT),
    )
    term = coverage.term
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = _("Home-visit coverage")
    write_title(sheet, f"{_('Home-visit coverage')}（{term.name}）", len(columns))
    write_facts_row(sheet, 2, (
        (1, 2, _("Reporting unit: %(unit)s") % {"unit": unit}),
        (3, 4, _("Period: %(start)s to %(end)s") % {
            "start": term.starts_on.isoformat(), "end": term.ends_on.isoformat(),
        }),
        (5, 6, _("Made on %(date)s") % {"date": today.isoformat()}),
    ))
    write_header(sheet, 3, columns)
    rows = [*coverage_rows(coverage, subtotals=True), (True, [_("Total"), "", *figure_cells(coverage.total)])]
    for row_number, (bold, values) in enumerate(rows, start=4):
        for column, value in enumerate(values, start=1):
            cell = put_cell(sheet, row_number, column, value)
            if bold:
                cell.font = BOLD
    style_table(sheet, 4, 3 + len(rows), columns)
    set_a4_print(sheet, columns, title_rows="3:3", orientation="portrait")
    sheet.freeze_panes = "A4"
    return workbook
