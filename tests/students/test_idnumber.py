"""ID numbers: GB 11643 check character, birth date, normalisation and masking."""
import datetime

import pytest
from django.core.exceptions import ValidationError

from common.masking import mask_id_number, mask_phone
from students import idnumber

# Check characters worked out by hand with the weights 7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2:
# 11010519491231002 → sum 167 → 167 % 11 = 2 → "X"  (the standard's own example)
STANDARD_EXAMPLE = "11010519491231002X"
# 44052418800101001 → sum 195 → 195 % 11 = 8 → "4"
SECOND_EXAMPLE = "440524188001010014"


def test_standard_example_is_valid_and_says_female_born_1949():
    facts = idnumber.validate(STANDARD_EXAMPLE)
    assert facts.birth_date == datetime.date(1949, 12, 31)
    assert facts.gender == "F"


def test_check_character_matches_hand_computation():
    assert idnumber.check_character("11010519491231002") == "X"
    assert idnumber.check_character("44052418800101001") == "4"


@pytest.mark.parametrize(
    "raw",
    ["11010519491231002x", " 110105 19491231002X ", "１１０１０５１９４９１２３１００２ｘ"],
)
def test_lowercase_spaces_and_full_width_are_normalised(raw):
    assert idnumber.normalize(raw) == STANDARD_EXAMPLE
    idnumber.validate(raw)


@pytest.mark.parametrize(
    "raw, code",
    [
        ("11010519491231002", "length"),
        ("11010519491231002X1", "length"),
        ("1101051949123100AX", "characters"),
        ("110105194902300021", "birth_date"),  # 30 February
        ("110105203001010021", "birth_date"),  # in the future
        ("110105194912310021", "check_digit"),
    ],
)
def test_invalid_numbers_name_the_failed_check(raw, code):
    with pytest.raises(ValidationError) as error:
        idnumber.validate(raw)
    assert error.value.code == code


def test_wrong_check_character_message_gives_the_expected_one():
    with pytest.raises(ValidationError) as error:
        idnumber.validate("110105194912310021")
    assert "X" in error.value.messages[0]


def test_make_builds_valid_numbers_with_gender_from_sequence():
    male = idnumber.make("371324", datetime.date(2010, 3, 4), 123)
    female = idnumber.make("371324", datetime.date(2010, 3, 4), 124)
    assert idnumber.validate(male).gender == "M"
    assert idnumber.validate(female).gender == "F"
    assert male.startswith("37132420100304123")


def test_masking_keeps_region_and_last_four():
    assert mask_id_number("37132420100304123X") == "371324********123X"
    assert mask_phone("13812345678") == "138****5678"
    assert mask_id_number("") == ""
