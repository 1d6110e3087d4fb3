"""What actually happened in a learner's day, counted from the database."""

from __future__ import annotations

from collections import Counter
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from service.checks.models import CheckResult
from service.learners.days import day_bounds
from service.learners.models import Learner
from service.sessions.models import Kind, Role
from service.studylog.queries import (
    card_fronts,
    cards_accepted_on,
    cards_created_between,
    cards_started_on,
    checks_between,
    critiques_between,
    messages_between,
    reviews_on,
    sources_updated_between,
)

# The diary needs a few examples, not every card: the facts stay small in the prompt.
_MOST_LISTED = 8
_MOST_CHARS = 120


async def day_facts(db: AsyncSession, *, learner: Learner, day: date) -> dict[str, Any]:
    start, end = day_bounds(learner, day)
    messages = await messages_between(db, learner_id=learner.id, start=start, end=end)
    passages = Counter(
        m.level.value if m.level else "intuition"
        for m, _ in messages
        if m.role is Role.learner and m.kind is Kind.passage
    )
    critiques = await critiques_between(db, learner_id=learner.id, start=start, end=end)
    reviews = await reviews_on(db, learner_id=learner.id, day=day)
    graded = [r for r in reviews if not r.drill]
    cards_created = await cards_created_between(db, learner_id=learner.id, start=start, end=end)
    cards_accepted = await cards_accepted_on(db, learner_id=learner.id, day=day)
    new_started = await cards_started_on(db, learner_id=learner.id, day=day)
    sources = await sources_updated_between(db, learner_id=learner.id, start=start, end=end)
    failed_cards = sorted({r.card_id for r in graded if r.grade < 3})
    failed_fronts = await card_fronts(db, card_ids=failed_cards, limit=_MOST_LISTED)
    checks = await checks_between(db, learner_id=learner.id, start=start, end=end)
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
