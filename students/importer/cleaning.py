"""Clean each row on its own: synonyms of the coded columns, ID numbers, genders, stages
and grades, households."""
import datetime
import re
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _


from students import idnumber
from students.choices import (
    Gender,
    HouseholdCategory,
    PovertyCause,
    Stage,
    Status,
    stage_of_grade,
)

from .header import FULL_WIDTH, TOTAL_ROW_WORDS
from .plan import PlannedRow


STAGE_WORDS = {
    Stage.PRESCHOOL: ("学前", "学前教育", "幼儿园", "幼儿", "学前班", "幼教"),
    Stage.PRIMARY: ("小学", "小学阶段", "义务教育小学"),
    Stage.JUNIOR: ("初中", "初级中学", "初中阶段", "义务教育初中"),
    Stage.SENIOR: ("高中", "普通高中", "高级中学", "高中阶段"),
    Stage.VOCATIONAL: ("中职", "中等职业学校", "中等职业教育", "中专", "职高", "技工学校", "职业高中"),
    Stage.HIGHER: ("高校", "大学", "本科", "专科", "高职", "高等教育", "研究生"),
}

STAGE_LOOKUP = {word: stage for stage, words in STAGE_WORDS.items() for word in words}

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
    today = timezone.localdate()  # once: a row's check would look up the time zone again
    for raw_row in table.rows[header.row_index + 1:]:
        if is_total_row(raw_row):
            continue
        cells = raw_row.values + [None] * (width - len(raw_row.values))
        values = {column: cells[index] for index, column in header.mapping.items()}
        texts = {column: text_of(value) for column, value in values.items()}
        if any(texts.values()):
            cleaned.append(clean_row(raw_row, values, texts, first_row_of_id, today))
    table.derived["importer.clean_rows"] = (key, cleaned)
    return cleaned


def is_total_row(row):
    first = next((text_of(value) for value in row.values if text_of(value)), "")
    return first.startswith(TOTAL_ROW_WORDS)


def clean_row(raw_row, values, texts, first_row_of_id, today):
    """Clean and check one row's cells (and their texts, by column key) on their own; an ID
    number's birth date must not be after `today`."""
    planned = PlannedRow(number=raw_row.number, raw=raw_row.values)
    fields = {}
    fields["name"] = texts.get("name", "")
    if not fields["name"]:
        planned.error("name", _("The name is empty."))
    facts = check_id_number(planned, values.get("id_number"), texts.get("id_number", ""), first_row_of_id, today)
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


# An ID number that Excel stored as a number and shows in scientific notation (3.71324E+17).
SCIENTIFIC_NOTATION = re.compile(r"\d(\.\d+)?[eE]\+?\d+")


def check_id_number(planned, value, text, first_row_of_id, today):
    if text == "":
        planned.error("id_number", _("The ID number is empty."))
        return None
    if isinstance(value, float) or (("E" in text or "e" in text) and SCIENTIFIC_NOTATION.fullmatch(text)):
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
        facts = idnumber.validate(number, today)
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
