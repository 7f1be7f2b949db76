"""The casework of the demo county, built on the registry by `manage.py seed_demo`.

Terms, the usual aid programs with Shandong's amounts, a teacher for every student,
this term's home visits (a few with high dropout risk or an aid not delivered), the
city–rural school pairings of the seed story, and subsidy batches in every state, with a
few mistakes planted for the precision checks to find.
"""
import datetime
import functools
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import models
from django.utils import timezone

from common import bulk_writes
from demo.data import CHANGE_REASON

from aid.casework.models import (
    ExchangeActivity,
    HomeVisit,
    Pairing,
    PolicyCheck,
    SchoolPairing,
    VisitDelivery,
)
from aid.casework import services as casework
from aid.dropout import services as dropout
from aid.dropout.models import CaseResponsible, DropoutCase, PersuasionAttempt
from aid.reference.models import (
    AidProgram,
    ChecklistItem,
    DeliveryItem,
    ProgramStandard,
    Term,
)
from aid.subsidies import services as d
from aid.subsidies.models import (
    DisbursementBatch,
    DisbursementLine,
    PaymentMethod,
    SchoolConfirmation,
)
from aid.supervision.models import (
    ChecklistAnswer,
    GridGroup,
    Inspection,
    Rectification,
    SchoolProject,
)
from students.choices import (
    IN_SCHOOL_STATUSES,
    HouseholdCategory,
    LeaveReason,
    Role,
    Stage,
    Status,
)
from students.models import Household, Region, School, Student
from students.services import student_leave_roster, student_save

User = get_user_model()
REGISTERED = [
    HouseholdCategory.REGISTERED_POOR,
    HouseholdCategory.REGISTERED_LIFTED,
    HouseholdCategory.UNSTABLE,
]
K = AidProgram.Kind
F = AidProgram.FundingSource
# name, kind, source, stages, categories (empty: all), boarders only, {stage: amount per term}
PROGRAMS = (
    ("学前教育资助", K.CASH, F.PROVINCE, [Stage.PRESCHOOL], [], False, {Stage.PRESCHOOL: "750.00"}),
    ("家庭经济困难寄宿生生活补助", K.CASH, F.CENTRAL, [Stage.PRIMARY, Stage.JUNIOR], [], True,
     {Stage.PRIMARY: "500.00", Stage.JUNIOR: "625.00"}),
    ("国家助学金（普通高中）", K.CASH, F.CENTRAL, [Stage.SENIOR], [], False, {Stage.SENIOR: "1000.00"}),
    ("免学杂费（普通高中）", K.FEE_WAIVER, F.PROVINCE, [Stage.SENIOR], REGISTERED, False, {Stage.SENIOR: "400.00"}),
    ("国家助学金（中职）", K.CASH, F.CENTRAL, [Stage.VOCATIONAL], [], False, {Stage.VOCATIONAL: "1000.00"}),
    ("中职免学费", K.FEE_WAIVER, F.CENTRAL, [Stage.VOCATIONAL], [], False, {Stage.VOCATIONAL: "1000.00"}),
    ("雨露计划", K.CASH, F.PROVINCE, [Stage.VOCATIONAL, Stage.HIGHER], REGISTERED, False,
     {Stage.VOCATIONAL: "1500.00", Stage.HIGHER: "1500.00"}),
    ("定制校车交通补助", K.CASH, F.COUNTY, [Stage.PRIMARY, Stage.JUNIOR], [], False,
     {Stage.PRIMARY: "200.00", Stage.JUNIOR: "200.00"}),
    ("书包", K.IN_KIND, F.SOCIETY, [s for s in Stage.values if s != Stage.HIGHER], [], False,
     {s: "80.00" for s in Stage.values if s != Stage.HIGHER}),
    ("防疫礼包", K.IN_KIND, F.COUNTY, [s for s in Stage.values if s != Stage.HIGHER], [], False,
     {s: "50.00" for s in Stage.values if s != Stage.HIGHER}),
)
SURNAMES = "王张李刘陈杨赵孙徐高朱马胡郭林何罗梁宋郑"
GIVEN = ("红梅", "建国", "秀英", "志强", "丽娟", "海燕", "文华", "国庆", "春梅", "立新", "玉兰", "德胜", "静", "敏", "磊", "伟")
SUBJECTS = ("语文", "数学", "英语", "物理", "道德与法治", "心理健康", "体育", "班主任", "副校长", "校长")
FINDINGS = (
    "学习认真，成绩中等，数学需加强。",
    "按时完成作业，线上课程能正常收看。",
    "家中无电脑，用父亲手机上网课，流量不足。",
    "孩子性格内向，与同学交流少，已约心理老师谈心。",
)
LIVING = ("与祖父母同住，父母外出务工。", "住房为危房改造后新房，生活基本有保障。", "母亲因病长期服药，家庭开支大。")
CONCERNS = ("希望学校多关注孩子心理。", "担心营养跟不上。", "希望能继续享受寄宿生补助。", "")
MEASURES = ("每周电话联系一次，每月入户一次。", "协调村委会落实低保。", "为孩子申请流量补贴，学校提供学习资料。")


