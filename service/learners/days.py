"""The learner's day: local time, starting at their `day_starts_at_hour` (04:00 default).

A review at 01:30 belongs to the day before, the way a late night of study does.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from service.learners.models import Learner


def learner_day(learner: Learner, moment: datetime) -> date:
    local = moment.astimezone(ZoneInfo(learner.timezone))
    return (local - timedelta(hours=learner.day_starts_at_hour)).date()


def day_bounds(learner: Learner, day: date) -> tuple[datetime, datetime]:
    """The instants at which the learner's `day` starts and the next one does."""
    zone = ZoneInfo(learner.timezone)
    hour = learner.day_starts_at_hour
    start = datetime(day.year, day.month, day.day, hour, tzinfo=zone)
    following = day + timedelta(days=1)
    end = datetime(following.year, following.month, following.day, hour, tzinfo=zone)
    return start, end
