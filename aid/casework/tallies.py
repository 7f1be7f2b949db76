"""The roster's figures kept as tallies: students per school, stage and status, how many of
them have a teacher, how many were visited in each term, and each teacher's pairings per
school.

The home pages and the coverage page read these few rows instead of counting a county's
students, pairings and visits on every request. The tallies are kept by statement-level
triggers on the students, pairings, visits and terms (migration 0011), in the writing
transaction, whatever writes: forms, services, the importer's COPY and bulk UPDATE, the
admin, SQL. So a figure is as live as a count of the rows: there is no job to run.

Where no trigger keeps them (the SQLite demo), and for a teacher, whose students are those
paired with them rather than whole schools, the figures are counted from the rows
(coverage.roster_counts).
"""
import contextlib

from django.conf import settings
from django.db import connections, models
from django.db.models import F, OuterRef, Q, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _

from aid.casework.models import Pairing
from common import bulk_writes
from students.choices import IN_SCHOOL_STATUSES
from students.models import School, schools_seen_whole


class RosterTally(models.Model):
    """The students on the roster of a school, stage and status, and how many of them have
    an active pairing. Rows stay when their counts fall to 0."""

    school = models.ForeignKey(
        School, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="+"
    )
    stage = models.CharField(max_length=12)
    status = models.CharField(max_length=20)
    students = models.IntegerField()
    paired = models.IntegerField()

    class Meta:
        verbose_name = _("roster tally")
        verbose_name_plural = _("roster tallies")
        constraints = [
            models.UniqueConstraint(fields=["school", "stage", "status"], name="roster_tally_key"),
        ]


class VisitTally(models.Model):
    """The students on the roster of a school, stage and status with at least one home
    visit dated within the term."""

    term = models.ForeignKey(
        "aid.Term", on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="+"
    )
    school = models.ForeignKey(
        School, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="+"
    )
    stage = models.CharField(max_length=12)
    status = models.CharField(max_length=20)
    visited = models.IntegerField()

    class Meta:
        verbose_name = _("visit tally")
        verbose_name_plural = _("visit tallies")
        constraints = [
            models.UniqueConstraint(fields=["term", "school", "stage", "status"], name="visit_tally_key"),
        ]


class TeacherTally(models.Model):
    """A teacher's active pairings with the students of a school (whether those students
    are on the roster or not), for the pairings needing reassignment: the teacher's
    account and school are read where the figure is made."""

    school = models.ForeignKey(
        School, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="+"
    )
    teacher = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False,
        related_name="+",
    )
    pairings = models.IntegerField()

    class Meta:
        verbose_name = _("pairings tally")
        verbose_name_plural = _("pairings tallies")
        constraints = [
            models.UniqueConstraint(fields=["school", "teacher"], name="teacher_tally_key"),
        ]


def kept_by_triggers(using="default"):
    """Whether triggers keep the tallies on this database: on PostgreSQL (the SQLite demo
    has none)."""
    return connections[using].vendor == "postgresql"


def tallied_scope(user):
    """The schools whose tallies make the user's figures, or None where they are counted
    from the rows: for a teacher (who sees the students paired with them, not whole
    schools) and where no trigger keeps the tallies."""
    schools = schools_seen_whole(user)
    return schools if schools is not None and kept_by_triggers(schools.db) else None


def tallied_counts(schools, term):
    """(school_id, stage, status, students, paired, visited) of the schools' roster, from
    the tallies: one query, a few rows per school."""
    rows = RosterTally.objects.using(schools.db).filter(school__in=schools, students__gt=0)
    if term is not None:
        visited = VisitTally.objects.filter(
            term=term, school_id=OuterRef("school_id"), stage=OuterRef("stage"), status=OuterRef("status")
        ).values("visited")
        rows = rows.annotate(visited=Coalesce(Subquery(visited), 0))
    else:
        rows = rows.annotate(visited=models.Value(0))
    return rows.order_by("school_id", "stage", "status").values_list(
        "school_id", "stage", "status", "students", "paired", "visited"
    )


def tallied_roster(user):
    """The roster tallies of the schools the user sees whole, or None where they do not make
    the user's figures (tallied_scope)."""
    schools = tallied_scope(user)
    return None if schools is None else RosterTally.objects.using(schools.db).filter(school__in=schools)


