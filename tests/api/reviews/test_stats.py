"""Stats on a hand-built history, with the time passed in explicitly."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from scheduler.grades import rating_of_grade
from service.cards.models import Card, CardKind, CardOrigin, CardStatus
from service.learners.service import IssuedKey
from service.reviews.models import Review
from service.reviews.stats import learner_stats, streak

TODAY = date(2026, 3, 10)
NOW = datetime(2026, 3, 10, 18, 0, tzinfo=UTC)


def test_streak_counts_back_from_today_or_yesterday() -> None:
    days = {TODAY - timedelta(days=n) for n in (0, 1, 2, 4)}
    assert streak(days, TODAY) == 3
    assert streak(days - {TODAY}, TODAY) == 2  # today is not over: yesterday's streak holds
    assert streak({TODAY - timedelta(days=2)}, TODAY) == 0
    assert streak(set(), TODAY) == 0


def _card(learner_id: uuid.UUID, *, status: CardStatus, due: date | None, **extra: object) -> Card:
    return Card(
        id=uuid.uuid4(),
        learner_id=learner_id,
        front=f"front {uuid.uuid4()}",
        back="back",
        kind=CardKind.basic,
        status=status,
        origin=CardOrigin.manual,
        due=due,
        created_at=NOW - timedelta(days=60),
        updated_at=NOW - timedelta(days=60),
        **extra,
    )


def _review(card: Card, day: date, grade: int, *, drill: bool = False) -> Review:
    moment = datetime(day.year, day.month, day.day, 12, tzinfo=UTC)
    return Review(
        card_id=card.id,
        learner_id=card.learner_id,
        grade=grade,
        rating=int(rating_of_grade(grade)),
        scheduler="sm2",
        reviewed_at=moment,
        review_date=day,
        duration_ms=None,
        drill=drill,
        before={},
        after={},
        created_at=moment,
    )


async def test_stats_on_a_hand_built_history(session: AsyncSession, learner: IssuedKey) -> None:
    me = learner.learner.id
    seen = {"last_reviewed_at": NOW - timedelta(days=1)}
    learnt = _card(me, status=CardStatus.active, due=TODAY + timedelta(days=3), **seen)
    overdue = _card(me, status=CardStatus.active, due=TODAY - timedelta(days=2), **seen)
    drilling = _card(me, status=CardStatus.active, due=TODAY, drill=True, **seen)
    started = _card(
        me, status=CardStatus.active, due=TODAY + timedelta(days=1), started_on=TODAY, **seen
    )
    far = _card(me, status=CardStatus.active, due=TODAY + timedelta(days=45), **seen)
    fresh = _card(me, status=CardStatus.active, due=TODAY)
    draft = _card(me, status=CardStatus.draft, due=None)
    suspended = _card(me, status=CardStatus.suspended, due=TODAY)
    session.add_all([learnt, overdue, drilling, started, far, fresh, draft, suspended])
    history = [
        _review(learnt, TODAY, 4),
        _review(started, TODAY, 5),
        _review(drilling, TODAY, 3),
        _review(drilling, TODAY, 2, drill=True),  # drill grades do not count for retention
        _review(learnt, TODAY - timedelta(days=1), 1),
        _review(learnt, TODAY - timedelta(days=2), 4),
        _review(overdue, TODAY - timedelta(days=20), 5),
        _review(overdue, TODAY - timedelta(days=40), 0),  # outside the 30 days
        _review(far, TODAY - timedelta(days=400), 5),  # outside the heatmap
    ]
    session.add_all(history)
    await session.commit()

    stats = await learner_stats(session, learner=learner.learner, now=NOW)

    assert stats.date == TODAY
    assert stats.today.model_dump() == {
        "reviewed": 4,
        "correct": 3,
        "new_started": 1,
        "due_remaining": 2,  # the overdue card, and the card in today's drill
    }
    assert stats.streak_days == 3
    # Non-drill grades in 30 days: 4, 5, 3, 1, 4, 5 → five of six at 3 or more.
    assert stats.retention_30d == round(5 / 6, 4)
    assert len(stats.forecast) == 30
    assert stats.forecast[0].model_dump() == {"date": TODAY + timedelta(days=1), "due": 1}
    assert stats.forecast[2].model_dump() == {"date": TODAY + timedelta(days=3), "due": 1}
    assert sum(day.due for day in stats.forecast) == 2  # the 45-day card is beyond it
    assert len(stats.heatmap) == 365
    assert stats.heatmap[-1].model_dump() == {"date": TODAY, "reviews": 4}
    assert stats.heatmap[0].date == TODAY - timedelta(days=364)
    assert sum(day.reviews for day in stats.heatmap) == 8
    assert stats.cards.model_dump() == {"draft": 1, "active": 6, "suspended": 1}


async def test_stats_of_a_new_learner(api: httpx.AsyncClient) -> None:
    stats = (await api.get("/v1/stats")).json()
    assert stats["today"] == {"reviewed": 0, "correct": 0, "new_started": 0, "due_remaining": 0}
    assert (stats["streak_days"], stats["retention_30d"]) == (0, None)
    assert stats["cards"] == {"draft": 0, "active": 0, "suspended": 0}
    assert len(stats["heatmap"]) == 365
