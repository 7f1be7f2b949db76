"""Masking of personal numbers for roles that may not see them in full."""


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


def id_number_for(user, number):
    """The ID number as this user may see it."""
    return number if user.sees_full_id_numbers else mask_id_number(number)


def phone_for(user, phone):
    """The phone number as this user may see it."""
    return phone if user.sees_full_phones else mask_phone(phone)
