"""Every figure true: on the demo county changed the way real life changes it, and a second
county next to it, every figure of every role's home page, summary export, distribution
table, coverage, precision page and ledger equals a recount written here in plain SQL, and
the city's figures are the sums of its counties'.

The recounts read the tables directly; the rules they apply are the ones a clerk applies
(on the roster, in school, visited within the term's dates, a batch covers its region...),
written out again here, not imported from the code under test.
"""
import datetime
import io
from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.core.management import call_command
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from aid.casework import services as casework
from aid.casework.coverage import coverage_for
from aid.casework.models import HomeVisit, Pairing
from aid.dashboard.exports import county_summary_workbook
from aid.dashboard.selectors import dashboard_for
from aid.dropout import services as dropout
from aid.dropout.ledgers import Period, dropout_ledger, school_age_ledger, suspected_dropout_ledger
from aid.dropout.models import DropoutCase
from aid.reference.models import AidProgram, Term
from aid.subsidies import services as subsidies
from aid.subsidies.models import DisbursementBatch, PaymentMethod
from aid.subsidies.precision import precision_report
from students import services as registry
from students.choices import RegionLevel, Role
from students.distribution import distribution_table
from students.models import Student, User
from tests.factories import (
    BureauAdminFactory,
    HouseholdFactory,
    PairingFactory,
    RegionFactory,
    SchoolFactory,
    StudentFactory,
    TownshipFactory,
    id_number_for,
)

pytestmark = pytest.mark.django_db
IN_SCHOOL = ["enrolled", "home_taught"]
OUT_OF_SCHOOL = ["suspended", "dropped_out", "not_enrolled"]


def rows(query, params=()):
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        return cursor.fetchall()


def value(query, params=()):
    return rows(query, params)[0][0]


def share(part, whole):
    """Percent with one decimal, ties up, by hand."""
    return None if not whole else (Decimal(100 * part) / whole).quantize(Decimal("0.1"), ROUND_HALF_UP)


# ---------------------------------------------------------------------------------------
# The story
# ---------------------------------------------------------------------------------------


@pytest.fixture
def story():
    call_command("seed_demo", students=300, seed=11, stdout=io.StringIO())
    users = {name: User.objects.get(username=name) for name in ("bureau", "approver", "city", "grid", "school1", "school2", "teacher")}
    bureau = users["bureau"]
    term = Term.objects.current()
    today = timezone.localdate()
    lanling = bureau.region

    # Feixian next door: one township, one school, six primary boarders; its own batch of
    # the boarding subsidy, and a pupil registered after it (missed).
    feixian = RegionFactory(code="371325", name="费县", level=RegionLevel.COUNTY, parent=lanling.parent)
    school = SchoolFactory(name="费县费城街道中心小学", region=TownshipFactory(code="371325100", name="费城街道", parent=feixian))
    pupils = [
        StudentFactory(
            school=school, is_boarder=True, id_number=id_number_for(7000 + n),
            household=HouseholdFactory(township=school.region, category="dibao"),
        )
        for n in range(6)
    ]
    for pupil in pupils[:4]:
        PairingFactory(student=pupil)
    for pupil in pupils[:3]:
        HomeVisit.objects.create(student=pupil, author=pupil.pairings.get().teacher, visited_on=term.starts_on, study_situation="好")
    users["feixian"] = BureauAdminFactory(region=feixian)
    boarding = AidProgram.objects.get(name="家庭经济困难寄宿生生活补助")
    subsidies.batch_create(actor=users["feixian"], program=boarding, term=term, region=feixian)
    StudentFactory(school=school, is_boarder=True, id_number=id_number_for(7100), household=HouseholdFactory(township=school.region, category="dibao"))

    lanling_students = Student.objects.filter(school__region__code__startswith=lanling.code).on_roster()
    paired = lanling_students.filter(pairings__ended_on__isnull=True).order_by("pk")

    # A paired boarder paid the boarding subsidy at his school moves to school1's school (his
    # line stays with the old school).
    school1 = users["school1"].school
    mover = paired.filter(
        disbursements__program=boarding, disbursements__term=term, stage__in=school1.stages
    ).exclude(school=school1).first()
    mover.school = school1
    registry.student_save(actor=bureau, student=mover)
    # A township's batch of book bags: the rest of the county is not covered by it.
    township = school1.region
    subsidies.batch_create(actor=bureau, program=AidProgram.objects.get(name="书包"), term=term, region=township)
    # One drops out (a case opens); a case of the demo closes with a return elsewhere.
    quitter = paired.filter(status="enrolled").exclude(pk=mover.pk).last()
    quitter.status = "dropped_out"
    registry.student_save(actor=bureau, student=quitter)
    case = DropoutCase.objects.open().exclude(student=quitter).filter(kind="dropout").first()
    if case is not None:
        back_at = lanling_students.exclude(school=case.student.school).filter(stage=case.student.stage).first().school
        dropout.case_close(actor=bureau, case=case, outcome="returned", return_school=back_at)
    # A pairing ends; visits on the first day of the term and on the day before it.
    ending = paired.exclude(pk__in=[mover.pk, quitter.pk]).first()
    casework.pairing_end(actor=bureau, pairing=ending.pairings.get(ended_on__isnull=True), reason="教师调离")
    unvisited = lanling_students.exclude(visits__visited_on__gte=term.starts_on).order_by("pk")
    first, second = unvisited[0], unvisited[1]
    HomeVisit.objects.create(student=first, author=users["teacher"], visited_on=term.starts_on, study_situation="好")
    HomeVisit.objects.create(student=second, author=users["teacher"], visited_on=term.starts_on - datetime.timedelta(days=1), study_situation="好")
    # The boarding batch is paid; then a paid pupil leaves the roster.
    batch = DisbursementBatch.objects.get(program=boarding, term=term, region=lanling)
    subsidies.batch_record_payment(actor=bureau, batch=batch, paid_on=today, method=PaymentMethod.ONE_CARD, expected_version=batch.version)
    leaver = batch.lines.filter(status="paid").exclude(student__in=[mover, quitter]).first().student
    registry.student_leave_roster(actor=bureau, student=leaver, on=today, reason="moved_away")
    assert value("SELECT count(*) FROM aid_precisionresolution") == 0  # the recounts below leave them out
    return users