@functools.cache
def demo_password_hash(password):
    """The demo logins all share one public password, so they share one hash: hashing it
    for each of them would cost about a quarter of a second per login."""
    return make_password(password)


def autumn_term(year):
    return Term(name=f"{year} 秋季学期", starts_on=datetime.date(year, 9, 1), ends_on=datetime.date(year + 1, 1, 20))


def spring_term(year):
    return Term(name=f"{year} 春季学期", starts_on=datetime.date(year, 2, 20), ends_on=datetime.date(year, 7, 10))


def term_started_by(day):
    """The demo calendar's latest term to have started by `day`: the term under way, or in
    a holiday the one just over. Autumn runs 1 September to 20 January, spring 20 February
    to 10 July."""
    if day >= datetime.date(day.year, 9, 1):
        return autumn_term(day.year)
    if day >= datetime.date(day.year, 2, 20):
        return spring_term(day.year)
    return autumn_term(day.year - 1)


def build_terms(today):
    """The seed story's term, then the terms around today: the one before, the current one
    (in a holiday, the one just over) and the next, whatever the day of the year."""
    current = term_started_by(today)
    previous = term_started_by(current.starts_on - datetime.timedelta(days=1))
    following = spring_term(current.ends_on.year) if current.starts_on.month == 9 else autumn_term(current.starts_on.year)
    story = Term(name="2020 春季学期", starts_on=datetime.date(2020, 2, 17), ends_on=datetime.date(2020, 7, 10))
    return [
        Term.objects.get_or_create(name=t.name, defaults={"starts_on": t.starts_on, "ends_on": t.ends_on})[0]
        for t in (story, previous, current, following)
    ]


def build_programs(bus_schools):
    programs = {}
    for name, kind, source, stages, categories, boarders, amounts in PROGRAMS:
        program, _created = AidProgram.objects.update_or_create(
            name=name,
            defaults={
                "kind": kind, "funding_source": source, "stages": list(stages),
                "household_categories": list(categories), "boarders_only": boarders,
                "requires_enrolment": kind != K.IN_KIND,
            },
        )
        for stage, amount in amounts.items():
            ProgramStandard.objects.update_or_create(program=program, stage=stage, defaults={"amount": Decimal(amount)})
        programs[name] = program
    programs["定制校车交通补助"].schools.set(bus_schools)
    for item, unit in (("书包", "个"), ("防疫礼包", "份")):
        DeliveryItem.objects.update_or_create(name=item, defaults={"unit": unit, "program": programs[item]})
    DeliveryItem.objects.get_or_create(name="学习用品", defaults={"unit": "套"})
    # With their schools fetched, applies_to() asks the database nothing per student.
    return {p.name: p for p in AidProgram.objects.filter(name__in=programs).prefetch_related("schools")}


def build_teachers(rng, schools, demo_teacher):
    """A few teachers per school (the demo teacher among them), with unusable passwords."""
    teachers = []
    existing = set(User.objects.values_list("username", flat=True))
    for index, school in enumerate(schools):
        for n in range(3 + len(school.stages) * 2):
            username = f"t{school.code[-4:]}{n:02d}"
            if username in existing:
                continue
            teacher = User(
                username=username, role=Role.TEACHER, school=school,
                full_name=rng.choice(SURNAMES) + rng.choice(GIVEN),
                phone=f"13{rng.randint(0, 9)}{rng.randint(10000000, 99999999)}",
                subject=rng.choice(SUBJECTS),
            )
            teacher.set_unusable_password()
            teachers.append(teacher)
    bulk_writes.create(teachers)
    by_school = {}
    for teacher in User.objects.filter(role=Role.TEACHER, school__in=schools):
        by_school.setdefault(teacher.school_id, []).append(teacher)
    by_school.setdefault(demo_teacher.school_id, [])
    if demo_teacher not in by_school[demo_teacher.school_id]:
        by_school[demo_teacher.school_id].append(demo_teacher)
    return by_school


