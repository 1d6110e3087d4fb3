"""Anki packages (.apkg, .colpkg) read into plain data: notes, cards and review history.

`read_package` takes the bytes of a package exported by Anki (any layout since 2.1) and
returns frozen dataclasses, with no database or HTTP involved. Every failure, whatever
the upload holds, is a `PackageError`. Only fixed queries are run, on tables checked to
be real tables with the expected columns, so field text that looks like SQL is just text.

The layers below, lowest first: `apkg_archive` (the zip and zstd layers, size caps,
which collection), `apkg_collection` (the SQLite file opened safely, typed cells),
`apkg_settings` (note types, recognised by their shape, and decks, in either schema)
and `apkg_dates` (day numbers and Unix times as dates). Note types it does not
recognise are named and counted in `problems`. A card in a filtered deck is read as it
is in its home deck.
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from math import isfinite
from typing import Literal

from service.exchange.apkg_archive import PackageError, damaged
from service.exchange.apkg_collection import (
    CollectionFile,
    cell_integer,
    cell_text,
    check_tables,
    open_collection,
)
from service.exchange.apkg_dates import calendar_day_zero, due_dates, timestamp
from service.exchange.apkg_settings import NoteKind, NoteType, note_kind, read_settings

__all__ = [
    "AnkiPackage",
    "FsrsMemory",
    "NoteKind",
    "PackageCard",
    "PackageError",
    "PackageNote",
    "PackageReview",
    "ReviewKind",
    "read_package",
]

MiB = 1 << 20

ReviewKind = Literal["learn", "review", "relearn", "filtered", "manual", "rescheduled", "unknown"]


# --- what a package holds -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FsrsMemory:
    """FSRS's memory state of a card, kept in the card's `data` once FSRS is on."""

    stability: float  # days until recall probability falls to 90 %
    difficulty: float  # 1 (easiest) to 10
    desired_retention: float | None


@dataclass(frozen=True, slots=True)
class PackageReview:
    """One entry of Anki's review log (`revlog`)."""

    id: int  # when it happened, in milliseconds since the epoch
    reviewed_at: datetime | None  # the same in UTC; None when out of range
    # The button: 1 again, 2 hard, 3 good, 4 easy; 0 when nothing was answered.
    ease: int
    interval: int  # after the review: days if positive, seconds if negative
    last_interval: int  # before it, likewise
    # SM-2's ease in permille (2500 = 250 %); under FSRS, difficulty scaled to 100–1100.
    ease_factor: int
    duration_ms: int
    type: int  # Anki's number; see `kind`

    @property
    def kind(self) -> ReviewKind:
        return _REVIEW_KINDS.get(self.type, "unknown")

    @property
    def manual(self) -> bool:
        """Not a review: a due date set by hand, a reset, or an FSRS reschedule."""
        return self.ease == 0


# Anki's RevlogReviewKind; 3 is "cram" in old versions (reviewing early, or in a
# filtered deck), 5 is FSRS rescheduling a card after its parameters changed.
_REVIEW_KINDS: dict[int, ReviewKind] = {
    0: "learn",
    1: "review",
    2: "relearn",
    3: "filtered",
    4: "manual",
    5: "rescheduled",
}


@dataclass(frozen=True, slots=True)
class PackageCard:
    """One card, as Anki's `cards` row has it (from its home deck if in a filtered one)."""

    id: int
    ord: int  # the template (basic) or cloze number minus one
    deck: str | None  # None when its deck is not in the package
    type: int  # 0 new, 1 learning, 2 review, 3 relearning
    # -3 buried by hand, -2 buried as a sibling, -1 suspended, 0 new, 1 learning,
    # 2 review, 3 learning across days, 4 preview.
    queue: int
    due: int  # as stored: new-queue position, day number or Unix time
    due_date: date | None  # for cards due in days (review, and learning across days)
    due_at: datetime | None  # for cards due within a day (learning), in UTC
    interval: int  # days
    ease_factor: int  # permille; 0 for new cards
    reps: int
    lapses: int
    memory: FsrsMemory | None
    reviews: tuple[PackageReview, ...]

    @property
    def suspended(self) -> bool:
        return self.queue == -1

    @property
    def buried(self) -> bool:
        return self.queue in (-2, -3)