# ---------------------------------------------------------------------------------------
# Scope, by hand
# ---------------------------------------------------------------------------------------


def schools_of(user):
    if user.role in (Role.BUREAU_ADMIN, Role.VIEWER):
        query = "SELECT sc.id FROM students_school sc JOIN students_region r ON r.id = sc.region_id WHERE r.code LIKE %s"
        return [r[0] for r in rows(query, [user.region.code + "%"])]
    if user.role == Role.GRID_LEADER:
        query = (
            "SELECT sc.id FROM students_school sc WHERE sc.region_id IN (SELECT t.region_id FROM aid_gridgroup_townships t"
            " JOIN aid_gridgroup g ON g.id = t.gridgroup_id WHERE g.leader_id = %s)"
        )
        return [r[0] for r in rows(query, [user.pk])]
    return [user.school_id]


def students_of(user):
    """Every student record in scope (on the roster or not)."""
    if user.role == Role.TEACHER:
        return [r[0] for r in rows("SELECT student_id FROM aid_pairing WHERE teacher_id = %s AND ended_on IS NULL", [user.pk])]
    return [r[0] for r in rows("SELECT id FROM students_student WHERE school_id = ANY(%s)", [schools_of(user)])]


def roster_counts(user, term):
    total, in_school, paired, visited = rows(
        """
        SELECT count(*), count(*) FILTER (WHERE s.status = ANY(%s)),
               count(*) FILTER (WHERE EXISTS (SELECT 1 FROM aid_pairing p WHERE p.student_id = s.id AND p.ended_on IS NULL)),
               count(*) FILTER (WHERE EXISTS (SELECT 1 FROM aid_homevisit v WHERE v.student_id = s.id
                                              AND v.visited_on BETWEEN %s AND %s))
        FROM students_student s WHERE s.id = ANY(%s) AND s.left_roster_on IS NULL
        """,
        [IN_SCHOOL, term.starts_on, term.ends_on, students_of(user)],
    )[0]
    return {"total": total, "in_school": in_school, "paired": paired, "visited": visited}


def lines_where(user):
    if user.role == Role.TEACHER:
        return "l.student_id = ANY(%s)", [students_of(user)]
    return "l.school_id = ANY(%s)", [schools_of(user)]


def money(user, term):
    where, params = lines_where(user)
    planned, paid = rows(
        f"SELECT coalesce(sum(l.amount), 0), coalesce(sum(l.amount) FILTER (WHERE l.status = 'paid'), 0)"
        f" FROM aid_disbursementline l WHERE l.term_id = %s AND l.status <> 'removed' AND {where}",
        [term.pk, *params],
    )[0]
    return planned, paid


def open_cases(user):
    return value(
        "SELECT count(*) FROM aid_dropoutcase c WHERE c.closed_on IS NULL AND c.student_id = ANY(%s)", [students_of(user)]
    )


