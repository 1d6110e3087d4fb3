"""Numbers for the stats page: today, streak, retention, the month ahead, the year behind."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from service.cards.models import CardStatus
from service.learners.days import learner_day
from service.learners.models import Learner
from service.reviews import queries
from service.reviews.queue import build_queue

FORECAST_DAYS = 30
HEATMAP_DAYS = 365
RETENTION_DAYS = 30


class TodayStats(BaseModel):
    reviewed: int
    correct: int
    new_started: int
    due_remaining: int


class ForecastDay(BaseModel):
    date: date
    due: int


class HeatmapDay(BaseModel):
    date: date
    reviews: int


class CardCounts(BaseModel):
    draft: int
    active: int
    suspended: int


class StatsOut(BaseModel):
    date: date
    today: TodayStats
    streak_days: int
    retention_30d: float | None
    forecast: list[ForecastDay]
    heatmap: list[HeatmapDay]
    cards: CardCounts


def streak(review_days: set[date], today: date) -> int:
    """Days in a row with a review, up to today (or yesterday: today is not over yet)."""
    day = today if today in review_days else today - timedelta(days=1)
    length = 0
    while day in review_days:
        length += 1
        day -= timedelta(days=1)
    return length


async def _today(db: AsyncSession, learner: Learner, today: date, now: datetime) -> TodayStats:
    reviewed, correct = await queries.reviews_on(db, learner_id=learner.id, day=today)
    started = await queries.cards_started_on(db, learner_id=learner.id, day=today)
    queue = await build_queue(db, learner=learner, now=now, limit=0)
    return TodayStats(
        reviewed=reviewed,
        correct=correct or 0,
        new_started=started or 0,
        due_remaining=queue.due + queue.drill,
    )


async def _retention(db: AsyncSession, learner: Learner, today: date) -> float | None:
    total, correct = await queries.reviews_out_of_drill_after(
        db, learner_id=learner.id, after=today - timedelta(days=RETENTION_DAYS)
    )
    return round(correct / total, 4) if total else None


async def _forecast(db: AsyncSession, learner: Learner, today: date) -> list[ForecastDay]:
    last = today + timedelta(days=FORECAST_DAYS)
    due = await queries.active_cards_due_per_day(
        db, learner_id=learner.id, after=today, through=last
    )
    days = (today + timedelta(days=n) for n in range(1, FORECAST_DAYS + 1))
    return [ForecastDay(date=day, due=due.get(day, 0)) for day in days]


async def _card_counts(db: AsyncSession, learner: Learner) -> CardCounts:
    rows = await queries.cards_per_status(db, learner_id=learner.id)
    counts = {status.value: 0 for status in CardStatus}
    counts.update({status.value: count for status, count in rows})
    return CardCounts(**counts)


async def learner_stats(db: AsyncSession, *, learner: Learner, now: datetime) -> StatsOut:
    today = learner_day(learner, now)
    first_day = today - timedelta(days=HEATMAP_DAYS - 1)
    per_day = await queries.reviews_per_day(db, learner_id=learner.id, since=first_day)
    heatmap_days = (first_day + timedelta(days=n) for n in range(HEATMAP_DAYS))
    return StatsOut(
        date=today,
        today=await _today(db, learner, today, now),
        streak_days=streak(set(per_day), today),
        retention_30d=await _retention(db, learner, today),
        forecast=await _forecast(db, learner, today),
        heatmap=[HeatmapDay(date=day, reviews=per_day.get(day, 0)) for day in heatmap_days],
        cards=await _card_counts(db, learner),
    )