@dataclass(frozen=True, slots=True)
class PackageNote:
    id: int
    guid: str
    modified_at: datetime | None  # the last edit (`mod`), in UTC; None when out of range
    note_type: str  # the note type's name; "" when it is missing from the package
    kind: NoteKind
    fields: tuple[str, ...]  # Anki's field HTML, in the note type's field order
    tags: tuple[str, ...]
    deck: str | None  # the deck of its first card
    cards: tuple[PackageCard, ...]  # by ord


@dataclass(frozen=True)
class AnkiPackage:
    collection: str  # the member read, e.g. "collection.anki21b"
    schema_version: int  # 11 for legacy exports, 18 for current ones
    created_at: datetime | None  # the collection's creation time (`crt`), in UTC
    notes: tuple[PackageNote, ...]
    decks: tuple[str, ...]  # every deck, "::" between levels, parents before children
    media_files: int  # not read: Tutor's cards have no media
    problems: tuple[str, ...]  # for the learner: what will not come through as it was


def read_package(
    data: bytes,
    *,
    max_bytes: int = 200 * MiB,
    max_notes: int = 100_000,
    max_cards: int = 400_000,
    max_reviews: int = 2_000_000,
) -> AnkiPackage:
    """The notes, cards and reviews of an .apkg or .colpkg; raises PackageError.

    `max_bytes` caps each decompression layer's output; the others refuse a package
    with more rows than that, before any is read.
    """
    limits = _Limits(notes=max_notes, cards=max_cards, reviews=max_reviews)
    with open_collection(data, max_bytes=max_bytes) as collection:
        try:
            return _read(collection, limits)
        # UnicodeDecodeError: Python decodes SQLite's error messages, which quote the
        # schema's text, and a damaged schema's text may not be UTF-8.
        except (sqlite3.Error, UnicodeDecodeError) as error:
            raise damaged("its collection cannot be read") from error


@dataclass(frozen=True)
class _Limits:
    notes: int
    cards: int
    reviews: int


def _read(collection: CollectionFile, limits: _Limits) -> AnkiPackage:
    connection = collection.connection
    settings = read_settings(connection)
    check_tables(connection, _TABLES)
    _check_counts(connection, limits)
    reviews = _reviews(connection)
    day_zero = calendar_day_zero(settings.created, settings.creation_offset)
    cards = _cards(connection, settings.decks, day_zero, reviews)
    notes = tuple(_notes(connection, settings.note_types, cards))
    return AnkiPackage(
        collection=collection.name,
        schema_version=settings.schema_version,
        created_at=timestamp(settings.created),
        notes=notes,
        decks=_deck_tree(settings.decks, notes),
        media_files=collection.media_files,
        problems=tuple(_problems(notes)),
    )


# --- rows -----------------------------------------------------------------------------

# The columns the queries below read; `read_settings` checks `col` and the tables of
# the collection's schema.
_TABLES = {
    "notes": ("id", "guid", "mid", "mod", "tags", "flds"),
    "cards": (
        *("id", "nid", "did", "ord", "type", "queue", "due", "ivl", "factor"),
        *("reps", "lapses", "odue", "odid", "data"),
    ),
    "revlog": ("id", "cid", "ease", "ivl", "lastIvl", "factor", "time", "type"),
}


def _check_counts(connection: sqlite3.Connection, limits: _Limits) -> None:
    for query, limit, what in (
        ("SELECT count(*) FROM notes", limits.notes, "notes"),
        ("SELECT count(*) FROM cards", limits.cards, "cards"),
        ("SELECT count(*) FROM revlog", limits.reviews, "reviews"),
    ):
        count = cell_integer(connection.execute(query).fetchone()[0])
        if count > limit:
            raise PackageError(
                f"The package has {count:,} {what}; Tutor reads at most {limit:,} at a "
                "time. Export a smaller deck from Anki."
            )


_REVIEW_QUERY = (
    "SELECT id, cid, ease, ivl, lastIvl, factor, time, type FROM revlog ORDER BY cid, id"
)


def _reviews(connection: sqlite3.Connection) -> dict[int, list[PackageReview]]:
    by_card: defaultdict[int, list[PackageReview]] = defaultdict(list)
    for row in connection.execute(_REVIEW_QUERY):
        id_, card_id, ease, interval, last, factor, duration, type_ = map(cell_integer, row)
        by_card[card_id].append(
            PackageReview(
                id=id_,
                reviewed_at=timestamp(id_ / 1000),
                ease=ease,
                interval=interval,
                last_interval=last,
                ease_factor=factor,
                duration_ms=duration,
                type=type_,
            )
        )
    return by_card