def build_pairings(rng, students, teachers_by_school, demo_teacher, creator, term):
    """Every student on the roster paired but a few (a work list for the demo). `students`
    are rows of the registry (see build_casework); returns (pairing, student) rows."""
    pairings = []
    demo_count = 0
    for student in students:
        if student.left_roster_on or rng.random() < 0.03:
            continue
        teachers = teachers_by_school[student.school_id]
        teacher = teachers[rng.randrange(len(teachers))]
        if student.school_id == demo_teacher.school_id and demo_count < 12:
            teacher = demo_teacher
            demo_count += 1
        pairing = {"student_id": student.pk, "teacher_id": teacher.pk, "started_on": term.starts_on,
                   "created_by_id": creator.pk}
        pairings.append((pairing, student))
    bulk_writes.create_rows(Pairing, [pairing for pairing, _student in pairings], user=creator, reason=CHANGE_REASON)
    return pairings


def stand_in(student):
    """A student (unsaved) with the fields of a registry row that programs look at."""
    return Student(
        stage=student.stage, status=student.status, is_boarder=student.is_boarder, school_id=student.school_id,
        household=Household(category=student.category),
    )


def applying_programs(programs, student):
    return [program for program in programs.values() if program.kind != K.IN_KIND and program.applies_to(student)]


def registry_rows(students):
    """The students' fields that the casework reads, as light rows: building 200,000 model
    instances (and their households) took seconds."""
    return students.order_by("pk").annotate(category=models.F("household__category")).values_list(
        "pk", "school_id", "left_roster_on", "stage", "status", "is_boarder", "category", named=True
    )


def build_visits(rng, pairings, term, programs, items, today):
    """This term's visits: about seven in ten paired students, one or two visitors each."""
    last_day = min(today, term.ends_on)
    span = max((last_day - term.starts_on).days, 1)
    applying = {}
    visits, details = [], []
    for pairing, student in pairings:
        if rng.random() > 0.7:
            continue
        risk = rng.choices(["none", "some", "high"], weights=[90, 8, 2])[0]
        visit = {
            "student_id": student.pk, "author_id": pairing["teacher_id"],
            "visited_on": term.starts_on + datetime.timedelta(days=rng.randrange(span)),
            "mode": rng.choices(["in_person", "phone", "video"], weights=[75, 20, 5])[0],
            "study_situation": rng.choice(FINDINGS), "living_situation": rng.choice(LIVING),
            "family_concerns": rng.choice(CONCERNS), "measures": rng.choice(MEASURES),
            "dropout_risk": risk, "follow_up_needed": risk != "none",
            "next_visit_on": last_day + datetime.timedelta(days=30),
        }
        visits.append(visit)
        key = (student.stage, student.category, student.status, student.is_boarder, student.school_id)
        if key not in applying:
            applying[key] = applying_programs(programs, stand_in(student))
        details.append((visit, student, applying[key]))
    ids = bulk_writes.create_rows(HomeVisit, visits, user=None, reason=CHANGE_REASON)
    build_checks_and_deliveries(rng, [(visit_id, *rest) for visit_id, rest in zip(ids, details, strict=True)],
                                term, programs, items)


