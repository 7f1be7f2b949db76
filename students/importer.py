"""The roster importer: messy spreadsheets in, checked student records out.

Plain functions shared by the import page and `manage.py import_roster`:

    roster_import_check(actor=…, file=…)   read, map headers, validate; nothing written
    roster_import_apply(actor=…, roster_import=…)   all rows or none, in one transaction
    roster_import_revert(actor=…, roster_import=…)  undo a whole import if nothing touched it since

Reading the file (formats, encodings, limits) is `spreadsheets.read_table`; this module maps
the header row, cleans and validates each value, and plans what each row would do.
"""
import contextlib
import datetime
import difflib
import gc
import hashlib
import io
import re
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext as _

from common import bulk_writes
from common.spreadsheets import (
    RawTable,
    SpreadsheetRefused,
    read_table,
    table_from_json,
    table_to_json,
)

from . import hooks, idnumber
from .choices import (
    Gender,
    HouseholdCategory,
    PovertyCause,
    RegionLevel,
    Stage,
    Status,
    stage_of_grade,
)
from .models import (
    Household,
    ImportedChange,
    Region,
    RosterImport,
    School,
    SnapshotAbsence,
    Student,
)

__all__ = [
    "COLUMNS",
    "ImportPlan",
    "ImportHasErrors",
    "SpreadsheetRefused",
    "roster_import_check",
    "roster_import_apply",
    "roster_import_revert",
    "plan_import",
]


# ---------------------------------------------------------------------------------------
# Columns and their header variants
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    key: str
    header: str  # the canonical Chinese header, as in the blank template
    aliases: tuple = ()
    required: bool = False


COLUMNS = (
    Column("name", "姓名", ("学生姓名",), required=True),
    Column("gender", "性别"),
    Column("id_number", "身份证号", ("身份证号码", "公民身份号码", "证件号码", "身份证件号"), required=True),
    Column("student_number", "学籍号", ("全国学籍号", "学籍号码", "学籍编号")),
    Column("school", "学校", ("学校名称", "就读学校", "就读学校名称"), required=True),
    Column("stage", "学段", ("就读学段",)),
    Column("grade", "年级", ("就读年级",)),
    Column("class_name", "班级", ("就读班级",)),
    Column("status", "在校情况", ("在校状态", "就学状态", "就读状态")),
    Column("township", "乡镇", ("所在乡镇", "乡镇(街道)", "乡镇街道", "乡(镇)")),
    Column("village", "村", ("村(社区)", "行政村", "所在村", "村居")),
    Column("head_name", "户主姓名", ("户主",)),
    Column("registration_number", "建档立卡户编号", ("户编号", "贫困户编号")),
    Column("category", "家庭类别", ("家庭类型", "困难类别", "贫困类别")),
    Column("poverty_cause", "致贫原因", ("主要致贫原因",)),
    Column("guardian_name", "监护人", ("监护人姓名",)),
    Column("guardian_phone", "联系电话", ("联系方式", "手机号码", "手机号", "监护人电话")),
    Column("note", "备注"),
)
COLUMN_BY_KEY = {column.key: column for column in COLUMNS}
COLUMN_ORDER = {column.header: position for position, column in enumerate(COLUMNS)}
HEADER_SEARCH_ROWS = 30
TOTAL_ROW_WORDS = ("合计", "总计", "小计", "共计")

FULL_WIDTH = str.maketrans(
    "（）０１２３４５６７８９ＡＢＣＤＥＦＧＨＩＪＫＬＭＮＯＰＱＲＳＴＵＶＷＸＹＺａｂｃｄｅｆｇｈｉｊｋｌｍｎｏｐｑｒｓｔｕｖｗｘｙｚ－",
    "()0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-",
)


def normalize_header(text):
    """'身份证号码*' and ' 乡镇（街道） ' compare as their plain forms."""
    if text is None:
        return ""
    text = str(text).translate(FULL_WIDTH)
    return re.sub(r"[\s*:：]", "", text)


HEADER_LOOKUP = {
    normalize_header(name): column.key
    for column in COLUMNS
    for name in (column.header, *column.aliases)
}


@dataclass
class HeaderMatch:
    row_index: int  # index into RawTable.rows
    row_number: int  # as the user sees it
    headers: list  # the file's header texts, by column index
    mapping: dict  # column index → column key
    unknown: list  # header texts that map to nothing

    @property
    def missing_required(self):
        mapped = set(self.mapping.values())
        return [column.header for column in COLUMNS if column.required and column.key not in mapped]


def find_header(table: RawTable, mapping_override=None):
    """The header is the row among the first ones that names the most known columns."""
    best = None
    for index, row in enumerate(table.rows[:HEADER_SEARCH_ROWS]):
        hits = sum(1 for value in row.values if normalize_header(value) in HEADER_LOOKUP)
        if hits >= 2 and (best is None or hits > best[0]):
            best = (hits, index)
    if best is None:
        raise SpreadsheetRefused(
            _("No header row was found: the file needs columns such as 姓名, 身份证号 and 学校.")
        )
    row = table.rows[best[1]]
    headers = ["" if value is None else str(value).strip() for value in row.values]
    mapping = {}
    for index, header in enumerate(headers):
        key = HEADER_LOOKUP.get(normalize_header(header))
        if key and key not in mapping.values():
            mapping[index] = key
    if mapping_override is not None:
        mapping = {
            int(index): key
            for index, key in mapping_override.items()
            if key in COLUMN_BY_KEY and int(index) < len(headers)
        }
    unknown = [header for index, header in enumerate(headers) if header and index not in mapping]
    return HeaderMatch(best[1], row.number, headers, mapping, unknown)