# ---------------------------------------------------------------------------------------
# Precision, by hand
# ---------------------------------------------------------------------------------------


def eligible_now(program):
    """SQL conditions on a student `s` and household `h` for the program's rules."""
    conditions, params = ["s.stage = ANY(%s)"], [list(program.stages)]
    if program.household_categories:
        conditions.append("h.category = ANY(%s)")
        params.append(list(program.household_categories))
    if program.requires_enrolment:
        conditions.append("s.status = ANY(%s)")
        params.append(IN_SCHOOL)
    if program.boarders_only:
        conditions.append("s.is_boarder")
    school_ids = [r[0] for r in rows("SELECT school_id FROM aid_aidprogram_schools WHERE aidprogram_id = %s", [program.pk])]
    if school_ids:
        conditions.append("s.school_id = ANY(%s)")
        params.append(school_ids)
    return " AND ".join(conditions), params


def open_findings(user, program, term):
    rules, rule_params = eligible_now(program)
    where, scope_params = lines_where(user)
    missed = value(
        f"""
        SELECT count(*) FROM students_student s LEFT JOIN students_household h ON h.id = s.household_id
        JOIN students_school sc ON sc.id = s.school_id JOIN students_region r ON r.id = sc.region_id
        WHERE s.id = ANY(%s) AND s.left_roster_on IS NULL AND {rules}
          AND EXISTS (SELECT 1 FROM aid_disbursementbatch b JOIN students_region br ON br.id = b.region_id
                      WHERE b.program_id = %s AND b.term_id = %s AND r.code LIKE br.code || '%%')
          AND NOT EXISTS (SELECT 1 FROM aid_disbursementline l WHERE l.student_id = s.id AND l.program_id = %s
                          AND l.term_id = %s AND l.status <> 'removed')
        """,
        [students_of(user), *rule_params, program.pk, term.pk, program.pk, term.pk],
    )
    lines = f"aid_disbursementline l WHERE l.program_id = %s AND l.term_id = %s AND l.status <> 'removed' AND {where}"
    line_params = [program.pk, term.pk, *scope_params]
    duplicates = value(
        f"""
        SELECT count(DISTINCT st.id_number) FROM {lines.replace(' WHERE ', ' JOIN students_student st ON st.id = l.student_id WHERE ')}
          AND st.id_number IN (SELECT s2.id_number FROM aid_disbursementline l2 JOIN students_student s2 ON s2.id = l2.student_id
                               WHERE l2.program_id = %s AND l2.term_id = %s AND l2.status <> 'removed'
                               GROUP BY s2.id_number HAVING count(*) > 1)
        """,
        [*line_params, program.pk, term.pk],
    )
    amounts = value(
        f"""SELECT count(*) FROM {lines} AND l.amount_reason = '' AND l.amount IS DISTINCT FROM
            (SELECT ps.amount FROM aid_programstandard ps WHERE ps.program_id = l.program_id AND ps.stage = l.stage)""",
        line_params,
    )
    off_roster = value(
        f"""SELECT count(*) FROM {lines} AND l.status = 'paid'
            AND (SELECT s.left_roster_on FROM students_student s WHERE s.id = l.student_id) IS NOT NULL""",
        line_params,
    )
    # 错发: unpaid lines against the student now; paid lines against the student's record,
    # and its household's, in force at the end of the payment day (Beijing time); a
    # household recorded only later: its first record.
    record_rules = rules.replace("s.", "rec.").replace("h.", "hh.")
    moment = "((l.paid_on + 1)::timestamp AT TIME ZONE 'Asia/Shanghai')"
    joins = f"""
        LEFT JOIN LATERAL (
            SELECT s.stage, s.status, s.is_boarder, s.school_id, s.left_roster_on, s.household_id, '~' AS history_type
            FROM students_student s WHERE s.id = l.student_id AND l.paid_on IS NULL
            UNION ALL
            (SELECT hs.stage, hs.status, hs.is_boarder, hs.school_id, hs.left_roster_on, hs.household_id, hs.history_type
             FROM students_historicalstudent hs WHERE hs.id = l.student_id AND l.paid_on IS NOT NULL AND hs.history_date < {moment}
             ORDER BY hs.history_date DESC, hs.history_id DESC LIMIT 1)
        ) rec ON true
        LEFT JOIN students_household now_household ON now_household.id = rec.household_id
        CROSS JOIN LATERAL (SELECT CASE WHEN l.paid_on IS NULL THEN now_household.category ELSE coalesce(
            (SELECT x.category FROM students_historicalhousehold x WHERE x.id = rec.household_id AND x.history_date < {moment}
             ORDER BY x.history_date DESC, x.history_id DESC LIMIT 1),
            (SELECT x.category FROM students_historicalhousehold x WHERE x.id = rec.household_id
             ORDER BY x.history_date, x.history_id LIMIT 1)) END AS category) hh
        WHERE """
    ineligible = value(
        f"""SELECT count(*) FROM {lines.replace(' WHERE ', joins, 1)}
            AND (rec.history_type IS NULL OR rec.history_type = '-' OR rec.left_roster_on IS NOT NULL OR NOT ({record_rules}))""",
        [*line_params, *rule_params],
    )
    return missed + duplicates + amounts + off_roster + ineligible