def build_checks_and_deliveries(rng, details, term, programs, items):
    """Each visit's check of the programs that apply to its student, and a schoolbag handed
    over on a quarter of the visits, with its paid line. `details`: (visit id, visit,
    student, programs) rows."""
    checks, deliveries = [], []
    for visit_id, visit, student, visit_programs in details:
        for program in visit_programs:
            delivered = rng.random() > 0.03
            checks.append({
                "visit_id": visit_id, "program_id": program.pk, "delivered": delivered,
                "reason": "" if delivered else "学校尚未发放，已反馈资助中心",
            })
        if rng.random() < 0.25:
            deliveries.append((visit_id, visit, student))
    bulk_writes.create_rows(PolicyCheck, checks, user=None, reason=CHANGE_REASON)
    bulk_writes.create_rows(
        VisitDelivery, [{"visit_id": visit_id, "item_id": items["书包"].pk, "quantity": 1} for visit_id, *_rest in deliveries],
        user=None, reason=CHANGE_REASON,
    )
    lines = [
        {
            "visit_id": visit_id, "program_id": programs["书包"].pk, "term_id": term.pk, "student_id": student.pk,
            "school_id": student.school_id, "stage": student.stage,
            "standard_amount": Decimal("80.00"), "amount": Decimal("80.00"), "status": DisbursementLine.Status.PAID,
            "paid_on": visit["visited_on"], "payment_method": PaymentMethod.IN_KIND,
        }
        for visit_id, visit, student in deliveries
    ]
    bulk_writes.create_rows(DisbursementLine, lines, user=None, reason=CHANGE_REASON)


def build_school_pairings(rng, schools, bureau, term, today):
    """Urban schools each supporting weak or poor-village schools (一对一 / 一对多)."""
    urban = [s for s in schools if s.is_urban]
    weak = [s for s in schools if (s.is_weak or s.is_poor_village) and not s.is_urban]
    rng.shuffle(weak)
    for index, lead in enumerate(urban):
        supported = weak[index::len(urban)][: 1 + index % 3]
        if not supported:
            continue
        pairing = SchoolPairing.objects.create(
            lead_school=lead, started_on=datetime.date(2020, 3, 1),
            goals="送教下乡每学期不少于2次，联合教研每月1次，接收薄弱学校教师跟岗学习。",
        )
        pairing.supported_schools.set(supported)
        if index % 4 == 3:
            continue  # a pairing that exists only on paper this term
        span = max((min(today, term.ends_on) - term.starts_on).days, 1)
        for _n in range(1 + index % 3):
            ExchangeActivity.objects.create(
                pairing=pairing, kind=rng.choice(ExchangeActivity.Kind.values[:4]),
                held_on=term.starts_on + datetime.timedelta(days=rng.randrange(span)),
                participants=f"{lead.name}骨干教师{rng.randint(2, 6)}人",
                summary="开展公开课和集体备课，赠送图书与学习用品。", recorded_by=bureau,
            )


def build_batches(programs, region, previous, current, preparer, approver, today):
    """Last term's grants paid and closed, this term's boarding subsidy approved and the
    senior grant still a draft at the schools; then three mistakes for the precision
    checks: a paid student who left the roster, a new boarder left out, and a subsidy for a
    student who has since dropped out."""
    def create(program, term):
        batch = d.batch_create(actor=preparer, program=program, term=term, region=region)
        batch.refresh_from_db()
        return batch

    def confirm_and_submit(batch):
        for school_id in set(batch.lines.values_list("school_id", flat=True)):
            SchoolConfirmation.objects.create(batch=batch, school_id=school_id, confirmed_by=preparer)
        batch.refresh_from_db()
        d.batch_submit(actor=preparer, batch=batch, expected_version=batch.version)
        batch.refresh_from_db()
        d.batch_approve(actor=approver, batch=batch, expected_version=batch.version)
        batch.refresh_from_db()
        return batch

    grant = confirm_and_submit(create(programs["国家助学金（普通高中）"], previous))
    d.batch_record_payment(actor=preparer, batch=grant, paid_on=previous.ends_on - datetime.timedelta(days=30),
                           method=PaymentMethod.ONE_CARD, expected_version=grant.version)
    grant.refresh_from_db()
    d.batch_close(actor=preparer, batch=grant, expected_version=grant.version)
    boarding = confirm_and_submit(create(programs["家庭经济困难寄宿生生活补助"], current))
    create(programs["国家助学金（普通高中）"], current)
    plant_findings(grant, boarding, preparer, today)
    return [grant, boarding]


# Students plant_findings takes off the roster (a paid student who has since moved away).
PLANTED_DEPARTURES = 1