# ---------------------------------------------------------------------------------------
# Values: synonyms and cleaning
# ---------------------------------------------------------------------------------------

STAGE_WORDS = {
    Stage.PRESCHOOL: ("学前", "学前教育", "幼儿园", "幼儿", "学前班", "幼教"),
    Stage.PRIMARY: ("小学", "小学阶段", "义务教育小学"),
    Stage.JUNIOR: ("初中", "初级中学", "初中阶段", "义务教育初中"),
    Stage.SENIOR: ("高中", "普通高中", "高级中学", "高中阶段"),
    Stage.VOCATIONAL: ("中职", "中等职业学校", "中等职业教育", "中专", "职高", "技工学校", "职业高中"),
    Stage.HIGHER: ("高校", "大学", "本科", "专科", "高职", "高等教育", "研究生"),
}
STAGE_LOOKUP = {word: stage for stage, words in STAGE_WORDS.items() for word in words}
STAGE_LOOKUP.update({str(stage.label): stage for stage in Stage})

CHINESE_NUMBERS = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
# Grade words that say their stage themselves.
GRADE_WORDS = {
    "小班": "K1", "中班": "K2", "大班": "K3",
    "初一": "J1", "初二": "J2", "初三": "J3",
    "七年级": "J1", "八年级": "J2", "九年级": "J3",
    "高一": "S1", "高二": "S2", "高三": "S3",
    "大一": "H1", "大二": "H2", "大三": "H3", "大四": "H4", "大五": "H5",
}
GRADE_PREFIX_OF_STAGE = {
    Stage.PRESCHOOL: "K", Stage.PRIMARY: "P", Stage.JUNIOR: "J",
    Stage.SENIOR: "S", Stage.VOCATIONAL: "V", Stage.HIGHER: "H",
}
GRADE_COUNT_OF_STAGE = {"K": 3, "P": 6, "J": 3, "S": 3, "V": 3, "H": 5}

STATUS_WORDS = {
    Status.ENROLLED: ("在校", "在读", "正常", "在籍在校"),
    Status.HOME_TAUGHT: ("送教上门",),
    Status.SUSPENDED: ("休学",),
    Status.DROPPED_OUT: ("辍学",),
    Status.NOT_ENROLLED: ("失学", "未入学", "失学/未入学", "失学未入学"),
    Status.OUTSIDE_COUNTY: ("县外就读", "转出", "外县就读", "县外就读/转出", "转学"),
    Status.GRADUATED: ("毕业", "已毕业"),
}
STATUS_LOOKUP = {word: status for status, words in STATUS_WORDS.items() for word in words}

CATEGORY_WORDS = {
    HouseholdCategory.REGISTERED_POOR: ("建档立卡未脱贫", "未脱贫", "建档立卡贫困户", "贫困户", "建档立卡户"),
    HouseholdCategory.REGISTERED_LIFTED: ("建档立卡已脱贫", "已脱贫", "脱贫户", "已脱贫户", "脱贫享受政策"),
    HouseholdCategory.UNSTABLE: ("脱贫不稳定", "脱贫不稳定户"),
    HouseholdCategory.MARGINAL: ("边缘易致贫", "边缘易致贫户", "边缘户"),
    HouseholdCategory.SUDDEN_HARDSHIP: ("突发严重困难", "突发严重困难户"),
    HouseholdCategory.DIBAO: ("低保", "低保户", "农村低保", "城市低保", "最低生活保障"),
    HouseholdCategory.TEKUN: ("特困", "特困供养", "特困人员", "特困供养人员", "五保"),
    HouseholdCategory.OTHER: ("其他", "其他困难", "其它"),
}
CATEGORY_LOOKUP = {word: category for category, words in CATEGORY_WORDS.items() for word in words}
CATEGORY_LOOKUP.update({str(category.label): category for category in HouseholdCategory})

CAUSE_WORDS = {
    PovertyCause.ILLNESS: ("因病", "疾病"),
    PovertyCause.DISABILITY: ("因残", "残疾"),
    PovertyCause.EDUCATION: ("因学",),
    PovertyCause.DISASTER: ("因灾",),
    PovertyCause.LACK_OF_LABOUR: ("缺劳力", "缺劳动力"),
    PovertyCause.LACK_OF_SKILLS: ("缺技术",),
    PovertyCause.LACK_OF_LAND: ("缺土地",),
    PovertyCause.LACK_OF_CAPITAL: ("缺资金",),
    PovertyCause.POOR_TRANSPORT: ("交通条件落后", "交通落后"),
    PovertyCause.LACK_OF_DRIVE: ("自身发展动力不足", "缺乏内生动力"),
    PovertyCause.OTHER: ("其他", "其它"),
}
CAUSE_LOOKUP = {word: cause for cause, words in CAUSE_WORDS.items() for word in words}

GENDER_LOOKUP = {"男": Gender.MALE, "男性": Gender.MALE, "女": Gender.FEMALE, "女性": Gender.FEMALE,
                 "M": Gender.MALE, "F": Gender.FEMALE}