_CARD_QUERY = (
    "SELECT id, nid, did, ord, type, queue, due, ivl, factor, reps, lapses, odue, odid, data"
    " FROM cards ORDER BY nid, ord, id"
)


def _cards(
    connection: sqlite3.Connection,
    deck_names: dict[int, str],
    day_zero: date | None,
    reviews: dict[int, list[PackageReview]],
) -> dict[int, list[PackageCard]]:
    by_note: defaultdict[int, list[PackageCard]] = defaultdict(list)
    for row in connection.execute(_CARD_QUERY):
        id_, note_id, deck_id, ord_, type_, queue, due, interval, factor, reps, lapses = map(
            cell_integer, row[:11]
        )
        original_due, original_deck = cell_integer(row[11]), cell_integer(row[12])
        if original_deck:  # in a filtered deck: read it as it is at home
            deck_id, due = original_deck, original_due
        due_date, due_at = due_dates(type_, queue, due, day_zero)
        by_note[note_id].append(
            PackageCard(
                id=id_,
                ord=ord_,
                deck=deck_names.get(deck_id),
                type=type_,
                queue=queue,
                due=due,
                due_date=due_date,
                due_at=due_at,
                interval=interval,
                ease_factor=factor,
                reps=reps,
                lapses=lapses,
                memory=_memory(cell_text(row[13])),
                reviews=tuple(reviews.get(id_, ())),
            )
        )
    return by_note


def _memory(data: str) -> FsrsMemory | None:
    # Anki ignores card data it cannot read, and so does this.
    try:
        values = json.loads(data) if data.startswith("{") else None
    except (ValueError, RecursionError):
        return None
    if not isinstance(values, dict):
        return None
    stability, difficulty, retention = (_json_float(values.get(key)) for key in ("s", "d", "dr"))
    if stability is None or difficulty is None:
        return None
    return FsrsMemory(stability, difficulty, retention)


def _json_float(value: object) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and isfinite(value):
        return float(value)
    return None


_NOTE_QUERY = "SELECT id, guid, mid, mod, tags, flds FROM notes ORDER BY id"


def _notes(
    connection: sqlite3.Connection,
    types: dict[int, NoteType],
    cards: dict[int, list[PackageCard]],
) -> Iterable[PackageNote]:
    missing = NoteType(name="", kind=-1, stock_kind=0, fields=(), questions=())
    for id_, guid, type_id, modified, tags, fields in connection.execute(_NOTE_QUERY):
        note_type = types.get(cell_integer(type_id), missing)
        values = tuple(cell_text(fields).split("\x1f"))
        note_cards = tuple(cards.get(cell_integer(id_), ()))
        yield PackageNote(
            id=cell_integer(id_),
            guid=cell_text(guid),
            modified_at=timestamp(cell_integer(modified)),
            note_type=note_type.name,
            kind=note_kind(note_type, values),
            fields=values,
            tags=tuple(cell_text(tags).split()),
            deck=note_cards[0].deck if note_cards else None,
            cards=note_cards,
        )


# --- decks and problems ---------------------------------------------------------------

_DEFAULT_DECK = 1


def _deck_tree(deck_names: dict[int, str], notes: Iterable[PackageNote]) -> tuple[str, ...]:
    used = {card.deck for note in notes for card in note.cards}
    # Anki hides the empty Default deck, which every collection has.
    names = [
        name for deck_id, name in deck_names.items() if deck_id != _DEFAULT_DECK or name in used
    ]
    return tuple(sorted(names, key=lambda name: [part.casefold() for part in name.split("::")]))


def _problems(notes: tuple[PackageNote, ...]) -> Iterable[str]:
    unknown = Counter(note.note_type for note in notes if note.kind == "unknown")
    missing_type = unknown.pop("", 0)
    for name, count in sorted(unknown.items()):
        yield f"{_count(count, 'note')} of unknown note type '{name}'"
    if missing_type:
        yield f"{_count(missing_type, 'note')} whose note type is missing from the package"
    without_cards = sum(1 for note in notes if not note.cards)
    if without_cards:
        yield f"{_count(without_cards, 'note')} without cards"
    homeless = sum(1 for note in notes for card in note.cards if card.deck is None)
    if homeless:
        yield f"{_count(homeless, 'card')} whose deck is missing from the package"


def _count(number: int, noun: str) -> str:
    return f"{number:,} {noun}" + ("" if number == 1 else "s")
