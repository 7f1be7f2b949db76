"""Home-visit coverage (家访覆盖率): the share of students on the roster visited in a term.

A student counts as visited when at least one home visit is dated within the term, however
many visits there were. The figures are computed in the database: one query groups the
students in scope by school, and the township subtotals and the total are sums of those rows.
"""
import datetime
from dataclasses import dataclass, field

from django.db import connections
from django.db.models import Exists, OuterRef, Subquery
from django.utils.translation import gettext as _
from openpyxl import Workbook

from aid.casework import tallies
from aid.casework.models import HomeVisit, Pairing
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
from students.models import School, Student


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


@dataclass(frozen=True)
class RosterCount:
    """The students on the roster of one school, stage and status: how many, how many have
    an active pairing, and how many were visited in the term."""

    school_id: int
    stage: str
    status: str
    total: int
    paired: int
    visited: int


def roster_counts(students, term):
    """[RosterCount] for the students on the roster among `students` (already scoped): one
    grouped query for the figures of a whole county or city.

    Written as SQL around the ORM's own querysets (scope, active pairings, visits of the
    term) because the ORM can only count "has a pairing" as an EXISTS evaluated once per
    student; a join to the distinct paired and visited students is one hash join each,
    three to four times faster at 200,000 students.
    """
    scope, params = (
        students.on_roster().order_by().values("pk", "school_id", "stage", "status").query.sql_with_params()
    )
    paired, paired_params = Pairing.objects.active().order_by().values("student_id").distinct().query.sql_with_params()
    params = (*params, *paired_params)
    visited, visits = "0", ""
    if term is not None:
        visits, visit_params = (
            HomeVisit.objects.in_term(term).order_by().values("student_id").distinct().query.sql_with_params()
        )
        visited, visits = "COUNT(v.student_id)", f"LEFT JOIN ({visits}) v ON v.student_id = s.pk"
        params = (*params, *visit_params)
    sql = (
        f"SELECT s.school_id, s.stage, s.status, COUNT(*), COUNT(p.student_id), {visited} "
        f"FROM ({scope}) s LEFT JOIN ({paired}) p ON p.student_id = s.pk {visits} "
        "GROUP BY s.school_id, s.stage, s.status ORDER BY s.school_id, s.stage, s.status"
    )
    with connections[students.db].cursor() as cursor:
        cursor.execute(sql, params)
        return [RosterCount(*row) for row in cursor.fetchall()]


def roster_counts_for(user, term):
    """roster_counts of the students the user sees: from the tallies where triggers keep
    them and the user sees whole schools, else counted from the rows."""
    schools = tallies.tallied_scope(user)
    if schools is not None:
        return [RosterCount(*row) for row in tallies.tallied_counts(schools, term)]
    return roster_counts(Student.objects.visible_to(user), term)


def coverage_for(user, term, counts=None):
    """Coverage of the students on the roster in the user's scope, by township and school
    (`counts`: the roster_counts_for the user, when the caller has them)."""
    if counts is None:
        counts = roster_counts_for(user, term)
    by_school = {}
    for count in counts:
        figure = by_school.setdefault(count.school_id, Figure())
        figure.add(Figure(total=count.total, visited=count.visited))
    schools = School.objects.filter(pk__in=by_school).select_related("region").order_by("region__code", "name")
    coverage = Coverage(term=term)
    for school in schools:
        if not coverage.townships or coverage.townships[-1].code != school.region.code:
            coverage.townships.append(TownshipCoverage(code=school.region.code, name=school.region.name))
        township = coverage.townships[-1]
        figure = by_school[school.pk]
        township.schools.append(SchoolCoverage(school.pk, school.name, figure))
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