def text_of(value):
    """A cell as clean text: whole numbers without '.0', dates as ISO, spaces squeezed out."""
    if type(value) is str:  # most cells: the quick way out
        return "".join(value.split())
    if value is None or isinstance(value, bool):
        return ""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        value = int(value)
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.strftime("%Y-%m-%d")
    return "".join(str(value).split())


def grade_of(text, stage):
    """'初一', '七年级', '7', '一年级', '高二', '大班' … with the stage when it is known.

    Returns (grade or None, stage or None); a bare number needs the stage (or is primary).
    """
    word = text.translate(FULL_WIDTH).replace("年级", "年级")
    if word in GRADE_WORDS:
        return GRADE_WORDS[word], stage_of_grade(GRADE_WORDS[word])
    match = re.fullmatch(r"(?:([一二三四五六七八九])|(\d{1,2}))(?:年级)?", word)
    if not match:
        return None, stage
    number = CHINESE_NUMBERS[match.group(1)] if match.group(1) else int(match.group(2))
    if stage is None:
        stage = Stage.PRIMARY if number <= 6 else Stage.JUNIOR if number <= 9 else Stage.SENIOR
    prefix = GRADE_PREFIX_OF_STAGE[stage]
    if prefix == "J" and 7 <= number <= 9:
        number -= 6
    elif prefix == "S" and 10 <= number <= 12:
        number -= 9
    if 1 <= number <= GRADE_COUNT_OF_STAGE[prefix]:
        return f"{prefix}{number}", stage
    return None, stage


# ---------------------------------------------------------------------------------------
# The plan: what each row would do
# ---------------------------------------------------------------------------------------


@dataclass
class RowError:
    row_number: int
    column: str
    message: str

    def __str__(self):
        return _("row %(row)s, %(column)s: %(message)s") % {
            "row": self.row_number,
            "column": self.column,
            "message": self.message,
        }


@dataclass
class PlannedRow:
    number: int
    raw: list
    action: str = ""  # "new", "updated", "unchanged" or "error"
    errors: list = field(default_factory=list)
    changes: list = field(default_factory=list)  # (field label, old, new)
    student: Student | None = None  # the existing record it matches
    student_fields: dict = field(default_factory=dict)
    household_fields: dict = field(default_factory=dict)
    household: Household | None = None  # set when applied
    household_created: bool = False
    student_before: dict = field(default_factory=dict)  # values before, for revert
    household_before: dict = field(default_factory=dict)
    conflict: dict | None = None  # the file's and the registry's names, side by side

    def error(self, column_key, message):
        self.errors.append(RowError(self.number, COLUMN_BY_KEY[column_key].header, message))


class RowPlan:
    """What a checked file would do, row by row: shared by every importer's plan."""

    ACTIONS = ()

    def rows_with(self, action):
        return [row for row in self.rows if row.action == action]

    @property
    def counts(self):
        counts = {action: 0 for action in self.ACTIONS}
        for row in self.rows:
            counts[row.action] += 1
        return counts

    @property
    def errors(self):
        return [error for row in self.rows for error in row.errors]


@dataclass
class ImportPlan(RowPlan):
    header: HeaderMatch
    rows: list
    absent_students: list = field(default_factory=list)
    moved_students: list = field(default_factory=list)

    ACTIONS = ("new", "updated", "unchanged", "error")

    @property
    def has_errors(self):
        return bool(self.header.missing_required) or any(row.errors for row in self.rows)


class ImportHasErrors(Exception):
    """Applying was refused: the plan had errors and nothing was written."""

    def __init__(self, plan):
        super().__init__(_("The file has errors; nothing was written."))
        self.plan = plan


class Registry:
    """What the rows are checked against, loaded in a few queries for the whole file."""

    def __init__(self, actor, id_numbers):
        self.actor = actor
        self.schools = list(School.objects.visible_to(actor).select_related("region"))
        self.school_by_key = {}
        for school in self.schools:
            self.school_by_key.setdefault(school_key(school.name), []).append(school)
        self.townships = [
            (school_key(township.name), township)
            for township in Region.objects.visible_to(actor).filter(level=RegionLevel.TOWNSHIP)
        ]
        self.students_by_id_number = {}
        found = []
        numbers = list(id_numbers)
        visible = Student.objects.visible_to(actor).filter(pk=OuterRef("pk"))
        for start in range(0, len(numbers), 5000):
            found += (
                Student.objects.filter(id_number__in=numbers[start:start + 5000])
                .annotate(in_scope=Exists(visible))
                .select_related("household")
            )
        share_schools_and_townships(found)
        for student in found:
            current = self.students_by_id_number.get(student.id_number)
            # The record on the roster wins over older records that left it.
            if current is None or (current.left_roster_on and not student.left_roster_on):
                self.students_by_id_number[student.id_number] = student
        self.visible_student_ids = {student.pk for student in found if student.in_scope}

    def school_for(self, text):
        """Exact name, or the one school whose name contains (or is contained in) the text."""
        key = school_key(text)
        exact = self.school_by_key.get(key, [])
        if len(exact) == 1:
            return exact[0], []
        candidates = [
            school for school in self.schools
            if key and (key in school_key(school.name) or school_key(school.name) in key)
        ]
        if len(candidates) == 1:
            return candidates[0], []
        names = [school.name for school in self.schools]
        suggestions = [school.name for school in candidates][:3] or difflib.get_close_matches(
            text, names, n=3, cutoff=0.4
        )
        return None, suggestions

    def township_for(self, text):
        key = school_key(text)
        for name_key, township in self.townships:
            if name_key == key or (key and key in name_key):
                return township
        return None


