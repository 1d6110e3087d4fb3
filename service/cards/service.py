"""Cards: write, find, change, accept and delete them; add a batch with checks."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from service.cards import queries
from service.cards.dedupe import DuplicateFinder, cloze_question
from service.cards.models import Card, CardKind, CardOrigin, CardStatus
from service.cards.quality import WRITE_A_DELETION, is_skippable, lacks_deletion, quality_flags
from service.cards.schedule import start_schedule
from service.cards.schemas import CardCreate, SkippedDraft
from service.db import utcnow
from service.errors import Conflict, InvalidRequest, NotFound
from service.learners.days import learner_day
from service.learners.models import Learner
from service.sources.service import get_source

# The moves a learner can make; anything else (back to draft, say) is refused.
_TRANSITIONS = {
    (CardStatus.draft, CardStatus.active),
    (CardStatus.active, CardStatus.suspended),
    (CardStatus.suspended, CardStatus.active),
}


class CardNotFound(NotFound):
    code = "card_not_found"

    def __init__(self, message: str = "No such card.", **kwargs: Any) -> None:
        super().__init__(message, **kwargs)


class InvalidTransition(Conflict):
    code = "invalid_transition"


class ClozeWithoutDeletion(InvalidRequest):
    """An active cloze card without a deletion: nothing to hide, so nothing to review."""

    code = "cloze_without_deletion"

    def __init__(self, message: str = WRITE_A_DELETION, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)


def can_be_reviewed(front: str, kind: CardKind) -> bool:
    """Whether a card asks something in reviews: a cloze card needs a deletion. Drafts
    may lack one (they keep their `empty_side` flag); active cards may not."""
    return kind is not CardKind.cloze or not lacks_deletion(front)


@dataclass(frozen=True)
class NewCard:
    """A card about to be added, from whatever origin."""

    front: str
    back: str
    kind: CardKind
    tags: list[str]


@dataclass
class BatchResult:
    cards: list[Card] = field(default_factory=list)
    skipped: list[SkippedDraft] = field(default_factory=list)


def dedupe_text(front: str, kind: CardKind) -> str:
    """What a card asks, as `DuplicateFinder` compares it."""
    return cloze_question(front) if kind is CardKind.cloze else front


async def duplicate_finder(db: AsyncSession, *, learner: Learner) -> DuplicateFinder[uuid.UUID]:
    """Every card the learner has, whatever its status: a rejected draft was deleted."""
    rows = await queries.card_questions(db, learner_id=learner.id)
    return DuplicateFinder((card_id, dedupe_text(front, kind)) for card_id, front, kind in rows)


async def add_batch(
    db: AsyncSession,
    *,
    learner: Learner,
    drafts: Iterable[NewCard],
    status: CardStatus,
    origin: CardOrigin,
    session_id: uuid.UUID | None = None,
    source_id: uuid.UUID | None = None,
    finder: DuplicateFinder[uuid.UUID] | None = None,
    now: datetime | None = None,
) -> BatchResult:
    """Check each card's quality and novelty; add the good ones (not committed).

    Pass a `finder` to share one across several batches (an import, row by row).
    """
    finder = finder or await duplicate_finder(db, learner=learner)
    result = BatchResult()
    now = now or utcnow()
    for draft in drafts:
        flags = quality_flags(draft.front, draft.back, draft.kind.value)
        if is_skippable(flags):
            result.skipped.append(
                SkippedDraft(front=draft.front, reason="low_quality", quality_flags=flags)
            )
            continue
        text = dedupe_text(draft.front, draft.kind)
        duplicate_of = finder.find(text)
        if duplicate_of is not None:
            result.skipped.append(
                SkippedDraft(front=draft.front, reason="duplicate", duplicate_of=duplicate_of)
            )
            continue
        card = Card(
            id=uuid.uuid4(),
            learner_id=learner.id,
            front=draft.front,
            back=draft.back,
            kind=draft.kind,
            tags=draft.tags,
            status=status,
            origin=origin,
            session_id=session_id,
            source_id=source_id,
            quality_flags=flags,
            created_at=now,
            updated_at=now,
        )
        if status is CardStatus.active:
            start_schedule(card, learner_day(learner, now))
        db.add(card)
        finder.add(card.id, text)
        result.cards.append(card)
    return result


async def create_card(
    db: AsyncSession, *, learner: Learner, data: CardCreate, now: datetime
) -> Card:
    """A card the learner wrote: active at once, flagged but never refused for quality,
    unless it cannot be reviewed at all (a cloze card without a deletion)."""
    if not can_be_reviewed(data.front, data.kind):
        raise ClozeWithoutDeletion()
    if data.source_id is not None:
        await get_source(db, learner=learner, source_id=data.source_id)
    card = Card(
        learner_id=learner.id,
        front=data.front,
        back=data.back,
        kind=data.kind,
        tags=data.tags,
        status=CardStatus.active,
        origin=CardOrigin.manual,
        source_id=data.source_id,
        quality_flags=quality_flags(data.front, data.back, data.kind.value),
        created_at=now,
        updated_at=now,
    )
    start_schedule(card, learner_day(learner, now))
    db.add(card)
    await db.commit()
    return card


async def get_card(db: AsyncSession, *, learner: Learner, card_id: uuid.UUID) -> Card:
    card = await queries.learner_card(db, learner_id=learner.id, card_id=card_id)
    if card is None:
        raise CardNotFound()
    return card


@dataclass(frozen=True)
class CardFilter:
    status: CardStatus | None = None
    session_id: uuid.UUID | None = None
    source_id: uuid.UUID | None = None
    tag: str | None = None
    q: str | None = None


async def list_cards(
    db: AsyncSession, *, learner: Learner, where: CardFilter, cursor: str | None, limit: int
) -> tuple[Sequence[Card], str | None]:
    return await queries.cards_page(
        db,
        learner_id=learner.id,
        status=where.status,
        session_id=where.session_id,
        source_id=where.source_id,
        tag=where.tag,
        q=where.q,
        cursor=cursor,
        limit=limit,
    )


def _article(word: str) -> str:
    return "An" if word[0] in "aeiou" else "A"


def _check_move(card: Card, status: CardStatus) -> None:
    if status is not card.status and (card.status, status) not in _TRANSITIONS:
        raise InvalidTransition(
            f"{_article(card.status.value)} {card.status.value} card cannot become "
            f"{status.value}: drafts can be "
            "accepted (active), and active cards suspended and back."
        )


def _move(card: Card, status: CardStatus, today: date) -> None:
    _check_move(card, status)
    if status is card.status:
        return
    card.status = status
    if status is CardStatus.active:
        start_schedule(card, today)


async def update_card(
    db: AsyncSession,
    *,
    learner: Learner,
    card_id: uuid.UUID,
    changes: dict[str, Any],
    now: datetime,
) -> Card:
    """Edit a card or move it; refused, with nothing changed, if the card would be active
    without being reviewable. Only a change to its text, kind or status is checked, so a
    card saved before that rule can still be retagged or suspended."""
    card = await get_card(db, learner=learner, card_id=card_id)
    status: CardStatus = changes.pop("status", card.status)
    _check_move(card, status)
    if (
        status is CardStatus.active
        and (changes.keys() & {"front", "kind"} or status is not card.status)
        and not can_be_reviewed(changes.get("front", card.front), changes.get("kind", card.kind))
    ):
        raise ClozeWithoutDeletion()
    _move(card, status, learner_day(learner, now))
    for name, value in changes.items():
        setattr(card, name, value)
    if changes.keys() & {"front", "back", "kind"}:
        card.quality_flags = quality_flags(card.front, card.back, card.kind.value)
    card.updated_at = now
    await db.commit()
    return card


async def delete_card(db: AsyncSession, *, learner: Learner, card_id: uuid.UUID) -> None:
    card = await get_card(db, learner=learner, card_id=card_id)
    await db.delete(card)
    await db.commit()


async def accept_drafts(
    db: AsyncSession, *, learner: Learner, card_ids: Sequence[uuid.UUID], now: datetime
) -> list[Card]:
    """Accept the drafts among `card_ids`; cards already active stay as they are."""
    wanted = list(dict.fromkeys(card_ids))
    cards = await queries.learner_cards(db, learner_id=learner.id, card_ids=wanted)
    missing = set(wanted) - {card.id for card in cards}
    if missing:
        raise CardNotFound(
            "Some of these cards do not exist.", details={"ids": sorted(map(str, missing))}
        )
    drafts = [card for card in cards if card.status is CardStatus.draft]
    unreviewable = [card.id for card in drafts if not can_be_reviewed(card.front, card.kind)]
    if unreviewable:
        raise ClozeWithoutDeletion(
            "Some of these drafts cannot be accepted yet (`details.ids`), and none was. "
            + WRITE_A_DELETION,
            details={"ids": sorted(map(str, unreviewable))},
        )
    _activate(drafts, learner=learner, now=now)
    await db.commit()
    return drafts


@dataclass(frozen=True)
class AcceptedAll:
    cards: list[Card]
    skipped_flagged: int


async def accept_all_drafts(
    db: AsyncSession,
    *,
    learner: Learner,
    session_id: uuid.UUID | None,
    include_flagged: bool,
    now: datetime,
) -> AcceptedAll:
    """Accept every draft (of `session_id`); flagged ones only with `include_flagged`,
    since "accept all" should not wave through what the checks asked the learner to read.
    Drafts that cannot be reviewed (flagged `empty_side`) stay drafts either way."""
    drafts = await queries.drafts_oldest_first(db, learner_id=learner.id, session_id=session_id)
    chosen = [
        card
        for card in drafts
        if (include_flagged or not card.quality_flags) and can_be_reviewed(card.front, card.kind)
    ]
    _activate(chosen, learner=learner, now=now)
    await db.commit()
    return AcceptedAll(cards=chosen, skipped_flagged=len(drafts) - len(chosen))


def _activate(drafts: Iterable[Card], *, learner: Learner, now: datetime) -> None:
    today = learner_day(learner, now)
    for card in drafts:
        _move(card, CardStatus.active, today)
        card.updated_at = now
