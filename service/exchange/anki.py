"""Anki packages (.apkg) of Tutor cards, so a learner can also review them in Anki.

Importing a newer package updates the notes an older one added instead of duplicating
them, because everything Anki matches on is derived, never random: note GUIDs from the
card id (or the Anki note the card came from, see `anki_notes`), and the note types have
fixed ids. Fields are the sanitised HTML of `service.rendering`, with math left as LaTeX
between `\\(…\\)` and `\\[…\\]`, which Anki typesets with MathJax, and cloze deletions
written so that Anki reads them as Tutor does (`anki_fields`).

Each card carries its progress (`anki_schedule`): scheduling, FSRS memory state and one
review-log row per review. Suspended cards go out suspended. Drafts go out suspended and
tagged `tutor::draft`, never as cards to study. Anki applies a card's scheduling, its
suspension included, only when the learner ticks "Import any learning progress" (off by
default), and only to cards it does not have yet; without it every card arrives new and
unsuspended (drafts keep their tag, so `tag:tutor::draft` finds them).

One deck per source, `Tutor::<title>`, and `Tutor` for cards without one. A deck's id in
the package comes from the source's id (the root's is fixed), but Anki's importer
ignores it: it files cards into the deck with the package's deck *name*, creating it if
need be, and never moves a card it already has. So after a source is renamed, the next
import puts only cards new to Anki in a deck with the new name; the cards Anki already
has stay in the deck with the old name, which the learner can rename in Anki.
"""

from __future__ import annotations

import hashlib
import io
import itertools
import json
import re
import sqlite3
import uuid
import zipfile
from collections.abc import Iterable, Iterator
from contextlib import closing
from datetime import UTC, datetime
from typing import Any

import genanki  # type: ignore[import-untyped]

from service.exchange.anki_notes import (
    BASIC_NOTE_TYPE_ID,
    CLOZE_NOTE_TYPE_ID,
    DRAFT_TAG,
    REVERSED_NOTE_TYPE_ID,
    AnkiCard,
    PlannedNote,
    SourceRef,
    plan_notes,
)
from service.exchange.anki_schedule import (
    COLLECTION_CONFIG,
    COLLECTION_CREATED,
    CardProgress,
    card_columns,
    revlog_rows,
)

__all__ = [
    "BASIC_NOTE_TYPE_ID",
    "CLOZE_NOTE_TYPE_ID",
    "DRAFT_TAG",
    "REVERSED_NOTE_TYPE_ID",
    "ROOT_DECK",
    "AnkiCard",
    "SourceRef",
    "build_apkg",
]

ROOT_DECK = "Tutor"
ROOT_DECK_ID = 1_322_665_467  # what the name hashed to when deck ids came from names

# genanki's documented range for ids chosen by the package author: [2**30, 2**31).
_ID_FLOOR = 1 << 30
_ID_SPAN = 1 << 30


def build_apkg(cards: Iterable[AnkiCard], *, exported_at: datetime | None = None) -> bytes:
    """An .apkg with one deck per source (`Tutor::<title>`) and `Tutor` for the rest.

    Each note's modification time is when its cards last changed in Tutor. Anki's
    default import setting updates a note only when the package's copy is newer, so an
    edit made in Tutor reaches Anki, while re-exporting an unchanged card leaves any
    edit the learner made in Anki alone. `exported_at` (default: now) dates the package.
    New cards keep the order of `cards`.
    """
    cards = list(cards)
    notes = plan_notes(cards)
    decks: dict[int, Any] = {}
    for card in cards:
        deck_id = _deck_id(card.source)
        decks.setdefault(deck_id, genanki.Deck(deck_id, _deck_name(card.source)))
    for planned in notes:
        decks[_deck_id(planned.first.source)].add_note(planned.note)
    timestamp = (exported_at or datetime.now(UTC)).timestamp()
    positions = {card.id: position for position, card in enumerate(cards, start=1)}
    package = genanki.Package(list(decks.values()))
    return _package_bytes(package, timestamp, notes, positions)


# --- decks ----------------------------------------------------------------------------

# "::" separates levels of Anki's deck tree; inside a title it must not start a subdeck.
_LEVEL_SEPARATOR = re.compile(r":{2,}")


