"""Masking of personal numbers for roles that may not see them in full.

A masked ID number hides exactly the birth date (371324********123X), so whatever else a
masked role is shown must not give those digits back: the birth date is shown as the birth
year only, and the student number (学籍号, usually "G" and the full ID number) is masked
the same way as the ID number. With the year and the check digit, about thirty dates stay
possible for every student; none can be told apart.
"""


def mask_id_number(number):
    """371324********123X: the region and the last four stay readable."""
    if not number:
        return ""
    if len(number) <= 10:
        return "*" * len(number)
    return number[:6] + "*" * (len(number) - 10) + number[-4:]


def mask_phone(phone):
    """138****5678: the network prefix and the last four stay readable."""
    if not phone:
        return ""
    if len(phone) < 8:
        return "*" * len(phone)
    return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]


# The characters of an ID number a masked role is given at its end (and may search by).
VISIBLE_ID_ENDING = 4


def id_number_for(user, number):
    """The ID number as this user may see it."""
    return number if user.sees_full_id_numbers else mask_id_number(number)


def student_number_for(user, number):
    """The student number as this user may see it: masked like the ID number it contains."""
    return number if user.sees_full_id_numbers else mask_id_number(number)


def birth_date_for(user, date):
    """The birth date as this user may see it: the date, or only its year (an int)."""
    if date is None or user.sees_full_id_numbers:
        return date
    return date.year


def phone_for(user, phone):
    """The phone number as this user may see it."""
    return phone if user.sees_full_phones else mask_phone(phone)
