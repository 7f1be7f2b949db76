"""Resident ID numbers (公民身份号码, GB 11643-1999).

An ID number is 17 digits and a check character. Digits 7-14 are the birth date, digit 17
is odd for men and even for women, and the check character is computed from the first 17
digits with the ISO 7064 MOD 11-2 weights.
"""
import datetime
import functools
import operator
from typing import NamedTuple

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARACTERS = "10X98765432"
FULL_WIDTH_TO_ASCII = str.maketrans(
    "０１２３４５６７８９ＸｘＬｌ",
    "0123456789XxLl",
)


class IdNumberFacts(NamedTuple):  # a tuple: a roster checks 10,000 numbers at once
    birth_date: datetime.date
    gender: str  # "M" or "F", as students.models.Gender


def normalize(raw):
    """Return the ID number as it is stored: ASCII digits, upper-case X, no spaces."""
    if raw is None:
        return ""
    text = str(raw).translate(FULL_WIDTH_TO_ASCII)
    text = "".join(text.split()).replace("\u3000", "")
    return text.upper()


def check_character(first_17_digits):
    total = sum(map(operator.mul, map(int, first_17_digits), WEIGHTS))
    return CHECK_CHARACTERS[total % 11]


@functools.lru_cache(maxsize=65536)
def birth_date_of(digits):
    """The date of characters 7 to 14 (YYYYMMDD), or None; many students share one."""
    try:
        return datetime.date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))
    except ValueError:
        return None


def validate(raw, today=None):
    """Check an ID number and return what it says about its holder.

    Raises ValidationError naming the first check that failed.
    """
    number = normalize(raw)
    if len(number) != 18:
        raise ValidationError(
            _("An ID number has 18 characters; this one has %(count)d."),
            code="length",
            params={"count": len(number)},
        )
    if not number[:17].isdigit() or not (number[17].isdigit() or number[17] == "X"):
        raise ValidationError(
            _("An ID number is 17 digits followed by a digit or X."), code="characters"
        )
    birth_date = birth_date_of(number[6:14])
    if birth_date is None:
        raise ValidationError(
            _("Characters 7 to 14 (%(date)s) are not a valid birth date."),
            code="birth_date",
            params={"date": number[6:14]},
        )
    today = today or timezone.localdate()
    if birth_date > today or birth_date.year < 1900:
        raise ValidationError(
            _("The birth date %(date)s in the ID number is impossible."),
            code="birth_date",
            params={"date": birth_date.isoformat()},
        )
    expected = check_character(number[:17])
    if number[17] != expected:
        raise ValidationError(
            _("The check character is wrong: the last character should be %(expected)s."),
            code="check_digit",
            params={"expected": expected},
        )
    gender = "M" if int(number[16]) % 2 else "F"
    return IdNumberFacts(birth_date, gender)


def make(region_code, birth_date, sequence):
    """Build a valid ID number (demo data and tests): sequence is 0-999, odd for men."""
    body = f"{region_code[:6]}{birth_date:%Y%m%d}{sequence:03d}"
    return body + check_character(body)
