"""Reminders: at the learner's reminder hour, if cards wait, one webhook call a day."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import cast
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from service.jobs.claims import claim, finish
from service.learners.days import learner_day
from service.learners.models import Learner
from service.reviews.queue import build_queue
from service.webhooks import Reminder, WebhookFormat, deliver

JOB = "reminder"


def reminder_time(learner: Learner, now: datetime) -> datetime | None:
    """When today's reminder is due, in the learner's study day (an hour before the day
    starts, 02:00 say, belongs to the end of the day)."""
    if learner.reminder_hour is None:
        return None
    day = learner_day(learner, now)
    if learner.reminder_hour < learner.day_starts_at_hour:
        day += timedelta(days=1)
    zone = ZoneInfo(learner.timezone)
    return datetime(day.year, day.month, day.day, learner.reminder_hour, tzinfo=zone)


async def run_for_learner(
    db: AsyncSession, *, learner: Learner, now: datetime, link: str, allow_private: bool
) -> str | None:
    """Send today's reminder if it is time and cards wait; the outcome, if one was tried."""
    at = reminder_time(learner, now)
    if at is None or not learner.webhook_url or now < at:
        return None
    queue = await build_queue(db, learner=learner, now=now, limit=0)
    if queue.due + queue.drill + queue.new == 0:
        return None
    run = await claim(db, job=JOB, learner_id=learner.id, period=queue.day.isoformat(), now=now)
    if run is None:
        return None
    reminder = Reminder(
        learner=learner.name, date=queue.day, due=queue.due + queue.drill, new=queue.new, url=link
    )
    delivery = await deliver(
        reminder,
        url=learner.webhook_url,
        fmt=cast(WebhookFormat, learner.webhook_format),
        allow_private=allow_private,
    )
    outcome = "delivered" if delivery.ok else ("refused" if delivery.attempts == 0 else "failed")
    await finish(db, run, outcome=outcome, now=now, detail=delivery.error)
    return outcome
