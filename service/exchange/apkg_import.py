"""POST /v1/import/apkg's work: an Anki package into the learner's cards and reviews.

All or nothing, in one transaction: a package that cannot be read is refused before
anything is written (service/exchange/apkg_reader.py turns every bad or hostile file into
PackageError), and a failure halfway rolls everything back.

Importing the same package twice changes nothing. A card is found again by its note's
GUID and its card number (`anki_guid`, `anki_ord`, unique per learner); a card Tutor
exported itself is found by the GUID its export derives from the card's id. A review is
found again by its card and its time. What a later package brings is taken only when it
is newer than what Tutor holds: the note's text when the note changed after the card
did, the schedule when Anki's latest review is later than Tutor's.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial

from sqlalchemy.ext.asyncio import AsyncSession

from scheduler import fsrs_schedule
from scheduler.grades import grade_of_rating
from service.cards.models import Card, CardKind, CardOrigin, CardStatus, FsrsState
from service.cards.quality import quality_flags
from service.cards.service import can_be_reviewed
from service.errors import InvalidRequest
from service.exchange.anki_notes import own_guid
from service.exchange.apkg_cards import CardFromAnki, cards_of, snapshots, source_title
from service.exchange.apkg_reader import PackageError, read_package
from service.exchange.queries import learner_cards, review_times, source_ids_by_title
from service.learners.days import learner_day
from service.learners.models import Learner
from service.learners.service import lock_learner
from service.reviews.models import Review
from service.reviews.rederive import fsrs_settings
from service.sources.models import Source, SourceKind

# What the reviews log calls the scheduler of a review made in Anki.
ANKI = "anki"
# FSRS's phases in which a card repeats within the day, at a step.
_IN_STEPS = frozenset({FsrsState.learning, FsrsState.relearning})


class InvalidPackage(InvalidRequest):
    code = "invalid_package"


@dataclass
class ApkgReport:
    notes: int = 0
    cards_created: int = 0
    cards_updated: int = 0
    cards_unchanged: int = 0
    reviews_added: int = 0
    sources_created: int = 0
    notes_skipped: int = 0
    problems: list[str] = field(default_factory=list)


async def import_apkg(
    db: AsyncSession, *, learner: Learner, data: bytes, now: datetime
) -> ApkgReport:
    """Import the package's notes, cards and reviews (committed); raises InvalidPackage."""
    try:
        # Unzipping, decompressing and reading a collection is CPU work: off the loop.
        package = await asyncio.to_thread(read_package, data)
    except PackageError as error:
        raise InvalidPackage(f"This is not an Anki package Tutor can read: {error}") from None
    # One import at a time per learner: two would both create the same new cards.
    learner = await lock_learner(db, learner.id)
    day_of = partial(learner_day, learner)
    incoming = [card for note in package.notes for card in cards_of(note, day_of=day_of)]
    report = ApkgReport(notes=len(package.notes), problems=list(package.problems))
    report.notes_skipped = sum(1 for note in package.notes if note.kind == "unknown")
    writer = _Writer(db, learner=learner, now=now, report=report)
    await writer.load(incoming)
    for card in incoming:
        await writer.write(card)
    await db.commit()
    return report


