"""Shares as a bureau reports them upward: a percentage with one decimal, ties rounded up.

Python's round() on a float sends a tie to the even digit (81.25 → 81.2) while a clerk,
Excel and the page's floatformat round it up (81.3). Every share the app shows or exports
comes from `percent`, so the page, the exports and the charts print the same figure.
"""
from decimal import ROUND_HALF_UP, Decimal

ONE_DECIMAL = Decimal("0.1")


def percent(part, whole):
    """`part` of `whole` in percent as a Decimal with one decimal, rounded half up; None when
    there is nothing to divide (whole is 0)."""
    if not whole:
        return None
    return (Decimal(100 * part) / Decimal(whole)).quantize(ONE_DECIMAL, rounding=ROUND_HALF_UP)