# ---------------------------------------------------------------------------------------
# Ledgers, by hand
# ---------------------------------------------------------------------------------------


def school_age_bounds(period):
    """Born after `oldest` and on or before `youngest`: 6 to 15 on 31 August."""
    year = period.ends_on.year if period.ends_on.month >= 9 else period.ends_on.year - 1
    return datetime.date(year - 16, 8, 31), datetime.date(year - 6, 8, 31)


def ledger_moment(period):
    end = timezone.make_aware(datetime.datetime.combine(period.ends_on, datetime.time.max))
    return min(end, timezone.now())


def school_age_count(user, period):
    oldest, youngest = school_age_bounds(period)
    return value(
        """
        SELECT count(*) FROM (
            SELECT DISTINCT ON (h.id) h.* FROM students_historicalstudent h WHERE h.history_date <= %s
            ORDER BY h.id, h.history_date DESC, h.history_id DESC
        ) rec
        WHERE rec.history_type <> '-' AND rec.left_roster_on IS NULL AND rec.school_id = ANY(%s)
          AND rec.birth_date > %s AND rec.birth_date <= %s
        """,
        [ledger_moment(period), schools_of(user), oldest, youngest],
    )


def dropout_ledger_count(user, period):
    return value(
        """
        SELECT count(*) FROM aid_dropoutcase c
        WHERE c.opened_on <= %s AND (c.closed_on IS NULL OR c.closed_on >= %s)
          AND coalesce(
                (SELECT h.school_id FROM students_historicalstudent h
                 WHERE h.id = c.student_id AND (h.history_date AT TIME ZONE 'Asia/Shanghai')::date <= c.opened_on
                 ORDER BY h.history_date DESC, h.history_id DESC LIMIT 1),
                (SELECT s.school_id FROM students_student s WHERE s.id = c.student_id)) = ANY(%s)
        """,
        [period.ends_on, period.starts_on, schools_of(user)],
    )


def suspects_this_month(user, today):
    """Students of the user's schools on the roster now: high risk at their latest visit and
    not visited for more than 60 days, out of school with no open case, or missing from an
    applied snapshot and not checked."""
    return value(
        """
        SELECT count(*) FROM students_student s
        WHERE s.school_id = ANY(%s) AND s.left_roster_on IS NULL AND (
            (SELECT v.dropout_risk = 'high' AND v.visited_on < %s FROM aid_homevisit v WHERE v.student_id = s.id
             AND v.visited_on <= %s ORDER BY v.visited_on DESC, v.dropout_risk = 'high' DESC LIMIT 1)
            OR (s.status = ANY(%s) AND NOT EXISTS (SELECT 1 FROM aid_dropoutcase c WHERE c.student_id = s.id
                AND c.opened_on <= %s AND (c.closed_on IS NULL OR c.closed_on > %s)))
            OR EXISTS (SELECT 1 FROM students_snapshotabsence a JOIN students_rosterimport ri ON ri.id = a.roster_import_id
                       WHERE a.student_id = s.id AND ri.state = 'applied' AND a.checked_at IS NULL)
        )
        """,
        [schools_of(user), today - datetime.timedelta(days=60), today, OUT_OF_SCHOOL, today, today],
    )


# ---------------------------------------------------------------------------------------
# The test
# ---------------------------------------------------------------------------------------


def saved(workbook):
    buffer = io.BytesIO()
    workbook.save(buffer)
    return load_workbook(buffer)