def share_schools_and_townships(students):
    """Give the students their schools and their households' townships, one object each for
    the few there are, rather than one per row from a join (a fifth of a re-check's time)."""
    schools = School.objects.in_bulk({student.school_id for student in students})
    households = [student.household for student in students if student.household is not None]
    townships = Region.objects.in_bulk({household.township_id for household in households})
    for student in students:
        student.school = schools[student.school_id]
    for household in households:
        household.township = townships[household.township_id]


def school_key(name):
    return "".join(str(name).translate(FULL_WIDTH).split())


def plan_import(table: RawTable, *, actor, mapping_override=None, snapshot=None) -> ImportPlan:
    """Check every row of the table and decide what it would do. Writes nothing.

    Two passes: each row is cleaned on its own (clean_rows), then placed in the registry as
    it is now (place_row: school, township, and whether the student is new or known).
    """
    header = find_header(table, mapping_override)
    cleaned = clean_rows(table, header)
    registry = Registry(actor, {row.student_fields["id_number"] for row in cleaned if "id_number" in row.student_fields})
    rows = [place_row(row, registry) for row in cleaned]
    check_shared_households(rows)
    plan = ImportPlan(header=header, rows=rows)
    if snapshot is not None:
        compare_snapshot(plan, actor, snapshot)
    return plan


@dataclass(frozen=True)
class CleanRow:
    """One row's values cleaned and checked on their own, before the registry is consulted."""

    number: int
    raw: list
    texts: dict  # column key → cell text
    student_fields: dict
    household_fields: dict
    errors: tuple


def clean_rows(table, header):
    """Clean and check every data row without the registry.

    The result depends only on the file and the column mapping, so it is kept with the table:
    applying right after a check in the same process (the import command) places the same
    cleaned rows in the registry again instead of cleaning them twice.
    """
    key = (header.row_index, tuple(sorted(header.mapping.items())))
    cached = table.derived.get("importer.clean_rows")
    if cached is not None and cached[0] == key:
        return cached[1]
    width = len(header.headers)
    cleaned, first_row_of_id = [], {}
    for raw_row in table.rows[header.row_index + 1:]:
        if is_total_row(raw_row):
            continue
        cells = raw_row.values + [None] * (width - len(raw_row.values))
        values = {column: cells[index] for index, column in header.mapping.items()}
        texts = {column: text_of(value) for column, value in values.items()}
        if any(texts.values()):
            cleaned.append(clean_row(raw_row, values, texts, first_row_of_id))
    table.derived["importer.clean_rows"] = (key, cleaned)
    return cleaned


def place_row(clean, registry):
    """A cleaned row checked against the registry: its school and township, then whether it
    is a new student, a known one (updated or unchanged), or an error."""
    planned = PlannedRow(
        number=clean.number,
        raw=clean.raw,
        errors=list(clean.errors),
        student_fields=dict(clean.student_fields),
        household_fields=dict(clean.household_fields),
    )
    school = check_school(planned, clean.texts.get("school", ""), registry)
    if school is not None:
        planned.student_fields["school"] = school
        if "stage" not in planned.student_fields and len(school.stages) == 1:
            planned.student_fields["stage"] = Stage(school.stages[0])
    township_text = clean.texts.get("township")
    if township_text:
        township = registry.township_for(township_text)
        if township is None:
            planned.error("township", _("Unknown township “%(value)s”.") % {"value": township_text})
        else:
            planned.household_fields["township"] = township
    elif school is not None:
        planned.household_fields["township"] = school.region
    planned.errors.sort(key=lambda error: COLUMN_ORDER[error.column])
    if not planned.errors:
        classify(planned, registry)
    if planned.errors:
        planned.action = "error"
    return planned


def check_shared_households(rows):
    """Rows that will share one new household (siblings: same registration number, or same
    township, village and head) must describe it the same way; otherwise one family's
    category or phone would silently replace the other's."""
    first_of = {}
    for row in rows:
        if row.errors or (row.student is not None and row.student.household is not None):
            continue
        key = household_key(row.household_fields)
        first = first_of.setdefault(key, row)
        if first is row:
            continue
        differing = [
            COLUMN_BY_KEY[name].header
            for name in sorted(set(row.household_fields) | set(first.household_fields))
            if name in COLUMN_BY_KEY and row.household_fields.get(name) != first.household_fields.get(name)
        ]
        if differing:
            row.error(
                "head_name",
                _("Row %(row)s has the same household, but its %(columns)s differ; make them agree or tell the households apart.")
                % {"row": first.number, "columns": "、".join(differing)},
            )
            row.action = "error"


def is_total_row(row):
    first = next((text_of(value) for value in row.values if text_of(value)), "")
    return first.startswith(TOTAL_ROW_WORDS)