def plant_findings(grant, boarding, actor, today):
    paid = grant.lines.select_related("student").first()
    if paid is not None:
        student_leave_roster(actor=actor, student=paid.student, on=today, reason=LeaveReason.MOVED_AWAY)
    included = boarding.lines.values("student_id")
    new_boarder = (
        Student.objects.on_roster()
        .filter(stage=Stage.PRIMARY, status__in=IN_SCHOOL_STATUSES, is_boarder=False)
        .exclude(pk__in=included)
        .first()
    )
    # Through the registry's write path, so that the history (and with it every ledger of
    # the month) agrees with the registry. build_dropout_cases opens the dropout's case.
    if new_boarder is not None:
        new_boarder.is_boarder = True
        student_save(actor=actor, student=new_boarder, notify=False)
    dropped = boarding.lines.select_related("student").order_by("-pk").first()
    if dropped is not None:
        dropped.student.status = Status.DROPPED_OUT
        student_save(actor=actor, student=dropped.student, notify=False)


def build_casework(rng, *, county, students, schools, users, password, today=None):
    """Everything above for the demo county; `users` are the demo users by username.
    Returns the extra logins it made: the first grid leader and Zichuan's bureau."""
    today = today or timezone.localdate()
    _story, previous, current, _following = build_terms(today)
    bus_schools = [s for s in schools if s.stages == [Stage.PRIMARY] and not s.is_urban][:3]
    programs = build_programs(bus_schools)
    items = {item.name: item for item in DeliveryItem.objects.all()}
    teachers = build_teachers(rng, schools, users["teacher"])
    students = list(registry_rows(students))
    # Indexed once written: what follows reads them through the services.
    with bulk_writes.indexes_built_after([Pairing, HomeVisit, PolicyCheck, VisitDelivery]):
        pairings = build_pairings(rng, students, teachers, users["teacher"], users["school1"], current)
        build_visits(rng, pairings, current, programs, items, today)
    build_school_pairings(rng, schools, users["bureau"], current, today)
    build_batches(programs, county, previous, current, users["bureau"], users["approver"], today)
    build_dropout_cases(rng, Student.objects.filter(school__in=schools), users["bureau"], today)
    townships = sorted({school.region for school in schools}, key=lambda region: region.code)
    grids = build_grids(rng, county, townships, schools, password, today)
    build_projects(rng, schools, today)
    zichuan = build_zichuan(password)
    plant_work(users, grids[0], zichuan, programs, county, current, today)
    return [grids[0].leader, zichuan]


def plant_work(users, grid, zichuan, programs, county, term, today):
    """Something on every demo login's work list (aid.dashboard.worklists): the bus subsidy
    of one township submitted for approval; passed next-visit dates of the demo teacher
    and of both demo schools; a student of the first demo school waiting for a new teacher
    (on a term's first day no next-visit date can have passed); a rectification report for
    the first grid to check; and an overdue rectification in Zichuan."""
    bus = programs["定制校车交通补助"]
    township = bus.schools.order_by("pk").values_list("region", flat=True).first()
    if township is not None:
        batch = d.batch_create(actor=users["bureau"], program=bus, term=term, region=Region.objects.get(pk=township))
        for school_id in set(batch.lines.values_list("school_id", flat=True)):
            SchoolConfirmation.objects.create(batch=batch, school_id=school_id, confirmed_by=users["bureau"])
        batch.refresh_from_db()
        d.batch_submit(actor=users["bureau"], batch=batch, expected_version=batch.version)
    pairings = Pairing.objects.active().select_related("student", "teacher").order_by("pk")
    for candidates in (
        pairings.filter(teacher=users["teacher"]),
        pairings.filter(student__school=users["school1"].school).exclude(teacher=users["teacher"]),
        pairings.filter(student__school=users["school2"].school),
    ):
        any(plant_passed_next_visit(pairing, term, today) for pairing in candidates[:20])
    for school_admin in (users["school1"], users["school2"]):
        plant_unpaired(school_admin, today)
    # A school reports one item done. The grid's schools have no demo administrator to act
    # through the service, so the demo saves the report itself (with its history).
    reported = Rectification.objects.filter(
        inspection__grid=grid, status=Rectification.Status.OPEN
    ).order_by("deadline", "pk").first()
    if reported is not None:
        reported.status = Rectification.Status.REPORTED
        reported.school_report = "已更新资助档案，补齐家访记录。"
        reported.reported_at = timezone.now()
        reported.save()
    build_zichuan_inspection(zichuan, today)