def _deck_name(source: SourceRef | None) -> str:
    title = " ".join(_LEVEL_SEPARATOR.sub(":", source.title if source else "").split())
    return f"{ROOT_DECK}::{title}" if title else ROOT_DECK


def _deck_id(source: SourceRef | None) -> int:
    # From the source's id, not its title, so that a source keeps its id when renamed.
    if source is None:
        return ROOT_DECK_ID
    digest = hashlib.sha256(source.id.bytes).digest()
    return _ID_FLOOR + int.from_bytes(digest[:8], "big") % _ID_SPAN


# --- package --------------------------------------------------------------------------


def _package_bytes(
    package: Any, timestamp: float, notes: list[PlannedNote], positions: dict[uuid.UUID, int]
) -> bytes:
    # genanki's write_to_file leaves its temporary SQLite file behind in the system temp
    # directory on every call; building the collection in memory leaves nothing behind.
    with closing(sqlite3.connect(":memory:")) as connection:
        # Anki's note and card ids are creation times in milliseconds, counting up.
        ids = itertools.count(int(timestamp * 1000))
        package.write_to_db(connection.cursor(), timestamp, ids)
        _date_collection(connection)
        # genanki stamps every note with the package time; Anki compares per note.
        connection.executemany(
            "UPDATE notes SET mod = ? WHERE guid = ?",
            [(int(note.modified_at.timestamp()), note.note.guid) for note in notes],
        )
        _write_progress(connection, notes, positions)
        connection.commit()
        collection = connection.serialize()
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as apkg:
        apkg.writestr("collection.anki2", collection)
        apkg.writestr("media", "{}")  # no media: an empty archive-name → file-name map
    return archive.getvalue()


def _date_collection(connection: sqlite3.Connection) -> None:
    """Fix the day the package's collection counts from (see `anki_schedule`)."""
    (conf,) = connection.execute("SELECT conf FROM col").fetchone()
    settings = json.loads(conf) | COLLECTION_CONFIG
    crt = int(COLLECTION_CREATED.timestamp())
    connection.execute("UPDATE col SET crt = ?, conf = ?", (crt, json.dumps(settings)))


def _write_progress(
    connection: sqlite3.Connection, notes: list[PlannedNote], positions: dict[uuid.UUID, int]
) -> None:
    """Give each Anki card genanki wrote its Tutor card's deck, status and progress, and
    drop those no Tutor card is (a note's other cards that this export leaves out)."""
    by_guid = {planned.note.guid: planned for planned in notes}
    rows = connection.execute(
        "SELECT cards.id, notes.guid, cards.ord FROM cards JOIN notes ON notes.id = cards.nid"
        " ORDER BY notes.id, cards.ord"
    ).fetchall()
    logged: list[tuple[int, CardProgress]] = []
    seen: set[uuid.UUID] = set()
    for card_id, guid, number in rows:
        card = by_guid[guid].cards_by_ord.get(number)
        if card is None:
            connection.execute("DELETE FROM cards WHERE id = ?", (card_id,))
            continue
        _update_card(connection, card_id, card, positions[card.id])
        # One review, one log row: a card that is several Anki cards logs on the first.
        if card.progress is not None and card.id not in seen:
            logged.append((card_id, card.progress))
        seen.add(card.id)
    connection.executemany(
        "INSERT INTO revlog VALUES (?, ?, -1, ?, ?, ?, ?, ?, ?)", _revlog_values(logged)
    )


def _update_card(
    connection: sqlite3.Connection, card_id: int, card: AnkiCard, position: int
) -> None:
    columns = card_columns(card.progress, suspended=card.status != "active", position=position)
    connection.execute(
        "UPDATE cards SET did = ?, type = ?, queue = ?, due = ?, ivl = ?, factor = ?,"
        " reps = ?, lapses = ?, left = ?, data = ? WHERE id = ?",
        (
            _deck_id(card.source),
            columns.type,
            columns.queue,
            columns.due,
            columns.ivl,
            columns.factor,
            columns.reps,
            columns.lapses,
            columns.left,
            columns.data,
            card_id,
        ),
    )


def _revlog_values(logged: list[tuple[int, CardProgress]]) -> Iterator[tuple[int, ...]]:
    for row in revlog_rows(logged):
        yield (row.id, row.cid, row.ease, row.ivl, row.last_ivl, row.factor, row.time, row.type)
