"""Find the header row under a sheet's titles and map its columns to the registry's fields."""
import re
from dataclasses import dataclass

from django.utils.translation import gettext as _

from common.spreadsheets import (
    RawTable,
    SpreadsheetRefused,
)




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
