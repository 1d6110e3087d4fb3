"""Cards out to Anki and CSV, and in from CSV (ours, or Anki's plain-text export)."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from service.cards import cloze
from service.cards.dedupe import DuplicateFinder
from service.cards.models import Card, CardKind, CardOrigin, CardStatus
from service.cards.quality import is_skippable, quality_flags
from service.cards.schemas import clean_tags
from service.cards.service import NewCard, add_batch, dedupe_text, duplicate_finder
from service.exchange.anki import build_apkg
from service.exchange.anki_export import anki_card, reviews_by_card
from service.exchange.anki_fields import anki_field
from service.exchange.anki_notes import own_guid
from service.exchange.anki_text import text_of_anki_field
from service.exchange.csv_io import (
    CsvCard,
    ImportRow,
    RowError,
    format_csv,
    parse_cards,
)
from service.exchange.queries import cards_with_ids, cards_with_source_titles, note_keys
from service.learners.models import Learner
from service.learners.service import lock_learner


async def export_anki(db: AsyncSession, *, learner: Learner, include_all: bool) -> bytes:
    """An .apkg of the cards with their scheduling and review log (`service.exchange.anki`)."""
    rows = await cards_with_source_titles(db, learner_id=learner.id, include_all=include_all)
    reviews = await reviews_by_card(db, learner=learner, include_all=include_all)
    cards = [
        anki_card(card, title, reviews.get(card.id, ()), learner=learner) for card, title in rows
    ]
    # Building the package is CPU and SQLite work: keep it off the event loop.
    return await asyncio.to_thread(build_apkg, cards)


async def export_csv(db: AsyncSession, *, learner: Learner, include_all: bool) -> str:
    rows = await cards_with_source_titles(db, learner_id=learner.id, include_all=include_all)
    return format_csv(
        CsvCard(
            front=card.front,
            back=card.back,
            kind=card.kind.value,
            tags=tuple(card.tags),
            status=card.status.value,
            source=title,
            due=card.due,
        )
        for card, title in rows
    )


@dataclass
class ImportReport:
    imported: int = 0
    updated: int = 0
    skipped_duplicates: int = 0
    errors: list[RowError] = field(default_factory=list)


async def import_csv(
    db: AsyncSession, *, learner: Learner, data: bytes, now: datetime
) -> ImportReport:
    """Import what can be imported; report each bad row by its line. Raises NotUtf8.

    A row with an Anki GUID that names one of the learner's notes (see `_anki_notes`)
    updates that note's cards: their text and tags, keeping their status, schedule and
    history; if nothing changed, the row counts as a duplicate and the cards are left
    alone. A GUID that names no note makes a new card that keeps it (as the note's card
    0), so the next import of the note updates it.
    """
    parsed = parse_cards(data)
    # One import at a time per learner: two would both create the same new cards.
    await lock_learner(db, learner.id)
    report = ImportReport(errors=list(parsed.errors))
    finder = await duplicate_finder(db, learner=learner)
    notes = await _anki_notes(db, learner=learner, guids={row.guid for row in parsed.rows})
    # Rendering cards as Anki shows them is CPU work (0.1 ms a field), and a file can
    # name 10,000 cards: off the event loop, with the texts read here.
    texts = [
        (item.card.id, item.card.front, item.card.back) for note in notes.values() for item in note
    ]
    views = await asyncio.to_thread(_anki_views, texts) if texts else {}
    for row in parsed.rows:
        note = notes.get(row.guid) if row.guid is not None else None
        if note:
            _update_note(note, row, views, report=report, finder=finder, now=now)
            continue
        kind = CardKind.cloze if cloze.deletions(row.front) else CardKind.basic
        draft = NewCard(front=row.front, back=row.back, kind=kind, tags=clean_tags(list(row.tags)))
        result = await add_batch(
            db,
            learner=learner,
            drafts=[draft],
            status=CardStatus.active,
            origin=CardOrigin.imported,
            finder=finder,
            now=now,
        )
        report.imported += len(result.cards)
        for new_card in result.cards:
            if row.guid is not None:
                new_card.anki_guid, new_card.anki_ord = row.guid, 0
                notes[row.guid] = [_NoteCard(new_card, reversed=False)]
        for skipped in result.skipped:
            if skipped.reason == "duplicate":
                report.skipped_duplicates += 1
            else:
                report.errors.append(_unusable(row.line, skipped.quality_flags))
    await db.commit()
    report.errors.sort(key=lambda error: error.line)
    return report


def _unusable(line: int, flags: Sequence[str]) -> RowError:
    return RowError(line=line, message=f"not a usable card ({', '.join(flags)})")


@dataclass(frozen=True)
class _NoteCard:
    """One card of an Anki note; a reversed card (card 2 of a basic note) asks the
    note's back, so the note's fields are its back and front."""

    card: Card
    reversed: bool


async def _anki_notes(
    db: AsyncSession, *, learner: Learner, guids: set[str | None]
) -> dict[str, list[_NoteCard]]:
    """The learner's cards that make the Anki notes with these GUIDs, by GUID.

    As Tutor's export makes notes (cards/anki_notes.py): the cards that came from Anki
    share their note's GUID (`anki_guid`), each its card number (`anki_ord`); any other
    card is a note of its own, whose GUID is derived from the card id. That GUID is
    computed for every card, once per import (a hash: about 60 ms for 10,000 cards),
    for cards from Anki too, which go out alone when their note cannot make them.
    """
    wanted = {guid for guid in guids if guid is not None}
    if not wanted:
        return {}
    by_anki_guid: dict[str, list[tuple[uuid.UUID, bool]]] = {}
    by_card_id: dict[str, uuid.UUID] = {}
    for card_id, kind, anki_guid, anki_ord in await note_keys(db, learner_id=learner.id):
        if anki_guid in wanted:
            swapped = kind is CardKind.basic and anki_ord == 1
            by_anki_guid.setdefault(anki_guid, []).append((card_id, swapped))
        exported = own_guid(card_id)
        if exported in wanted:
            by_card_id[exported] = card_id
    named = {guid: [(card_id, False)] for guid, card_id in by_card_id.items()}
    named.update(by_anki_guid)  # a note from Anki is its cards, wherever they went since
    ids = [card_id for members in named.values() for card_id, _ in members]
    cards = await cards_with_ids(db, ids=ids)
    return {
        guid: [_NoteCard(cards[card_id], swapped) for card_id, swapped in members]
        for guid, members in named.items()
    }


_WHITESPACE = re.compile(r"\s+")


def _squeezed(text: str) -> str:
    return _WHITESPACE.sub("", text)


@dataclass(frozen=True)
class _AnkiView:
    """A card's front and back as they come back from Anki when nobody edited them:
    rendered to HTML as cards/anki_notes.py writes a field, read back as anki_text.py reads
    one; whitespace left out, since Anki's export without HTML joins lines with spaces,
    and the export spaces out braces and colons in cloze deletions (anki_fields.py)."""

    front: str
    back: str


def _anki_views(texts: Sequence[tuple[uuid.UUID, str, str]]) -> dict[uuid.UUID, _AnkiView]:
    return {
        card_id: _AnkiView(_squeezed(_as_anki_text(front)), _squeezed(_as_anki_text(back)))
        for card_id, front, back in texts
    }


def _as_anki_text(markdown: str) -> str:
    return text_of_anki_field(anki_field(markdown))


def _same_text(row_text: str, card_text: str, exported: str | None) -> bool:
    """Whether a field from Anki still says what the card says, so the card's own text
    (Markdown, which the trip through Anki's HTML loses) is kept."""
    return row_text == card_text or (exported is not None and _squeezed(row_text) == exported)


@dataclass(frozen=True)
class _Edit:
    card: Card
    front: str
    back: str
    kind: CardKind
    tags: list[str]
    flags: list[str]


def _edit(item: _NoteCard, row: ImportRow, view: _AnkiView | None) -> _Edit | None:
    """What the row changes in one card of its note, or None if nothing."""
    card = item.card
    row_front, row_back = (row.back, row.front) if item.reversed else (row.front, row.back)
    new_front = not _same_text(row_front, card.front, view.front if view else None)
    front = row_front if new_front else card.front
    back = card.back if _same_text(row_back, card.back, view.back if view else None) else row_back
    tags = clean_tags(list(row.tags) if row.tags_given else [*card.tags, *row.tags])
    if not new_front and back == card.back and sorted(tags) == card.tags:
        return None
    # The kind follows the front; a reversed card belongs to a basic note.
    kind = card.kind
    if new_front and not item.reversed:
        kind = CardKind.cloze if cloze.deletions(front) else CardKind.basic
    return _Edit(card, front, back, kind, tags, quality_flags(front, back, kind.value))


def _update_note(
    note: Sequence[_NoteCard],
    row: ImportRow,
    views: dict[uuid.UUID, _AnkiView],
    *,
    report: ImportReport,
    finder: DuplicateFinder[uuid.UUID],
    now: datetime,
) -> None:
    """Give the note's cards the row's text and tags where they changed: all or none."""
    edits = [edit for item in note if (edit := _edit(item, row, views.get(item.card.id)))]
    if not edits:
        report.skipped_duplicates += 1
        return
    unusable = [edit.flags for edit in edits if is_skippable(edit.flags)]
    if unusable:
        report.errors.append(_unusable(row.line, unusable[0]))
        return
    for edit in edits:
        card = edit.card
        if edit.front != card.front:
            finder.add(card.id, dedupe_text(edit.front, edit.kind))
        card.front, card.back, card.kind, card.tags = edit.front, edit.back, edit.kind, edit.tags
        card.quality_flags = edit.flags
        card.updated_at = now
    report.updated += 1