def test_every_figure_of_every_role_equals_a_recount(client_for, story):
    today = timezone.localdate()
    term = Term.objects.current(today)
    month, last_month = Period.current_month(today), Period.current_month(today.replace(day=1) - datetime.timedelta(days=1))
    program_ids = rows(
        "SELECT program_id FROM aid_disbursementbatch WHERE term_id = %s UNION SELECT program_id FROM aid_disbursementline"
        " WHERE term_id = %s AND status <> 'removed'",
        [term.pk, term.pk],
    )
    programs = list(AidProgram.objects.filter(pk__in=[r[0] for r in program_ids]))
    assert len(programs) >= 2
    figures = {}
    for name in ("bureau", "feixian", "city", "grid", "school1", "school2"):
        user = story[name]
        counted = roster_counts(user, term)
        planned, paid = money(user, term)
        findings = {program.pk: open_findings(user, program, term) for program in programs}

        board = client_for(user).get(reverse("home")).context["board"]
        assert (board.total, board.in_school, board.paired, board.visited) == tuple(counted.values()), name
        assert (board.paired_share, board.visited_share) == (share(counted["paired"], counted["total"]), share(counted["visited"], counted["total"]))
        assert (board.planned_total, board.paid_total, board.open_cases) == (planned, paid, open_cases(user)), name
        assert board.open_findings == sum(findings.values()), name

        summary = saved(county_summary_workbook(dashboard_for(user), scope=name, today=today))
        students_sheet, pairing_sheet, visits_sheet, aid_sheet = (summary[s] for s in ("学生分布", "结对帮扶", "家访", "资助发放"))
        assert students_sheet.cell(students_sheet.max_row, students_sheet.max_column).value == counted["total"]
        expected_pairing = [counted["total"], counted["paired"], counted["total"] - counted["paired"]]
        assert [c.value for c in pairing_sheet[4]][:3] == expected_pairing, name
        assert Decimal(str([c.value for c in pairing_sheet[4]][3])) == share(counted["paired"], counted["total"])
        assert [c.value for c in visits_sheet[visits_sheet.max_row]][2:4] == [counted["total"], counted["visited"]]
        aid_total = [c.value for c in aid_sheet[aid_sheet.max_row]]
        assert (Decimal(str(aid_total[2])), Decimal(str(aid_total[4])), aid_total[5]) == (planned, paid, sum(findings.values()))

        table = distribution_table(user)
        in_table = (table.grand_total.total.total, table.grand_total.total.in_school)
        assert in_table == (counted["total"], counted["in_school"]), name

        coverage = coverage_for(user, term)
        by_school = dict(rows(
            """SELECT s.school_id, count(*) FILTER (WHERE EXISTS (SELECT 1 FROM aid_homevisit v WHERE v.student_id = s.id
                      AND v.visited_on BETWEEN %s AND %s)) FROM students_student s
               WHERE s.id = ANY(%s) AND s.left_roster_on IS NULL GROUP BY s.school_id""",
            [term.starts_on, term.ends_on, students_of(user)],
        ))
        assert {school.school_id: school.figure.visited for t in coverage.townships for school in t.schools} == by_school
        assert (coverage.total.total, coverage.total.visited, coverage.total.share) == (
            counted["total"], counted["visited"], share(counted["visited"], counted["total"])
        )

        for program in programs:
            assert precision_report(user, program, term).open_count() == findings[program.pk], (name, program.name)

        ledgers = {
            "school_age": len(school_age_ledger(user, month)),
            "school_age_last_month": len(school_age_ledger(user, last_month)),
            "dropout": len(dropout_ledger(user, month)),
            "dropout_last_month": len(dropout_ledger(user, last_month)),
            "suspects": len(suspected_dropout_ledger(user, month)),
        }
        assert ledgers == {
            "school_age": school_age_count(user, month),
            "school_age_last_month": school_age_count(user, last_month),
            "dropout": dropout_ledger_count(user, month),
            "dropout_last_month": dropout_ledger_count(user, last_month),
            "suspects": suspects_this_month(user, today),
        }, name
        figures[name] = {**counted, "planned": planned, "paid": paid, "cases": open_cases(user), **ledgers,
                         **{f"findings {pk}": n for pk, n in findings.items()}}

    assert figures["city"] == {key: figures["bureau"][key] + figures["feixian"][key] for key in figures["city"]}
    assert figures["feixian"]["total"] == 7 and figures["feixian"]["paired"] == 4 and figures["feixian"]["visited"] == 3

    teacher = story["teacher"]
    counted = roster_counts(teacher, term)
    page = client_for(teacher).get(reverse("aid:my_students"))
    assert page.context["paginator"].count == counted["total"] > 0
    assert distribution_table(teacher).grand_total.total.total == counted["total"]
    assert coverage_for(teacher, term).total.visited == counted["visited"]
    assert Pairing.objects.filter(ended_on__isnull=False).exists()