def clean_row(raw_row, values, texts, first_row_of_id):
    """Clean and check one row's cells (and their texts, by column key) on their own."""
    planned = PlannedRow(number=raw_row.number, raw=raw_row.values)
    fields = {}
    fields["name"] = texts.get("name", "")
    if not fields["name"]:
        planned.error("name", _("The name is empty."))
    facts = check_id_number(planned, values.get("id_number"), texts.get("id_number", ""), first_row_of_id)
    if facts is not None:
        fields["id_number"], birth_date, gender = facts
        fields["birth_date"], fields["gender"] = birth_date, gender
        check_gender(planned, texts.get("gender", ""), gender)
    if texts.get("student_number"):
        fields["student_number"] = idnumber.normalize(texts["student_number"])
    check_stage_and_grade(planned, texts, fields)
    if texts.get("class_name"):
        fields["class_name"] = texts["class_name"]
    if texts.get("status"):
        status = STATUS_LOOKUP.get(texts["status"])
        if status is None:
            planned.error("status", _("Unknown enrolment status “%(value)s”.") % {"value": texts["status"]})
        else:
            fields["status"] = status
    if texts.get("note"):
        fields["note"] = str(values["note"]).strip()
    return CleanRow(
        number=raw_row.number,
        raw=raw_row.values,
        texts=texts,
        student_fields=fields,
        household_fields=check_household(planned, texts),
        errors=tuple(planned.errors),
    )


def check_id_number(planned, value, text, first_row_of_id):
    if text == "":
        planned.error("id_number", _("The ID number is empty."))
        return None
    if isinstance(value, float) or re.fullmatch(r"\d(\.\d+)?[eE]\+?\d+", text):
        planned.error(
            "id_number",
            _(
                "Excel stored this ID number as a number (%(shown)s), so its last digits are "
                "lost. Set the column's format to Text (文本) in Excel or WPS, type the numbers "
                "again (or start each with an apostrophe ') and import the file again."
            ) % {"shown": text},
        )
        return None
    number = idnumber.normalize(text)
    try:
        facts = idnumber.validate(number)
    except ValidationError as error:
        planned.error("id_number", error.messages[0])
        return None
    if number in first_row_of_id:
        planned.error(
            "id_number",
            _("The same ID number is already on row %(row)s of this file.") % {"row": first_row_of_id[number]},
        )
        return None
    first_row_of_id[number] = planned.number
    return number, facts.birth_date, facts.gender


def check_gender(planned, text, gender_from_id):
    if not text:
        return
    gender = GENDER_LOOKUP.get(text)
    if gender is None:
        planned.error("gender", _("Unknown gender “%(value)s”: write 男 or 女.") % {"value": text})
    elif gender != gender_from_id:
        planned.error(
            "gender",
            _("The gender (%(given)s) contradicts the ID number, which says %(derived)s.")
            % {"given": text, "derived": Gender(gender_from_id).label},
        )


def check_school(planned, text, registry):
    if not text:
        planned.error("school", _("The school is empty."))
        return None
    school, suggestions = registry.school_for(text)
    if school is None:
        if suggestions:
            planned.error(
                "school",
                _("No school in your scope is called “%(value)s”. Did you mean: %(suggestions)s?")
                % {"value": text, "suggestions": "、".join(suggestions)},
            )
        else:
            planned.error("school", _("No school in your scope is called “%(value)s”.") % {"value": text})
    return school


def check_stage_and_grade(planned, texts, fields):
    stage = None
    if texts.get("stage"):
        stage = STAGE_LOOKUP.get(texts["stage"])
        if stage is None:
            planned.error("stage", _("Unknown stage “%(value)s”.") % {"value": texts["stage"]})
            return
    grade = None
    if texts.get("grade"):
        grade, inferred_stage = grade_of(texts["grade"], stage)
        if grade is None:
            planned.error("grade", _("Unknown grade “%(value)s”.") % {"value": texts["grade"]})
            return
        if stage is not None and stage_of_grade(grade) != stage:
            planned.error(
                "grade",
                _("The grade “%(grade)s” does not belong to the stage “%(stage)s”.")
                % {"grade": texts["grade"], "stage": texts["stage"]},
            )
            return
        stage = inferred_stage
    if stage is not None:
        fields["stage"] = stage
    if grade is not None:
        fields["grade"] = grade


def check_household(planned, texts):
    """The household's fields but its township, which place_row finds in the registry."""
    household = {}
    for key in ("village", "head_name", "guardian_name"):
        if texts.get(key):
            household[key] = texts[key]
    if texts.get("registration_number"):
        household["registration_number"] = idnumber.normalize(texts["registration_number"])
    if texts.get("category"):
        category = CATEGORY_LOOKUP.get(texts["category"])
        if category is None:
            planned.error("category", _("Unknown household category “%(value)s”.") % {"value": texts["category"]})
        else:
            household["category"] = category
    if texts.get("poverty_cause"):
        cause = CAUSE_LOOKUP.get(texts["poverty_cause"])
        if cause is None:
            planned.error(
                "poverty_cause", _("Unknown cause of poverty “%(value)s”.") % {"value": texts["poverty_cause"]}
            )
        else:
            household["poverty_cause"] = cause
    if texts.get("guardian_phone"):
        phone = idnumber.normalize(texts["guardian_phone"]).replace("-", "")
        if not (phone.isdigit() and 7 <= len(phone) <= 12):
            planned.error("guardian_phone", _("“%(value)s” is not a phone number.") % {"value": texts["guardian_phone"]})
        else:
            household["guardian_phone"] = phone
    return household


