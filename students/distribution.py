"""The distribution table: students on the roster per school and stage, in and out of school.

Two queries whatever the size of the county: the schools in scope, and the students' counts
by school and stage, from the roster's tallies where they can tell (a sum of a few hundred
rows), else one aggregate of the students. Subtotals and totals add up those counts, so the
page, the export and the student list (which it links to) always agree.
"""
from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import Count, Q
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from . import hooks
from .choices import IN_SCHOOL_STATUSES, Role, Stage
from .models import Region, School, Student


@dataclass
class Cell:
    total: int = 0
    in_school: int = 0

    @property
    def not_in_school(self):
        return self.total - self.in_school

    def add(self, other):
        self.total += other.total
        self.in_school += other.in_school


@dataclass
class Row:
    """A school, a township subtotal or the grand total: one Cell per stage and a total."""

    label: str
    filter_params: dict
    cells: dict = field(default_factory=lambda: {stage: Cell() for stage in Stage.values})
    is_total: bool = False

    @property
    def total(self):
        cell = Cell()
        for stage_cell in self.cells.values():
            cell.add(stage_cell)
        return cell

    def add(self, other):
        for stage, cell in other.cells.items():
            self.cells[stage].add(cell)

    def columns(self):
        """(stage or None for the total, Cell, links) in the order of the table's columns."""
        stages = [(stage, self.cells[stage]) for stage in Stage.values] + [(None, self.total)]
        return [(stage, cell, self.links(stage)) for stage, cell in stages]

    def links(self, stage):
        params = dict(self.filter_params)
        if stage:
            params["stage"] = stage
        url = reverse("students:student_list")
        return {
            "total": f"{url}?{urlencode(params)}",
            "in_school": f"{url}?{urlencode({**params, 'in_school': 'true'})}",
            "not_in_school": f"{url}?{urlencode({**params, 'in_school': 'false'})}",
        }


@dataclass
class TownshipBlock:
    township: Region
    schools: list
    subtotal: Row


@dataclass
class DistributionTable:
    scope_name: str
    blocks: list
    grand_total: Row
    of_one_school: bool = False  # a school's own table: its name already says 学校

    stages = Stage.choices

    @property
    def title(self):
        if self.of_one_school:
            return _("%(school)s: its students from registered poor households") % {"school": self.scope_name}
        return _("%(scope)s distribution of students from registered poor households by school") % {
            "scope": self.scope_name
        }

    def file_name(self, today):
        return f"学校建档立卡学生分布表_{self.scope_name}_{today:%Y%m%d}.xlsx"


def distribution_table(user, region=None):
    """Build the table for the user's scope, narrowed to `region` when given. Its rows are
    the schools in scope and the schools of the students in scope: a teacher's paired pupil
    who moved to another school is counted in that school's row."""
    schools, counts = schools_and_counts(user, region)
    cells_by_school = defaultdict(dict)
    for (school_id, stage), (total, in_school) in counts.items():
        cells_by_school[school_id][stage] = Cell(total, in_school)

    blocks_by_township = {}
    for school in schools.order_by("region__code", "name"):
        block = blocks_by_township.get(school.region_id)
        if block is None:
            subtotal = Row(
                school.region.name, {"region": school.region.code}, is_total=True
            )
            block = blocks_by_township[school.region_id] = TownshipBlock(
                school.region, [], subtotal
            )
        row = Row(school.name, {"school": school.pk})
        row.cells.update(cells_by_school.get(school.pk, {}))
        block.schools.append(row)
        block.subtotal.add(row)

    grand_total = Row(
        "", {"region": region.code} if region is not None else {}, is_total=True
    )
    for block in blocks_by_township.values():
        grand_total.add(block.subtotal)
    return DistributionTable(
        scope_name=region.name if region is not None else str(user.scope_label),
        of_one_school=region is None and user.role in (Role.SCHOOL_ADMIN, Role.TEACHER),
        blocks=list(blocks_by_township.values()),
        grand_total=grand_total,
    )


def schools_and_counts(user, region):
    """The schools of the table's rows, and {(school id, stage): (students, in school)}:
    from the roster's tallies where they can tell (hooks.roster_by_school, for users who see
    whole schools), else counted from the students."""
    schools = School.objects.visible_to(user)
    counts = hooks.roster_by_school(user, region)
    if counts is None:
        students = Student.objects.visible_to(user).on_roster()
        schools = School.objects.filter(Q(pk__in=schools.values("pk")) | Q(pk__in=students.values("school_id")))
        if region is not None:
            students = students.filter(school__region__code__startswith=region.code)
        rows = students.values("school_id", "stage").annotate(
            total=Count("pk"), in_school=Count("pk", filter=Q(status__in=IN_SCHOOL_STATUSES))
        )
        counts = {(row["school_id"], row["stage"]): (row["total"], row["in_school"]) for row in rows.order_by()}
    if region is not None:
        schools = schools.filter(region__code__startswith=region.code)
    return schools.select_related("region"), counts
