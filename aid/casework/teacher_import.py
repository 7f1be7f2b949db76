"""Teacher accounts from a simple spreadsheet (姓名, 手机号, 学校, 学科).

Plain functions shared by the import page and anything else that imports teachers:

    teacher_import_check(actor=…, file=…, file_name=…)   read and validate; nothing written
    teacher_import_apply(actor=…, file=…, file_name=…)   check again, then create every new
                                                         account or none, in one transaction

The rules are the roster importer's: `common.spreadsheets.read_table` reads the file
(formats, encodings, limits), the header may sit below a title, schools are matched
exactly or uniquely within the user's scope, and errors name the row as the user sees it
and the column. The mobile phone number is the login: a row whose number is already the
login of the same teacher at the same school is unchanged; any other account with that
number is an error. New accounts have no usable password until the school administrator
sets one (teacher list, "Set password"); the teacher then chooses their own at the first login.
"""
import difflib
import re
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from aid.casework import services
from common.spreadsheets import SpreadsheetRefused, read_table
from students.choices import Role
from students.importer.cleaning import is_total_row, text_of
from students.importer.header import FULL_WIDTH, HEADER_SEARCH_ROWS, Column, normalize_header
from students.importer.placing import school_key
from students.importer.plan import ImportHasErrors, RowError, RowPlan
from students.models import School

User = get_user_model()

__all__ = [
    "COLUMNS",
    "ImportHasErrors",
    "SpreadsheetRefused",
    "TeacherImportPlan",
    "teacher_import_apply",
    "teacher_import_check",
]

# A teacher list is small; the limit also keeps the checked file small enough to be sent
# back with the "apply" form.
MAX_BYTES = 1024 * 1024
MAX_ROWS = 5000

COLUMNS = (
    Column("name", "姓名", ("教师姓名",), required=True),
    Column("phone", "手机号", ("手机号码", "联系电话", "联系方式"), required=True),
    Column("school", "学校", ("学校名称",), required=True),
    Column("subject", "学科", ("任教学科", "职务")),
)
HEADER_OF = {column.key: column.header for column in COLUMNS}
HEADER_LOOKUP = {
    normalize_header(name): column.key for column in COLUMNS for name in (column.header, *column.aliases)
}
NAME_MAX_LENGTH = User._meta.get_field("full_name").max_length
SUBJECT_MAX_LENGTH = User._meta.get_field("subject").max_length
MOBILE = re.compile(r"1\d{10}")


@dataclass
class TeacherRow:
    number: int  # as the user sees it
    name: str = ""
    phone: str = ""
    school: School | None = None
    subject: str = ""
    action: str = ""  # "new", "unchanged" or "error"
    errors: list = field(default_factory=list)

    def error(self, key, message):
        self.errors.append(RowError(self.number, HEADER_OF[key], message))


@dataclass
class TeacherImportPlan(RowPlan):
    file_name: str
    header_row: int  # as the user sees it
    missing_columns: list  # required headers not found
    rows: list

    ACTIONS = ("new", "unchanged", "error")

    @property
    def has_errors(self):
        return bool(self.missing_columns) or any(row.errors for row in self.rows)


def teacher_import_check(*, actor, file, file_name):
    """Read the file and decide what each row would do. Writes nothing.

    Raises SpreadsheetRefused when the file cannot be read or has no header row.
    """
    if not services.may_pair(actor):
        raise PermissionDenied
    table = read_table(file, file_name, max_bytes=MAX_BYTES, max_rows=MAX_ROWS)
    return plan_teacher_import(table, actor=actor, file_name=file_name)


@transaction.atomic
def teacher_import_apply(*, actor, file, file_name):
    """Check the file again and create every new teacher, or nothing at all.

    Raises ImportHasErrors (with the plan) when a row has an error, and ValidationError when
    an account appeared meanwhile.
    """
    plan = teacher_import_check(actor=actor, file=file, file_name=file_name)
    if plan.has_errors:
        raise ImportHasErrors(plan)
    for row in plan.rows_with("new"):
        services.teacher_create(
            actor=actor, full_name=row.name, phone=row.phone, school=row.school, subject=row.subject
        )
    return plan


def plan_teacher_import(table, *, actor, file_name):
    schools = list(School.objects.visible_to(actor).order_by("name"))
    header_index, mapping = find_header(table)
    found = set(mapping.values())
    missing = [
        column.header
        for column in COLUMNS
        if column.required and column.key not in found
        and not (column.key == "school" and len(schools) == 1)
    ]
    rows = []
    for raw_row in table.rows[header_index + 1:]:
        values = {
            key: text_of(raw_row.values[index]) if index < len(raw_row.values) else ""
            for index, key in mapping.items()
        }
        if is_total_row(raw_row) or not any(values.values()):
            continue
        rows.append(TeacherRow(number=raw_row.number))
        clean_row(rows[-1], values, schools)
    check_phones(rows, schools)
    for row in rows:
        row.action = "error" if row.errors else row.action or "new"
    return TeacherImportPlan(
        file_name=file_name,
        header_row=table.rows[header_index].number,
        missing_columns=missing,
        rows=rows,
    )