def plant_unpaired(school_admin, today):
    """A student of the school whose teacher has left, unless one is waiting already: its
    newest pairing, not the first ones, whose students carry the passed next-visit dates."""
    if casework.unpaired_students(school_admin).exists():
        return
    pairing = Pairing.objects.active().filter(student__school=school_admin.school).order_by("-pk").first()
    if pairing is not None:
        casework.pairing_end(actor=school_admin, pairing=pairing, ended_on=max(today, pairing.started_on),
                             reason="结对教师调离，待重新安排。")


def plant_passed_next_visit(pairing, term, today):
    """The pairing's student gets a visit this term whose next-visit date has passed (none
    can have passed on a term's first day). Whether it could: a student visited today
    cannot have a next visit due before today."""
    latest = HomeVisit.objects.filter(student=pairing.student).order_by("-visited_on", "-pk").first()
    if latest is not None and latest.visited_on < today:
        latest.next_visit_on = latest.visited_on
        latest.save(update_fields=["next_visit_on"])  # with its history, as a teacher's edit
        return True
    if latest is None and term.starts_on < today:
        HomeVisit.objects.create(
            student=pairing.student, author=pairing.teacher, visited_on=term.starts_on,
            study_situation=FINDINGS[0], living_situation=LIVING[0], measures=MEASURES[0],
            next_visit_on=max(term.starts_on, today - datetime.timedelta(days=7)),
        )
        return True
    return False


def build_zichuan_inspection(admin, today):
    """Zichuan's bureau leads a grid of its own, whose inspection of a school left an item
    now overdue."""
    school = School.objects.filter(region__parent=admin.region).order_by("pk").first()
    if school is None or Inspection.objects.filter(school=school).exists():
        return
    grid, _created = GridGroup.objects.get_or_create(name="淄川区第一网格组", region=admin.region, defaults={"leader": admin})
    grid.townships.add(school.region)
    inspected_on = today - datetime.timedelta(days=45)
    inspection = Inspection.objects.create(
        school=school, grid=grid, inspected_on=inspected_on, recorded_by=admin,
        findings="改造后的校舍使用台账不全。",
    )
    inspection.inspectors.set([admin])
    Rectification.objects.create(
        inspection=inspection, school=school, description="补齐校舍改造项目档案和使用台账。",
        deadline=inspected_on + datetime.timedelta(days=30),
    )


def delete_casework(school_ids):
    """Remove the casework of the demo county's schools (before its students go)."""
    DropoutCase.objects.filter(student__school_id__in=school_ids).delete()
    Inspection.objects.filter(school_id__in=school_ids).delete()
    GridGroup.objects.filter(townships__schools__in=school_ids).distinct().delete()
    zichuan_grids = GridGroup.objects.filter(region__code=ZICHUAN[0])  # led by Zichuan's demo login
    Inspection.objects.filter(grid__in=zichuan_grids).delete()
    zichuan_grids.delete()
    User.objects.filter(role=Role.GRID_LEADER, grids_led__isnull=True).delete()
    SchoolProject.objects.filter(school_id__in=school_ids).delete()
    DisbursementLine.objects.filter(school_id__in=school_ids).delete()
    DisbursementBatch.objects.filter(lines__isnull=True).delete()
    HomeVisit.objects.filter(student__school_id__in=school_ids).delete()
    Pairing.objects.filter(student__school_id__in=school_ids).delete()
    SchoolPairing.objects.filter(lead_school_id__in=school_ids).delete()
    User.objects.filter(role=Role.TEACHER, school_id__in=school_ids).delete()


# ---------------------------------------------------------------------------------------
# Dropout control, grid supervision and school projects
# ---------------------------------------------------------------------------------------

