"""What actually happened in a learner's day, counted from the database."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from service.cards.models import Card
from service.checks.models import CheckAnswer, CheckResult
from service.critiques.models import Critique
from service.learners.models import Learner
from service.reviews.days import day_bounds
from service.reviews.models import Review
from service.sources.models import Source
from service.tutor.models import Kind, Message, Role, TutorSession

# The diary needs a few examples, not every card: the facts stay small in the prompt.
_MOST_LISTED = 8
_MOST_CHARS = 120


Row = TypeVar("Row", Critique, CheckAnswer)


async def _in_sessions(
    db: AsyncSession,
    model: type[Row],
    learner: Learner,
    start: datetime,
    end: datetime,
    *,
    finished: ColumnElement[bool],
) -> list[Row]:
    """The learner's finished critiques (or check answers) made between start and end."""
    rows = await db.scalars(
        select(model)
        .join(TutorSession, TutorSession.id == model.session_id)
        .where(
            TutorSession.learner_id == learner.id,
            model.created_at >= start,
            model.created_at < end,
            finished,
        )
    )
    return list(rows)


async def day_facts(db: AsyncSession, *, learner: Learner, day: date) -> dict[str, Any]:
    start, end = day_bounds(learner, day)
    in_day_messages = (
        select(Message, TutorSession.title)
        .join(TutorSession, TutorSession.id == Message.session_id)
        .where(
            TutorSession.learner_id == learner.id,
            Message.created_at >= start,
            Message.created_at < end,
        )
    )
    messages = [(message, title) for message, title in await db.execute(in_day_messages)]
    passages = Counter(
        m.level.value if m.level else "intuition"
        for m, _ in messages
        if m.role is Role.learner and m.kind is Kind.passage
    )
    critiques = await _in_sessions(
        db, Critique, learner, start, end, finished=Critique.verdict.is_not(None)
    )
    reviews = list(
        await db.scalars(
            select(Review).where(Review.learner_id == learner.id, Review.review_date == day)
        )
    )
    graded = [r for r in reviews if not r.drill]
    cards_created = await db.scalar(
        select(func.count(Card.id)).where(
            Card.learner_id == learner.id, Card.created_at >= start, Card.created_at < end
        )
    )
    cards_accepted = await db.scalar(
        select(func.count(Card.id)).where(Card.learner_id == learner.id, Card.activated_on == day)
    )
    new_started = await db.scalar(
        select(func.count(Card.id)).where(Card.learner_id == learner.id, Card.started_on == day)
    )
    sources = await db.execute(
        select(Source.title, Source.status).where(
            Source.learner_id == learner.id, Source.updated_at >= start, Source.updated_at < end
        )
    )
    failed_cards = sorted({r.card_id for r in graded if r.grade < 3})
    failed_fronts = await db.scalars(
        select(Card.front).where(Card.id.in_(failed_cards)).order_by(Card.front).limit(_MOST_LISTED)
    )
    checks = await _in_sessions(
        db, CheckAnswer, learner, start, end, finished=CheckAnswer.result.is_not(None)
    )
    concepts = sorted({c.concept for c in critiques} | {t for _, t in messages if t})
    verdicts = Counter(c.verdict.value for c in critiques if c.verdict)
    return {
        "date": day.isoformat(),
        "sessions": len({m.session_id for m, _ in messages}),
        "passages_explained": dict(sorted(passages.items())),
        "questions_asked": sum(
            1 for m, _ in messages if m.role is Role.learner and m.kind is Kind.question
        ),
        "critiques": dict(sorted(verdicts.items())),
        "shaky_concepts": sorted(
            {c.concept for c in critiques if c.verdict and c.verdict != "solid"}
        ),
        "cards_created": cards_created or 0,
        "cards_accepted": cards_accepted or 0,
        "reviews": len(reviews),
        "retention": round(sum(r.grade >= 3 for r in graded) / len(graded), 4) if graded else None,
        # What was forgotten, by the card's question: the diary names what to revisit.
        "failed_reviews": [_short(front) for front in failed_fronts],
        "checks": dict(sorted(Counter(c.result.value for c in checks if c.result).items())),
        "missed_checks": [
            _short(c.question) for c in checks[:_MOST_LISTED] if c.result is not CheckResult.right
        ],
        "new_cards_started": new_started or 0,
        "concepts": concepts,
        "sources_moved": [
            {"title": title, "status": status.value}
            for title, status in sources
            if status is not None
        ],
    }


def _short(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= _MOST_CHARS else flat[: _MOST_CHARS - 1] + "…"


def anything_happened(facts: dict[str, Any]) -> bool:
    return bool(
        facts["sessions"]
        or facts["reviews"]
        or facts["cards_created"]
        or facts["cards_accepted"]
        or facts["sources_moved"]
    )
