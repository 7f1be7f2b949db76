"""Dates for test data, counted from the day the test runs on (see the clock in conftest).

The calendar here is written out on its own, apart from the demo builder's, so tests that
compare the two compare independent answers: autumn terms run from 1 September to
20 January, spring terms from 20 February to 10 July.
"""
import datetime
from dataclasses import dataclass

from django.utils import timezone


@dataclass(frozen=True)
class TermDates:
    name: str
    starts_on: datetime.date
    ends_on: datetime.date

    def previous(self):
        return term_dates(self.starts_on - datetime.timedelta(days=1))


def _autumn(year):
    return TermDates(f"{year} 秋季学期", datetime.date(year, 9, 1), datetime.date(year + 1, 1, 20))


def _spring(year):
    return TermDates(f"{year} 春季学期", datetime.date(year, 2, 20), datetime.date(year, 7, 10))


def term_dates(day=None):
    """The latest term that has started by `day` (today): the current one, or in a
    holiday the one just over."""
    day = day or timezone.localdate()
    if day >= datetime.date(day.year, 9, 1):
        return _autumn(day.year)
    if day >= datetime.date(day.year, 2, 20):
        return _spring(day.year)
    return _autumn(day.year - 1)


def a_day_this_term(days_back=10):
    """A day of the current term that is not in the future: `days_back` before today (or
    before the term's last day in a holiday), but never before the term began."""
    term = term_dates()
    latest = min(timezone.localdate(), term.ends_on)
    return max(term.starts_on, latest - datetime.timedelta(days=days_back))