CHECKLIST = ("资助政策宣传", "资助发放台账", "家访记录", "结对帮扶", "控辍保学", "办学条件")
LEADERS = ("赵德明", "钱建设", "孙立国", "李卫东", "周海涛", "吴新华", "郑光明", "冯长青", "陈振宇")
RECTIFICATIONS = (
    "资助政策宣传栏未更新本学期标准，需重新张贴。",
    "部分家访记录缺少家长签字，需补齐。",
    "两名学生结对教师已调离，需重新安排结对。",
    "寄宿生生活补助发放花名册未公示，需公示五个工作日。",
    "厕所改造未完工，需制定完工计划。",
)
# The Zichuan story: rural school buildings (5 schools, over 11 million yuan) and
# synthetic sports grounds (15 schools, 22 million yuan).
ZICHUAN = ("370302", "淄川区", ("3703", "淄博市"))
ZICHUAN_TOWNS = (("370302100", "双杨镇"), ("370302101", "寨里镇"), ("370302102", "岭子镇"), ("370302103", "太河镇"))
BUILDING_COSTS = ("2460000.00", "2180000.00", "2350000.00", "2090000.00", "2120000.00")  # 11,200,000
PLAYGROUND_COSTS = ("1466000.00",) * 14 + ("1476000.00",)  # 22,000,000


def build_dropout_cases(rng, students, county_admin, today):
    """A case for every student out of school and every visit that found a high risk, with
    responsible persons and an attempt each; a third of them already brought back (动态销号).

    Each case is written once, as it ends up: opened, dated and closed one by one through
    the services, 200,000 students took two minutes. The returned students' new status
    goes through the registry's history, which the ledgers read."""
    cases = cases_to_open(students, county_admin)
    responsibles = []
    for case in cases:
        case.opened_on = today - datetime.timedelta(days=rng.randint(5, 120))
        case.reason = rng.choice(DropoutCase.Reason.values)
        responsibles += [
            CaseResponsible(case=case, role=role, name=rng.choice(SURNAMES) + rng.choice(GIVEN), phone=phone)
            for role, phone in (("teacher", "13805390000"), ("township", "13905391111"), ("village", "15805392222"))
        ]
    returned = cases[::3]
    for case in returned:
        case.outcome, case.closed_by = DropoutCase.Outcome.RETURNED, county_admin
        case.closed_on = min(today, case.opened_on + datetime.timedelta(days=20))
    attempts = [
        PersuasionAttempt(
            case=case, attempted_on=case.opened_on + datetime.timedelta(days=3), persons="班主任、村支书",
            method="home_visit", outcome="家长表示理解，学生仍不愿返校，约定下周再访。", recorded_by=county_admin,
        )
        for case in cases
    ]
    for rows in (cases, responsibles, attempts):
        bulk_writes.create_with_history(rows, user=county_admin, reason=CHANGE_REASON)
    back = list(Student.objects.filter(pk__in=[case.student_id for case in returned]))
    for student in back:
        student.status = dropout.STATUS_AFTER[DropoutCase.Outcome.RETURNED]
    bulk_writes.update_with_history(back, ["status"], user=county_admin, reason=CHANGE_REASON)


def cases_to_open(students, county_admin):
    """The cases dropout control opens (unsaved): for the students out of school, then for
    the visits that found a high risk, one open case per student at most."""
    taken = set(DropoutCase.objects.open().filter(student__in=students).values_list("student_id", flat=True))
    out = students.filter(status__in=dropout.OUT_OF_SCHOOL, left_roster_on__isnull=True)
    visits = HomeVisit.objects.filter(dropout_risk=HomeVisit.Risk.HIGH, student__in=students).select_related(
        "student", "author"
    )
    cases = [dropout.status_case(student, county_admin) for student in out]
    cases += [dropout.visit_case(visit) for visit in visits]
    opened = []
    for case in cases:
        if case.student_id not in taken:
            taken.add(case.student_id)
            opened.append(case)
    return opened


def build_grids(rng, county, townships, schools, password, today):
    """The seed story's nine grid groups, each led by a bureau leader, with inspections."""
    for position, text in enumerate(CHECKLIST):
        ChecklistItem.objects.get_or_create(text=text, defaults={"position": position})
    items = list(ChecklistItem.objects.filter(is_active=True))
    schools_by_township = {}
    for school in schools:
        schools_by_township.setdefault(school.region_id, []).append(school)
    grids = []
    for index, leader_name in enumerate(LEADERS):
        username = "grid" if index == 0 else f"grid{index + 1}"
        leader = User.objects.filter(username=username).first() or User(username=username)
        leader.full_name, leader.role, leader.region = leader_name, Role.GRID_LEADER, county
        leader.password = demo_password_hash(password)
        leader.save()
        grid = GridGroup.objects.create(name=f"第{'一二三四五六七八九'[index]}网格组", region=county, leader=leader)
        covered = townships[index::len(LEADERS)]
        grid.townships.set(covered)
        grids.append(grid)
        for township in covered:
            for school in schools_by_township.get(township.pk, [])[:2]:
                inspect(rng, grid, leader, school, items, today)
    return grids