STUDENT_FIELDS_COMPARED = ("name", "student_number", "school", "stage", "grade", "class_name", "status", "note")
HOUSEHOLD_FIELDS_COMPARED = (
    "registration_number", "head_name", "township", "village", "category",
    "poverty_cause", "guardian_name", "guardian_phone",
)


def classify(planned, registry):
    fields = planned.student_fields
    existing = registry.students_by_id_number.get(fields["id_number"])
    if existing is None:
        require_for_new(planned)
        planned.action = "new"
        return
    if existing.pk not in registry.visible_student_ids and existing.on_roster:
        planned.error(
            "id_number",
            _("This student is on the roster of %(school)s, outside your scope; ask the county bureau to transfer the record.")
            % {"school": existing.school.name},
        )
        return
    if existing.name != fields["name"]:
        planned.conflict = {"file": fields["name"], "registry": existing.name, "school": existing.school.name}
        planned.error(
            "id_number",
            _("This ID number belongs to %(registry)s (%(school)s) in the registry, but the file says %(file)s.")
            % planned.conflict,
        )
        return
    planned.student = existing
    planned.changes = changes_of(existing, fields, STUDENT_FIELDS_COMPARED, Student)
    if existing.household is not None:
        planned.changes += changes_of(
            existing.household, planned.household_fields, HOUSEHOLD_FIELDS_COMPARED, Household
        )
    elif planned.household_fields.get("head_name"):
        planned.changes.append((_("household"), "", planned.household_fields["head_name"]))
    if not existing.on_roster:
        planned.changes.append((_("roster"), _("Left the roster"), _("On the roster")))
    planned.action = "updated" if planned.changes else "unchanged"


def require_for_new(planned):
    """A new student needs what the registry cannot do without."""
    for key in ("stage", "grade"):
        if key not in planned.student_fields:
            planned.error(key, _("A new student needs a %(column)s.") % {"column": COLUMN_BY_KEY[key].header})
    household = planned.household_fields
    if not household.get("head_name"):
        household["head_name"] = household.get("guardian_name") or planned.student_fields["name"]
    if "category" not in household:
        planned.error("category", _("A new student needs the household category."))


def changes_of(instance, fields, names, model):
    changes = []
    for name in names:
        if name not in fields:
            continue
        old, new = getattr(instance, name), fields[name]
        if old != new:
            label = model._meta.get_field(name).verbose_name
            changes.append((label, display(model, name, old), display(model, name, new)))
    return changes


def display(model, name, value):
    model_field = model._meta.get_field(name)
    if model_field.choices:
        return dict(model_field.flatchoices).get(value, value)
    return "" if value is None else str(value)


def compare_snapshot(plan, actor, snapshot):
    """Students of the snapshot's scope who are missing from the file, and those who moved."""
    in_file = {
        row.student_fields.get("id_number") for row in plan.rows if row.student_fields.get("id_number")
    }
    scope = Student.objects.visible_to(actor).on_roster()
    if isinstance(snapshot, School):
        scope = scope.filter(school=snapshot)
    else:
        scope = scope.filter(school__region__code__startswith=snapshot.code)
    plan.absent_students = [
        student for student in scope.select_related("school") if student.id_number not in in_file
    ]
    moved = {_("school"), _("stage"), _("enrolment status")}
    plan.moved_students = [
        row for row in plan.rows
        if row.action == "updated" and any(str(label) in moved for label, _old, _new in row.changes)
    ]


# ---------------------------------------------------------------------------------------
# Check, apply, revert
# ---------------------------------------------------------------------------------------


def import_limits():
    return {
        "max_bytes": getattr(settings, "IMPORT_MAX_BYTES", 20 * 1024 * 1024),
        "max_rows": getattr(settings, "IMPORT_MAX_ROWS", 50_000),
        "max_inflated_bytes": getattr(settings, "IMPORT_MAX_INFLATED_BYTES", 200 * 1024 * 1024),
    }


def read_roster(content, file_name):
    return read_table(io.BytesIO(content), file_name, **import_limits())


@contextlib.contextmanager
def collector_paused():
    """Pause Python's cyclic garbage collector during a bulk step (as a decorator).

    Checking or applying a file builds hundreds of thousands of small objects (cells, rows,
    model instances) that live until the step ends. The collector would walk all of them
    again and again as they pile up, about a fifth of an import's time. Reference counting
    still frees everything else at once, and the collector runs again afterwards.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def rows_of(roster_import):
    """The rows of a checked import's file: those parsed in this process (the import
    command), else those kept at the check, else (imports checked before the rows were
    kept) the stored file parsed again. Kept on the instance for the next step."""
    table = getattr(roster_import, "parsed_table", None)
    if table is None:
        if roster_import.rows_read:
            table = table_from_json(roster_import.rows_read)
        else:
            table = read_roster(bytes(roster_import.content), roster_import.file_name)
        roster_import.parsed_table = table
    return table


@collector_paused()
def plan_for(roster_import, actor):
    """Check the import's rows again: the registry may have changed since."""
    table = rows_of(roster_import)
    snapshot = None
    if roster_import.is_snapshot:
        snapshot = roster_import.snapshot_school or roster_import.snapshot_region
    return plan_import(
        table,
        actor=actor,
        mapping_override=roster_import.column_mapping or None,
        snapshot=snapshot,
    )


