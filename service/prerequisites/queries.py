"""What the prerequisites domain reads and writes: the session's material, the learner's
history the known-ness is decided from, their reading queue, and the paths."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from service.cards.models import Card, CardStatus, CardTag
from service.checks.models import CheckAnswer, CheckResult
from service.prerequisites.knowing import CardSeen, Studied
from service.prerequisites.models import PrerequisitePath
from service.prerequisites.steps import Queued
from service.reviews.models import Review
from service.sessions.models import Critique, Kind, Message, MessageStatus, Role, TutorSession
from service.sources.models import Source

# The newest only: a long history's oldest sessions say little about today.
MAX_SESSIONS = 500


async def latest_content(
    db: AsyncSession, *, session_id: uuid.UUID, kinds: Sequence[Kind]
) -> str | None:
    """The text of the session's latest complete message of one of `kinds`."""
    content: str | None = await db.scalar(
        select(Message.content)
        .where(
            Message.session_id == session_id,
            Message.kind.in_(kinds),
            Message.status == MessageStatus.complete,
            Message.content != "",
        )
        .order_by(Message.position.desc())
        .limit(1)
    )
    return content


async def latest_learner_words(db: AsyncSession, *, session_id: uuid.UUID) -> str | None:
    """The learner's latest question in the session (what made them ask for this)."""
    content: str | None = await db.scalar(
        select(Message.content)
        .where(
            Message.session_id == session_id,
            Message.role == Role.learner,
            Message.kind == Kind.question,
        )
        .order_by(Message.position.desc())
        .limit(1)
    )
    return content


async def latest_critiqued_concept(db: AsyncSession, *, session_id: uuid.UUID) -> str | None:
    concept: str | None = await db.scalar(
        select(Critique.concept)
        .where(Critique.session_id == session_id, Critique.verdict.is_not(None))
        .order_by(Critique.created_at.desc(), Critique.attempt.desc())
        .limit(1)
    )
    return concept


async def attempts_on(
    db: AsyncSession, *, session_id: uuid.UUID, concept_key: str
) -> list[Critique]:
    """The session's critiqued attempts on the concept, in order."""
    rows = await db.scalars(
        select(Critique)
        .where(
            Critique.session_id == session_id,
            Critique.concept_key == concept_key,
            Critique.verdict.is_not(None),
        )
        .order_by(Critique.attempt)
    )
    return list(rows)


async def active_cards(db: AsyncSession, *, learner_id: uuid.UUID) -> list[CardSeen]:
    """The learner's active cards with their tags (reviews are read for the few that
    name a concept: `latest_ratings`)."""
    active = and_(Card.learner_id == learner_id, Card.status == CardStatus.active)
    tags: dict[uuid.UUID, list[str]] = {}
    tagged = await db.execute(
        select(CardTag.card_id, CardTag.tag).join(Card, Card.id == CardTag.card_id).where(active)
    )
    for card_id, tag in tagged:
        tags.setdefault(card_id, []).append(tag)
    rows = await db.execute(select(Card.id, Card.front, Card.back).where(active))
    return [
        CardSeen(id=id, front=front, back=back, tags=tuple(sorted(tags.get(id, []))))
        for id, front, back in rows
    ]


async def latest_ratings(
    db: AsyncSession, *, card_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, Review]:
    """Each card's latest review, for cards that have one."""
    if not card_ids:
        return {}
    reviews = await db.scalars(
        select(Review)
        .where(Review.card_id.in_(card_ids))
        .order_by(Review.reviewed_at.desc(), Review.created_at.desc())
    )
    latest: dict[uuid.UUID, Review] = {}
    for review in reviews:
        latest.setdefault(review.card_id, review)
    return latest


async def earlier_sessions(
    db: AsyncSession, *, learner_id: uuid.UUID, but: uuid.UUID
) -> list[Studied]:
    """The learner's other sessions (newest first): titles, and checks answered right."""
    right = and_(CheckAnswer.session_id == TutorSession.id, CheckAnswer.result == CheckResult.right)
    rows = await db.execute(
        select(TutorSession.title, func.count(CheckAnswer.id))
        .outerjoin(CheckAnswer, right)
        .where(
            TutorSession.learner_id == learner_id,
            TutorSession.id != but,
            TutorSession.title.is_not(None),
        )
        .group_by(TutorSession.id, TutorSession.title, TutorSession.created_at)
        .order_by(TutorSession.created_at.desc())
        .limit(MAX_SESSIONS)
    )
    return [Studied(title=title or "", checks_right=checks) for title, checks in rows]


async def reading_queue(
    db: AsyncSession, *, learner_id: uuid.UUID, but: uuid.UUID | None
) -> list[Queued]:
    """The learner's sources, oldest first, but the one the session reads."""
    statement = select(Source.id, Source.title, Source.url).where(Source.learner_id == learner_id)
    if but is not None:
        statement = statement.where(Source.id != but)
    rows = await db.execute(statement.order_by(Source.created_at, Source.id))
    return [Queued(id=id, title=title, url=url) for id, title, url in rows]


async def paths_of_session(db: AsyncSession, *, session_id: uuid.UUID) -> list[PrerequisitePath]:
    rows = await db.scalars(
        select(PrerequisitePath)
        .where(PrerequisitePath.session_id == session_id)
        .order_by(PrerequisitePath.created_at.desc(), PrerequisitePath.id)
    )
    return list(rows)