class _Writer:
    """The cards already there, found once, and each incoming card written against them."""

    def __init__(self, db: AsyncSession, *, learner: Learner, now: datetime, report: ApkgReport):
        self.db, self.learner, self.now, self.report = db, learner, now, report
        self.cards: dict[tuple[str, int], Card] = {}
        self.sources: dict[str, uuid.UUID] = {}
        self.reviewed_at: dict[uuid.UUID, set[datetime]] = {}

    async def load(self, incoming: list[CardFromAnki]) -> None:
        guids = {card.guid for card in incoming}
        for card in await learner_cards(self.db, learner_id=self.learner.id):
            if card.anki_guid is not None:
                self.cards[(card.anki_guid, card.anki_ord or 0)] = card
            elif (exported := own_guid(card.id)) in guids:
                self.cards[(exported, 0)] = card  # a card Tutor exported, come back
        self.sources = await source_ids_by_title(self.db, learner_id=self.learner.id)
        await self._load_review_times([card.id for card in self.cards.values()])

    async def _load_review_times(self, card_ids: list[uuid.UUID]) -> None:
        for card_id, reviewed_at in await review_times(self.db, card_ids=card_ids):
            self.reviewed_at.setdefault(card_id, set()).add(reviewed_at)

    async def write(self, incoming: CardFromAnki) -> None:
        card = self.cards.get((incoming.guid, incoming.ord))
        if card is None:
            card = await self._create(incoming)
            self._update_schedule(card, incoming)
            self._add_reviews(card, incoming)
            return
        changed = self._update_text(card, incoming)
        changed |= self._update_schedule(card, incoming)
        changed |= self._add_reviews(card, incoming) > 0
        if changed:
            self.report.cards_updated += 1
        else:
            self.report.cards_unchanged += 1

    async def _create(self, incoming: CardFromAnki) -> Card:
        flags = quality_flags(incoming.front, incoming.back, incoming.kind.value)
        reviewable = can_be_reviewed(incoming.front, incoming.kind) and incoming.front.strip()
        card = Card(
            id=uuid.uuid4(),
            learner_id=self.learner.id,
            front=incoming.front,
            back=incoming.back,
            kind=incoming.kind,
            # A card that cannot be asked waits as a draft with its flags, never scheduled.
            status=incoming.status if reviewable else CardStatus.draft,
            origin=CardOrigin.imported,
            source_id=await self._source_for(incoming.deck),
            quality_flags=flags,
            anki_guid=incoming.guid,
            anki_ord=incoming.ord,
            created_at=self.now,
            updated_at=self.now,
        )
        card.tags = list(incoming.tags)
        if card.status is not CardStatus.draft:
            card.activated_on = learner_day(self.learner, self.now)
            card.due = card.activated_on  # a new card: due at once, as any card turned active
        self.db.add(card)
        self.cards[(incoming.guid, incoming.ord)] = card
        self.reviewed_at[card.id] = set()
        self.report.cards_created += 1
        return card

    def _update_text(self, card: Card, incoming: CardFromAnki) -> bool:
        edited = incoming.modified_at
        # Anki keeps whole seconds: a note is newer only from the next second on.
        if edited is not None and edited <= card.updated_at.replace(microsecond=0):
            return False  # changed in Tutor since: an older package does not undo that
        if (card.front, card.back, card.kind, sorted(card.tags)) == (
            incoming.front,
            incoming.back,
            incoming.kind,
            sorted(incoming.tags),
        ):
            return False
        if incoming.kind is CardKind.cloze and not can_be_reviewed(incoming.front, incoming.kind):
            self.report.problems.append(
                f"Kept a card's text: its new text in Anki has no cloze deletion ({incoming.guid})."
            )
            return False
        card.front, card.back, card.kind = incoming.front, incoming.back, incoming.kind
        card.tags = list(incoming.tags)
        card.quality_flags = quality_flags(card.front, card.back, card.kind.value)
        card.updated_at = self.now
        return True

    def _update_schedule(self, card: Card, incoming: CardFromAnki) -> bool:
        schedule = incoming.schedule
        last = schedule.last_reviewed_at
        if last is None or (card.last_reviewed_at is not None and card.last_reviewed_at >= last):
            return False  # Tutor's schedule is as recent as Anki's, or more
        if card.status is CardStatus.draft or incoming.draft:
            return False
        card.due = schedule.due or learner_day(self.learner, last)
        card.interval = schedule.interval
        card.easiness = schedule.easiness
        card.repetitions = schedule.repetitions
        card.lapses = schedule.lapses
        card.drill = False
        card.last_reviewed_at = last
        card.started_on = card.started_on or schedule.started_on
        card.activated_on = card.activated_on or schedule.started_on
        card.fsrs_state = schedule.fsrs_state
        card.stability, card.difficulty = schedule.stability, schedule.difficulty
        card.fsrs_step = 0 if schedule.fsrs_state in _IN_STEPS else None
        if card.fsrs_state is None and self.learner.scheduler == "fsrs":
            self._derive_memory(card, incoming)
        card.status = incoming.status
        card.updated_at = self.now
        return True

    def _derive_memory(self, card: Card, incoming: CardFromAnki) -> None:
        """FSRS's memory of a card Anki scheduled without FSRS, from its review log, for a
        learner on FSRS; its due date stays Anki's."""
        day_of = partial(learner_day, self.learner)
        derived = fsrs_schedule.replay(
            [(day_of(review.reviewed_at), review.rating) for review in incoming.reviews],
            today=day_of(self.now),
            settings=fsrs_settings(self.learner),
        )
        if derived is not None:
            memory = derived.memory
            card.fsrs_state = FsrsState(memory.state)
            card.fsrs_step = memory.step
            card.stability, card.difficulty = memory.stability, memory.difficulty

    def _add_reviews(self, card: Card, incoming: CardFromAnki) -> int:
        seen = self.reviewed_at.setdefault(card.id, set())
        day_of = partial(learner_day, self.learner)
        added = 0
        for review, (before, after) in zip(
            incoming.reviews, snapshots(incoming.reviews, day_of=day_of), strict=True
        ):
            if review.reviewed_at in seen:
                continue
            self.db.add(
                Review(
                    card_id=card.id,
                    learner_id=self.learner.id,
                    grade=grade_of_rating(review.rating),
                    rating=int(review.rating),
                    scheduler=ANKI,
                    reviewed_at=review.reviewed_at,
                    review_date=day_of(review.reviewed_at),
                    duration_ms=review.duration_ms,
                    drill=bool(before["drill"]),
                    # Rebuilt from Anki's log, so an export back to Anki logs the same.
                    before=before,
                    after=after,
                    # Dated when it happened: undo and "latest" mean the latest in Tutor.
                    created_at=review.reviewed_at,
                )
            )
            seen.add(review.reviewed_at)
            added += 1
        self.report.reviews_added += added
        return added

    async def _source_for(self, deck: str | None) -> uuid.UUID | None:
        title = source_title(deck)
        if title is None:
            return None
        if title not in self.sources:
            source = Source(learner_id=self.learner.id, title=title, kind=SourceKind.other)
            self.db.add(source)
            await self.db.flush()
            self.sources[title] = source.id
            self.report.sources_created += 1
        return self.sources[title]