@collector_paused()
def roster_import_check(*, actor, file, file_name, is_snapshot=False, snapshot_school=None,
                        snapshot_region=None, column_mapping=None):
    """Read and check an uploaded file; record it as a checked import. Nothing else is written.

    Raises SpreadsheetRefused when the file itself cannot be read.
    Returns (RosterImport, ImportPlan).
    """
    if not actor.may_import_roster:
        raise PermissionDenied
    limits = import_limits()
    content = file.read(limits["max_bytes"] + 1)
    table = read_table(io.BytesIO(content), file_name, **limits)
    snapshot = None
    if is_snapshot:
        snapshot = snapshot_school or snapshot_region
        if snapshot is None:
            raise ValidationError(_("Choose the school or region that the full snapshot covers."))
    plan = plan_import(table, actor=actor, mapping_override=column_mapping, snapshot=snapshot)
    roster_import = RosterImport(
        uploaded_by=actor,
        file_name=file_name[:255],
        checksum=hashlib.sha256(content).hexdigest(),
        content=content,
        rows_read=table_to_json(table),
        column_mapping={str(index): key for index, key in plan.header.mapping.items()},
        is_snapshot=is_snapshot,
        snapshot_school=snapshot_school if is_snapshot else None,
        snapshot_region=snapshot_region if is_snapshot and snapshot_school is None else None,
    )
    store_counts(roster_import, plan)
    roster_import.save()
    roster_import.parsed_table = table
    return roster_import, plan


@collector_paused()
def roster_import_remap(*, actor, roster_import, column_mapping):
    """Check the same file again with the user's corrections to the column mapping."""
    roster_import = RosterImport.objects.visible_to(actor).without_files().get(pk=roster_import.pk)
    RosterImport.MOVES.check(roster_import.state, RosterImport.State.CHECKED)
    roster_import.column_mapping = {str(index): key for index, key in column_mapping.items() if key}
    plan = plan_for(roster_import, actor)
    store_counts(roster_import, plan)
    roster_import.save(update_fields=[*COUNT_FIELDS, "column_mapping"])
    return plan


COUNT_FIELDS = ["created_count", "updated_count", "unchanged_count", "error_count"]


def store_counts(roster_import, plan):
    counts = plan.counts
    roster_import.created_count = counts["new"]
    roster_import.updated_count = counts["updated"]
    roster_import.unchanged_count = counts["unchanged"]
    roster_import.error_count = counts["error"] + len(plan.header.missing_required)


@collector_paused()
@transaction.atomic
def roster_import_apply(*, actor, roster_import):
    """Write every row of a checked import, or nothing: the file is checked again first.

    Raises ImportHasErrors (nothing written) when any row has an error.
    """
    parsed_table = getattr(roster_import, "parsed_table", None)
    roster_import = (
        RosterImport.objects.visible_to(actor).without_files().select_for_update(of=("self",)).get(pk=roster_import.pk)
    )
    RosterImport.MOVES.check(roster_import.state, RosterImport.State.APPLIED)
    roster_import.parsed_table = parsed_table
    plan = plan_for(roster_import, actor)
    store_counts(roster_import, plan)
    if plan.has_errors:
        roster_import.save(update_fields=COUNT_FIELDS)
        raise ImportHasErrors(plan)
    now = timezone.now()
    rows = plan.rows_with("new") + plan.rows_with("updated")
    write_households(rows, actor, roster_import.history_reason, now)
    write_students(rows, actor, roster_import.history_reason, now)
    hooks.status_changed([row.student for row in rows], actor)
    bulk_writes.create_from_values(ImportedChange, [change_record(roster_import, row) for row in rows])
    bulk_writes.create(
        [SnapshotAbsence(roster_import=roster_import, student=s) for s in plan.absent_students]
    )
    roster_import.state = RosterImport.State.APPLIED
    roster_import.applied_at = now
    roster_import.save(update_fields=[*COUNT_FIELDS, "state", "applied_at"])
    return plan


def write_households(rows, actor, reason, now):
    """Update the households of known students; create the new ones (siblings share one)."""
    registered = {
        household.registration_number: household
        for household in Household.objects.filter(
            registration_number__in={
                row.household_fields["registration_number"]
                for row in rows if row.household_fields.get("registration_number")
            }
        )
    }
    new_households, changed = {}, {}
    for row in rows:
        fields = row.household_fields
        existing = row.student.household if row.student is not None else None
        existing = existing or registered.get(fields.get("registration_number"))
        if existing is not None:
            if any(getattr(existing, key) != value for key, value in fields.items()):
                row.household_before = snapshot_of(existing, HOUSEHOLD_FIELDS_COMPARED)
                for key, value in fields.items():
                    setattr(existing, key, value)
                changed[existing.pk] = existing
            row.household = existing
            continue
        key = household_key(fields)
        if key not in new_households:
            new_households[key] = Household(**fields)
        row.household = new_households[key]
        row.household_created = True
    bulk_writes.create_with_history(list(new_households.values()), user=actor, reason=reason, date=now)
    bulk_writes.update_with_history(
        list(changed.values()), HOUSEHOLD_FIELDS_COMPARED, user=actor, reason=reason, date=now
    )


def household_key(fields):
    if fields.get("registration_number"):
        return ("number", fields["registration_number"])
    township = fields.get("township")
    return ("name", township.pk if township else None, fields.get("village", ""), fields.get("head_name", ""))