def inspect(rng, grid, leader, school, items, today):
    inspected_on = today - datetime.timedelta(days=rng.randint(10, 80))
    inspection = Inspection.objects.create(
        school=school, grid=grid, inspected_on=inspected_on, recorded_by=leader,
        findings="资助档案基本齐全，家访记录规范；个别问题已当场反馈学校。",
    )
    inspection.inspectors.set([leader])
    failing = rng.choice(items)
    bulk_writes.create_with_history([
        ChecklistAnswer(inspection=inspection, item=item, satisfactory=item != failing,
                        note="" if item != failing else "发现问题，已列入整改")
        for item in items
    ], user=leader, reason=CHANGE_REASON)
    deadline = inspected_on + datetime.timedelta(days=rng.choice((15, 30, 45)))
    status = Rectification.Status.CLOSED if deadline < today and rng.random() < 0.6 else Rectification.Status.OPEN
    Rectification.objects.create(
        inspection=inspection, school=school, description=rng.choice(RECTIFICATIONS), deadline=deadline,
        status=status, closed_on=deadline if status == Rectification.Status.CLOSED else None,
        school_report="已按要求完成整改并上传照片。" if status == Rectification.Status.CLOSED else "",
    )


def build_projects(rng, schools, today):
    """A few projects in Lanling's rural schools, begun about eight months ago."""
    rural = [s for s in schools if not s.is_urban][:6]
    kinds = (SchoolProject.Type.TOILET, SchoolProject.Type.IT, SchoolProject.Type.BUILDING)
    for index, school in enumerate(rural):
        kind = kinds[index % len(kinds)]
        SchoolProject.objects.create(
            school=school, name=f"{school.name}{SchoolProject.Type(kind).label}", type=kind,
            investment=Decimal(rng.choice(("380000.00", "560000.00", "1250000.00"))),
            funding_source=F.COUNTY, started_on=today - datetime.timedelta(days=240),
            status=SchoolProject.Status.COMPLETED if index % 2 else SchoolProject.Status.UNDERWAY,
        )


def build_zichuan(password):
    """Zichuan district (淄川区) with its 20 rural schools' projects, and its bureau login."""
    code, name, (city_code, city_name) = ZICHUAN
    province = Region.objects.get(code="37")
    city, _created = Region.objects.get_or_create(code=city_code, defaults={"name": city_name, "level": "city", "parent": province})
    district, _created = Region.objects.get_or_create(code=code, defaults={"name": name, "level": "county", "parent": city})
    towns = [
        Region.objects.get_or_create(code=c, defaults={"name": n, "level": "township", "parent": district})[0]
        for c, n in ZICHUAN_TOWNS
    ]
    costs = [(SchoolProject.Type.BUILDING, c) for c in BUILDING_COSTS] + [
        (SchoolProject.Type.PLAYGROUND, c) for c in PLAYGROUND_COSTS
    ]
    if SchoolProject.objects.filter(school__region__parent=district).exists():
        costs = []  # built by an earlier run
    for index, (kind, cost) in enumerate(costs):
        town = towns[index % len(towns)]
        school, _created = School.objects.get_or_create(
            name=f"淄博市淄川区{town.name}第{index + 1}小学",
            defaults={"region": town, "stages": [Stage.PRIMARY], "is_weak": True},
        )
        SchoolProject.objects.create(
            school=school, name=f"{school.name}{SchoolProject.Type(kind).label}", type=kind,
            investment=Decimal(cost), funding_source=F.PROVINCE if kind == SchoolProject.Type.BUILDING else F.CITY,
            started_on=datetime.date(2020, 3, 15), completed_on=datetime.date(2020, 8, 25),
            status=SchoolProject.Status.COMPLETED,
        )
    admin = User.objects.filter(username="zichuan").first() or User(username="zichuan")
    admin.full_name, admin.role, admin.region = "淄川区资助中心", Role.BUREAU_ADMIN, district
    admin.password = demo_password_hash(password)
    admin.save()
    return admin
