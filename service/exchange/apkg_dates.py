"""Anki's times as dates: the collection's day numbers and Unix times, in UTC.

A review card's `due` is a day number counted from the collection's creation time
`crt`: day N starts at the rollover hour (4 am by default) of the calendar date of `crt`
plus N days, in the time zone the collection was created in (`creationOffset`, minutes
west of UTC). The rollover hour moves when a day starts, not which date it is, so it
does not enter the conversion. Without `creationOffset` (collections that never used
Anki's newer time zone handling), the offset is inferred from `crt`, which Anki sets to
4 am local time. Learning cards' `due` is a Unix time in seconds; new cards' is their
place in the new-card queue.

The numbers come from an upload: one that no date can hold gives None, not an error.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

__all__ = ["calendar_day_zero", "due_dates", "timestamp"]

_ANKI_CREATION_HOUR = 4  # Anki sets a new collection's crt to 4 am local time
_LEARNING_QUEUES = (1, 4)  # due is a Unix time
_DAY_QUEUES = (2, 3)  # due is a day number
_NEW, _REVIEW = 0, 2
_MAX_DAY_NUMBER = 365_000  # Anki's own line between day numbers and Unix times


def timestamp(seconds: float) -> datetime | None:
    """A Unix time in UTC; None when out of range."""
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def calendar_day_zero(crt: int, minutes_west: int | None) -> date | None:
    """The calendar date of day 0, which Anki's day numbers count from."""
    created = timestamp(crt)
    if created is None:
        return None
    if minutes_west is not None:
        bounded = max(-23 * 60, min(23 * 60, minutes_west))  # as Anki bounds it
        return (created - timedelta(minutes=bounded)).date()
    seconds = created.hour * 3600 + created.minute * 60 + created.second
    shift = (_ANKI_CREATION_HOUR * 3600 - seconds) % 86_400
    if shift > 12 * 3600:  # the nearest offset that puts crt at 4 am
        shift -= 86_400
    return (created + timedelta(seconds=shift)).date()


def due_dates(
    card_type: int, queue: int, due: int, day_zero: date | None
) -> tuple[date | None, datetime | None]:
    """A card's `due` as a date (due in days) or a UTC time (due within a day)."""
    if queue in _LEARNING_QUEUES:
        return None, timestamp(due)
    # The rule Anki's browser uses; suspended and buried cards keep the due they had.
    in_days = (
        queue in _DAY_QUEUES
        or (card_type != _NEW and due <= _MAX_DAY_NUMBER)
        or (card_type == _REVIEW and queue < 0)
    )
    if in_days:
        return _day(day_zero, due), None
    return None, (timestamp(due) if card_type != _NEW else None)


def _day(day_zero: date | None, number: int) -> date | None:
    if day_zero is None:
        return None
    try:
        return day_zero + timedelta(days=number)
    except OverflowError:
        return None