STUDENT_FIELDS_WRITTEN = STUDENT_FIELDS_COMPARED + (
    "id_number", "birth_date", "gender", "household",
    "left_roster_on", "left_roster_reason", "left_roster_note", "updated_at",
)


def write_students(rows, actor, reason, now):
    created, updated = [], []
    for row in rows:
        if row.action == "new":
            row.student = Student(**{"status": Status.ENROLLED, **row.student_fields}, household=row.household)
            created.append(row.student)
            continue
        student = row.student
        row.student_before = snapshot_of(student, STUDENT_FIELDS_WRITTEN)
        for key, value in row.student_fields.items():
            setattr(student, key, value)
        student.household = row.household
        student.left_roster_on = None
        student.left_roster_reason = ""
        student.left_roster_note = ""
        student.updated_at = now
        updated.append(student)
    bulk_writes.create_with_history(created, user=actor, reason=reason, date=now)
    bulk_writes.update_with_history(updated, STUDENT_FIELDS_WRITTEN, user=actor, reason=reason, date=now)


def change_record(roster_import, row):
    """The ImportedChange of one applied row, as the column values bulk_writes takes."""
    return {
        "roster_import_id": roster_import.pk,
        "student_id": row.student.pk,
        "household_id": row.household.pk,
        "household_created": row.household_created,
        "action": ImportedChange.Action.CREATED if row.action == "new" else ImportedChange.Action.UPDATED,
        "row_number": row.number,
        "student_before": row.student_before,
        "household_before": row.household_before,
    }


def snapshot_of(instance, names):
    """Field values as JSON-safe data, keyed by column name, to restore on revert."""
    values = {}
    for name in names:
        model_field = instance._meta.get_field(name)
        value = getattr(instance, model_field.attname)
        if isinstance(value, (datetime.date, datetime.datetime)):
            value = value.isoformat()
        values[model_field.attname] = value
    return values


def restore(instance, values):
    for attname, value in values.items():
        model_field = next(f for f in instance._meta.concrete_fields if f.attname == attname)
        setattr(instance, attname, model_field.to_python(value) if value is not None else None)


def revert_blockers(roster_import):
    """Students or households changed by someone else after the import was applied."""
    reason = roster_import.history_reason
    changes = list(roster_import.changes.all())
    student_ids = [c.student_id for c in changes if c.student_id]
    household_ids = [c.household_id for c in changes if c.household_id]
    later = {"history_date__gt": roster_import.applied_at}
    touched_students = set(
        Student.history.filter(id__in=student_ids, **later)
        .exclude(history_change_reason=reason)
        .values_list("id", flat=True)
    )
    touched_households = set(
        Household.history.filter(id__in=household_ids, **later)
        .exclude(history_change_reason=reason)
        .values_list("id", flat=True)
    )
    return touched_students, touched_households


@transaction.atomic
def roster_import_revert(*, actor, roster_import):
    """Undo an applied import as a whole, while nothing later has touched its rows.

    Students it created are removed (the history keeps them), students it updated get their
    earlier values back, and households it created go when no student is left in them.
    """
    roster_import = (
        RosterImport.objects.visible_to(actor).without_files().select_for_update(of=("self",)).get(pk=roster_import.pk)
    )
    RosterImport.MOVES.check(roster_import.state, RosterImport.State.REVERTED)
    touched_students, touched_households = revert_blockers(roster_import)
    if touched_students or touched_households:
        raise ValidationError(
            _("%(count)s of its students or households were changed after the import; it can no longer be reverted.")
            % {"count": len(touched_students) + len(touched_households)}
        )
    reason = _("Revert of roster import %(id)s") % {"id": roster_import.pk}
    changes = list(roster_import.changes.select_related("student", "household"))
    restored = []
    for change in changes:
        if change.action == ImportedChange.Action.UPDATED and change.student is not None:
            restore(change.student, change.student_before)
            restored.append(change.student)
    bulk_writes.update_with_history(restored, STUDENT_FIELDS_WRITTEN, user=actor, reason=reason)
    restored_households = {}
    for change in changes:
        if change.household_before and change.household is not None:
            restore(change.household, change.household_before)
            restored_households[change.household.pk] = change.household
    bulk_writes.update_with_history(
        list(restored_households.values()), HOUSEHOLD_FIELDS_COMPARED, user=actor, reason=reason
    )
    created_ids = [c.student_id for c in changes if c.action == ImportedChange.Action.CREATED and c.student_id]
    for student in Student.objects.filter(pk__in=created_ids):
        student._history_user = actor
        student._change_reason = reason
        student.delete()
    created_households = {c.household_id for c in changes if c.household_created and c.household_id}
    for household in Household.objects.filter(pk__in=created_households, students__isnull=True):
        household._history_user = actor
        household._change_reason = reason
        household.delete()
    roster_import.absences.all().delete()
    roster_import.state = RosterImport.State.REVERTED
    roster_import.reverted_at = timezone.now()
    roster_import.reverted_by = actor
    roster_import.save()


@transaction.atomic
def snapshot_absence_check(*, actor, absence, note):
    """A person checked a student missing from a snapshot and says what they found."""
    if not Student.objects.visible_to(actor).filter(pk=absence.student_id).exists():
        raise PermissionDenied
    absence.checked_at = timezone.now()
    absence.checked_by = actor
    absence.note = note
    absence.save(update_fields=["checked_at", "checked_by", "note"])
    return absence
