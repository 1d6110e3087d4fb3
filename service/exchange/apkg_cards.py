"""An Anki note as the Tutor cards it becomes, with each card's schedule and reviews.

Pure: the package's plain data in (service/exchange/apkg_reader.py), plain data out, no
database. Tutor's card is one of Anki's cards: a Basic note is one card, a Basic (and
reversed card) note two (the second with its sides swapped), and a Cloze note one per
deletion number, each asking only its own number, as in Anki (`anki_ord` + 1). Fields
are Anki's HTML, read back as the text Tutor's cards hold (math between `$…$`); a note
tagged `tutor::draft` is a draft Tutor exported, and comes back a draft.

The schedule continues from Anki's own state rather than being recomputed: the due
date, interval, ease (as SM-2's easiness), lapses and, when Anki ran FSRS, the memory
state. SM-2's repetitions are the passes since the last lapse in the review log. Each
review (an answer: not a due date set by hand, which Anki logs too) becomes a Tutor
review, graded on both scales by the explicit mapping (scheduler/grades.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from scheduler.grades import Rating
from service.cards.models import CardKind, CardStatus, FsrsState
from service.cards.schemas import clean_tags
from service.exchange.anki_notes import DRAFT_TAG
from service.exchange.anki_text import text_of_anki_field
from service.exchange.apkg_reader import PackageCard, PackageNote, PackageReview

__all__ = ["AnkiReview", "AnkiSchedule", "CardFromAnki", "cards_of", "source_title"]

# The root deck Tutor's own packages put cards under (service/exchange/anki_notes.py).
TUTOR_ROOT_DECK = "Tutor"
# Anki's deck for cards with no other: not a source.
DEFAULT_DECK = "Default"
MIN_EASINESS = 1.3
DEFAULT_EASINESS = 2.5
# The API's limit for a review's duration (service/reviews/schemas.py).
MAX_DURATION_MS = 86_400_000
_FSRS_STATES = {1: FsrsState.learning, 2: FsrsState.review, 3: FsrsState.relearning}

DayOf = Callable[[datetime], date]


@dataclass(frozen=True)
class AnkiReview:
    reviewed_at: datetime
    rating: Rating
    duration_ms: int
    # What Anki logged it did: the interval it set in days (0 for a step within the day),
    # and the ease after it (SM-2's easiness; None when Anki logged none, as under FSRS).
    interval: int
    easiness: float | None


@dataclass(frozen=True)
class AnkiSchedule:
    """Where the card stands in Anki; `due` is None for a card never reviewed."""

    suspended: bool
    due: date | None
    interval: int
    easiness: float
    repetitions: int
    lapses: int
    last_reviewed_at: datetime | None
    started_on: date | None
    fsrs_state: FsrsState | None
    stability: float | None
    difficulty: float | None


@dataclass(frozen=True)
class CardFromAnki:
    guid: str
    ord: int
    front: str
    back: str
    kind: CardKind
    tags: tuple[str, ...]
    draft: bool
    # When the note last changed in Anki (None if Anki's time is out of range).
    modified_at: datetime | None
    deck: str | None
    schedule: AnkiSchedule
    reviews: tuple[AnkiReview, ...]

    @property
    def status(self) -> CardStatus:
        if self.draft:
            return CardStatus.draft
        return CardStatus.suspended if self.schedule.suspended else CardStatus.active


def cards_of(note: PackageNote, *, day_of: DayOf) -> list[CardFromAnki]:
    """The Tutor cards of a note of a known kind (an `unknown` note gives none)."""
    if note.kind == "unknown":
        return []
    fields = [text_of_anki_field(field) for field in note.fields] + ["", ""]
    tags = tuple(tag for tag in clean_tags(list(note.tags)) if tag != DRAFT_TAG)
    draft = DRAFT_TAG in note.tags  # a draft Tutor exported, come back
    cards = []
    for card in note.cards:
        front, back = _sides(note, card, fields)
        kind = CardKind.cloze if note.kind == "cloze" else CardKind.basic
        reviews = _reviews(card.reviews)
        cards.append(
            CardFromAnki(
                guid=note.guid,
                ord=card.ord,
                front=front,
                back=back,
                kind=kind,
                tags=tags,
                draft=draft,
                modified_at=note.modified_at,
                deck=card.deck,
                schedule=_schedule(card, reviews, day_of),
                reviews=reviews,
            )
        )
    return cards


def source_title(deck: str | None) -> str | None:
    """The source a deck stands for: its name, less the root deck Tutor's packages use;
    None for Anki's Default deck and Tutor's root."""
    if deck is None or deck in (DEFAULT_DECK, TUTOR_ROOT_DECK):
        return None
    prefix = TUTOR_ROOT_DECK + "::"
    title = deck.removeprefix(prefix) if deck.startswith(prefix) else deck
    return " ".join(title.split())[:300] or None


def _sides(note: PackageNote, card: PackageCard, fields: list[str]) -> tuple[str, str]:
    if note.kind == "basic_reversed" and card.ord == 1:
        return fields[1], fields[0]
    return fields[0], fields[1]


def _reviews(logged: tuple[PackageReview, ...]) -> tuple[AnkiReview, ...]:
    answers = [
        AnkiReview(
            reviewed_at=review.reviewed_at,
            rating=Rating(review.ease),
            duration_ms=min(max(review.duration_ms, 0), MAX_DURATION_MS),
            interval=max(review.interval, 0),  # negative: seconds, a step within the day
            easiness=_easiness(review.ease_factor) if review.kind != "rescheduled" else None,
        )
        for review in logged
        if not review.manual and 1 <= review.ease <= 4 and review.reviewed_at is not None
    ]
    return tuple(sorted(answers, key=lambda review: review.reviewed_at))


def _schedule(card: PackageCard, reviews: tuple[AnkiReview, ...], day_of: DayOf) -> AnkiSchedule:
    last = reviews[-1].reviewed_at if reviews else None
    new = card.type == 0 or last is None
    memory = card.memory
    return AnkiSchedule(
        suspended=card.suspended,
        due=None if new else _due(card, last, day_of),
        interval=max(card.interval, 0),
        easiness=max(card.ease_factor / 1000, MIN_EASINESS)
        if card.ease_factor
        else DEFAULT_EASINESS,
        repetitions=_passes_since_lapse(reviews),
        lapses=max(card.lapses, 0),
        last_reviewed_at=last,
        started_on=day_of(reviews[0].reviewed_at) if reviews else None,
        fsrs_state=None if memory is None or new else _FSRS_STATES.get(card.type),
        stability=memory.stability if memory and not new else None,
        difficulty=memory.difficulty if memory and not new else None,
    )


def _due(card: PackageCard, last: datetime | None, day_of: DayOf) -> date | None:
    if card.due_date is not None:
        return card.due_date
    if card.due_at is not None:
        return day_of(card.due_at)
    return day_of(last) if last else None


def _passes_since_lapse(reviews: tuple[AnkiReview, ...]) -> int:
    passes = 0
    for review in reversed(reviews):
        if review.rating is Rating.again:
            break
        passes += 1
    return passes


def _easiness(ease_factor: int) -> float | None:
    """Anki's ease in permille as SM-2's easiness; None for 0 (not set, as for new cards)."""
    return max(ease_factor / 1000, MIN_EASINESS) if ease_factor > 0 else None


@dataclass(frozen=True)
class _Point:
    """A card's SM-2 schedule between two of its Anki reviews."""

    repetitions: int = 0
    easiness: float = DEFAULT_EASINESS
    interval: int = 0
    due: date | None = None
    drill: bool = False
    lapses: int = 0
    last_reviewed_at: datetime | None = None
    started_on: date | None = None

    def snapshot(self) -> dict[str, object]:
        """As service/cards/schedule.py's `snapshot` writes it."""
        return {
            "repetitions": self.repetitions,
            "easiness": self.easiness,
            "interval": self.interval,
            "due": self.due.isoformat() if self.due else None,
            "drill": self.drill,
            "lapses": self.lapses,
            "last_reviewed_at": self.last_reviewed_at.isoformat()
            if self.last_reviewed_at
            else None,
            "started_on": self.started_on.isoformat() if self.started_on else None,
        }


def snapshots(
    reviews: tuple[AnkiReview, ...], *, day_of: DayOf
) -> list[tuple[dict[str, object], dict[str, object]]]:
    """Each review's schedule before and after it, as Tutor's review log keeps them,
    rebuilt from what Anki logged: the interval it set and the ease; passes since the
    last lapse, and lapses (an Again on a card that had an interval) so far."""
    pairs = []
    point = _Point()
    for review in reviews:
        day = day_of(review.reviewed_at)
        again = review.rating is Rating.again
        after = _Point(
            repetitions=0 if again else point.repetitions + 1,
            easiness=review.easiness or point.easiness,
            interval=review.interval,
            due=day + timedelta(days=review.interval),
            drill=review.interval == 0,
            lapses=point.lapses + (again and point.interval > 0),
            last_reviewed_at=review.reviewed_at,
            started_on=point.started_on or day,
        )
        pairs.append((point.snapshot(), after.snapshot()))
        point = after
    return pairs
