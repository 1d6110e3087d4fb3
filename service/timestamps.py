"""Dates and times a client sends: aware, and inside the years Tutor can compute with.

Python's dates end at years 1 and 9999, so a moment near either end cannot be shifted
to UTC (0001-01-01T00:30+14:00 is in the year 0) or to the learner's day (which starts
hours after midnight), and a day at either end has no day after it (SM-2, day bounds).
Nothing Tutor stores is older than the Unix epoch, nor anywhere near the year 9999, so
anything outside a generous range is a mistake or a probe: refused here, as a 422 that
says so, rather than overflowing later as a 500.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime

FIRST_YEAR = 1970
LAST_YEAR = 8999
# Comparing aware datetimes never shifts them, so it cannot overflow as converting can.
_EARLIEST = datetime(FIRST_YEAR, 1, 1, tzinfo=UTC)
_END = datetime(LAST_YEAR + 1, 1, 1, tzinfo=UTC)
_RANGE = f"in the years {FIRST_YEAR} to {LAST_YEAR}"


def check_moment(value: datetime) -> datetime:
    """`value` unchanged if it is aware and within range; else ValueError saying why."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("must have a UTC offset, like 2026-03-10T09:30:00+01:00")
    if not _EARLIEST <= value < _END:
        raise ValueError(f"must be {_RANGE} (UTC)")
    return value


def check_day(value: date) -> date:
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise ValueError(f"must be {_RANGE}")
    return value


Moment = Annotated[AwareDatetime, AfterValidator(check_moment)]
Day = Annotated[date, AfterValidator(check_day)]
