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