# The list filters the roster tallies are kept by (as their filters clean them: a region,
# a school, a stage, a status, in school or not).
TALLIED_FILTERS = {"region", "school", "stage", "status", "in_school"}


def roster_count(user, filters, figure=F("students")):
    """The sum of `figure` (of the tally's students and paired) over the roster the user sees,
    within `filters` ({name: value} of TALLIED_FILTERS); None where the tallies do not make
    the user's figures (tallied_scope) or a filter is not one they are kept by. A list's
    count is then a sum of a few hundred rows, not a count of a county's students."""
    rows = tallied_roster(user)
    if rows is None or not set(filters) <= TALLIED_FILTERS:
        return None
    if "region" in filters:
        rows = rows.filter(school__region__code__startswith=filters["region"].code)
    if "school" in filters:
        rows = rows.filter(school=filters["school"])
    if "stage" in filters:
        rows = rows.filter(stage=filters["stage"])
    if "status" in filters:
        rows = rows.filter(status=filters["status"])
    if "in_school" in filters:
        in_school = Q(status__in=IN_SCHOOL_STATUSES)
        rows = rows.filter(in_school if filters["in_school"] else ~in_school)
    return rows.aggregate(count=Coalesce(Sum(figure), 0))["count"]


def roster_by_school_and_stage(user, region=None):
    """{(school id, stage): (students, in school)} of the roster the user sees, within
    `region` when given, from the tallies: the distribution table's cells without grouping a
    county's students (1,000,000 of them: 1.1 s). None where the tallies do not make the
    user's figures (tallied_scope)."""
    rows = tallied_roster(user)
    if rows is None:
        return None
    if region is not None:
        rows = rows.filter(school__region__code__startswith=region.code)
    rows = rows.filter(students__gt=0).values("school_id", "stage").annotate(
        total=Sum("students"), in_school=Coalesce(Sum("students", filter=Q(status__in=IN_SCHOOL_STATUSES)), 0)
    )
    return {(row["school_id"], row["stage"]): (row["total"], row["in_school"]) for row in rows.order_by()}


def unpaired_count(user, filters):
    """How many of the students on the roster the user sees, within `filters`, have no active
    pairing (the unpaired list, services.unpaired_students): an anti-join of a county's
    200,000 students with their pairings took 97 ms."""
    return roster_count(user, filters, F("students") - F("paired"))


def reassignment_count(user):
    """How many of the pairings the user sees need another teacher (the rule of
    PairingQuerySet.needing_reassignment, applied to the tally's few rows)."""
    schools = tallied_scope(user)
    if schools is None:
        return Pairing.objects.visible_to(user).needing_reassignment().count()
    return (
        TeacherTally.objects.using(schools.db)
        .filter(school__in=schools)
        .filter(Q(teacher__is_active=False) | ~Q(teacher__school_id=F("school_id")))
        .aggregate(count=Coalesce(Sum("pairings"), 0))["count"]
    )


def recount(using="default"):
    """Count every tally again from the rows (the SQL function the migration installed)."""
    with connections[using].cursor() as cursor:
        cursor.execute("SELECT aid_recount_tallies()")


@contextlib.contextmanager
def counted_after(using="default"):
    """Write in bulk with the tallies' triggers disabled, and recount the tallies once at
    the end, in the same transaction (held by the caller; a rollback enables them again).

    A disabled trigger is not even called, so the database does not keep each statement's
    rows for it: for the demo seed's 200,000 students and their casework that saves seconds.
    The tables stay locked against other writers until the transaction ends."""
    if not kept_by_triggers(using):
        yield
        return
    with connections[using].cursor() as cursor:
        cursor.execute(
            "SELECT tgrelid::regclass::text, tgname FROM pg_trigger WHERE tgname LIKE 'aid\\_tally\\_%'"
            " ORDER BY 1, 2"
        )
        triggers = cursor.fetchall()
        bulk_writes.run_deferred_checks(cursor)  # no table with pending checks can be altered
        for table, name in triggers:
            cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER {name}")
        yield
        bulk_writes.run_deferred_checks(cursor)
        for table, name in triggers:
            cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER {name}")
        cursor.execute("SELECT aid_recount_tallies()")