def find_header(table):
    """The header is the row among the first ones that names the most known columns."""
    best = None
    for index, row in enumerate(table.rows[:HEADER_SEARCH_ROWS]):
        keys = {HEADER_LOOKUP.get(normalize_header(value)) for value in row.values} - {None}
        if len(keys) >= 2 and (best is None or len(keys) > best[0]):
            best = (len(keys), index)
    if best is None:
        raise SpreadsheetRefused(
            _("No header row was found: the file needs columns such as 姓名, 手机号 and 学校.")
        )
    mapping = {}
    for index, value in enumerate(table.rows[best[1]].values):
        key = HEADER_LOOKUP.get(normalize_header(value))
        if key and key not in mapping.values():
            mapping[index] = key
    return best[1], mapping


def clean_row(row, values, schools):
    row.name = values.get("name", "")
    if not row.name:
        row.error("name", _("The name is empty."))
    elif len(row.name) > NAME_MAX_LENGTH:
        row.error("name", _("The name is longer than %(limit)s characters.") % {"limit": NAME_MAX_LENGTH})
    phone = values.get("phone", "").translate(FULL_WIDTH).replace("-", "")
    if not phone:
        row.error("phone", _("The mobile phone number is empty."))
    elif not MOBILE.fullmatch(phone):
        row.error(
            "phone",
            _("“%(value)s” is not a mobile phone number: 11 digits starting with 1.") % {"value": phone},
        )
    else:
        row.phone = phone
    row.school = school_of(row, values.get("school", ""), schools)
    row.subject = values.get("subject", "")
    if len(row.subject) > SUBJECT_MAX_LENGTH:
        row.error(
            "subject", _("The subject is longer than %(limit)s characters.") % {"limit": SUBJECT_MAX_LENGTH}
        )


def school_of(row, text, schools):
    """Exact name, or the one school whose name contains (or is contained in) the text.

    A school administrator's file may leave the school out: it is their school.
    """
    if not text:
        if len(schools) == 1:
            return schools[0]
        row.error("school", _("The school is empty."))
        return None
    key = school_key(text)
    exact = [school for school in schools if school_key(school.name) == key]
    if len(exact) == 1:
        return exact[0]
    candidates = [
        school for school in schools if key in school_key(school.name) or school_key(school.name) in key
    ]
    if len(candidates) == 1:
        return candidates[0]
    suggestions = [school.name for school in candidates][:3] or difflib.get_close_matches(
        text, [school.name for school in schools], n=3, cutoff=0.4
    )
    if suggestions:
        row.error(
            "school",
            _("No school in your scope is called “%(value)s”. Did you mean: %(suggestions)s?")
            % {"value": text, "suggestions": "、".join(suggestions)},
        )
    else:
        row.error("school", _("No school in your scope is called “%(value)s”.") % {"value": text})
    return None


def check_phones(rows, schools):
    """A number appears once in the file; an existing account with it must be this teacher."""
    first_row_of_phone = {}
    for row in rows:
        if not row.phone:
            continue
        if row.phone in first_row_of_phone:
            row.error(
                "phone",
                _("The same mobile phone number is already on row %(row)s of this file.")
                % {"row": first_row_of_phone[row.phone]},
            )
        else:
            first_row_of_phone[row.phone] = row.number
    accounts = {}
    phones = list(first_row_of_phone)
    for account in User.objects.filter(Q(username__in=phones) | Q(phone__in=phones)).select_related("school"):
        for phone in {account.username, account.phone} & first_row_of_phone.keys():
            accounts.setdefault(phone, []).append(account)
    visible_school_ids = {school.pk for school in schools}
    for row in rows:
        if row.errors or row.phone not in accounts:
            continue
        same = [account for account in accounts[row.phone] if is_same_teacher(account, row)]
        if same:
            row.action = "unchanged"
            continue
        other = accounts[row.phone][0]
        if other.school_id in visible_school_ids:
            row.error(
                "phone",
                _("This number is already the login of %(name)s (%(school)s).")
                % {"name": other, "school": other.school},
            )
        else:
            row.error("phone", _("This number is already the login of another account."))


def is_same_teacher(account, row):
    return (
        account.role == Role.TEACHER
        and account.is_active
        and account.full_name == row.name
        and account.school_id == (row.school.pk if row.school else None)
    )
