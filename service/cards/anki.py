"""Anki packages (.apkg) of Tutor cards, so a learner can also review them in Anki.

Importing a newer package updates the notes an older one added instead of duplicating
them, because everything Anki matches on is derived, never random: note GUIDs from the
card id, deck ids from the deck name, and the two note types have fixed ids. Fields are
the sanitised HTML of `service.rendering`, with math left as LaTeX between `\\(…\\)` and
`\\[…\\]`, which Anki typesets with MathJax.
"""

from __future__ import annotations

import hashlib
import io
import itertools
import re
import sqlite3
import uuid
import zipfile
from collections.abc import Iterable
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import genanki  # type: ignore[import-untyped]

from service.rendering import render_markdown

__all__ = ["BASIC_NOTE_TYPE_ID", "CLOZE_NOTE_TYPE_ID", "ROOT_DECK", "AnkiCard", "build_apkg"]

# Never change these two ids. Anki recognises a note type by its id: with a new one, the
# next import would bring in a second "Tutor Basic" (or "Tutor Cloze") and the notes
# learners already have would stop being updated by later exports.
BASIC_NOTE_TYPE_ID = 1_859_343_739
CLOZE_NOTE_TYPE_ID = 1_625_457_169

ROOT_DECK = "Tutor"

# genanki's documented range for ids chosen by the package author: [2**30, 2**31).
_ID_FLOOR = 1 << 30
_ID_SPAN = 1 << 30

_CSS = """\
.card { font-family: system-ui, sans-serif; font-size: 20px; line-height: 1.5;
        text-align: left; max-width: 40em; margin: 0 auto; }
.cloze { font-weight: bold; color: blue; }
.nightMode .cloze { color: lightblue; }
code, pre { font-family: ui-monospace, monospace; font-size: 0.9em; }
pre { overflow-x: auto; }
table { border-collapse: collapse; }
th, td { border: 1px solid #888; padding: 0.2em 0.5em; }
"""


@dataclass(frozen=True)
class AnkiCard:
    """One card as Anki gets it; `front` and `back` are Tutor's Markdown with math."""

    id: uuid.UUID
    front: str
    back: str
    kind: Literal["basic", "cloze"]
    tags: tuple[str, ...]
    source_title: str | None
    # When the card last changed in Tutor: the note's modification time in Anki.
    modified_at: datetime


def build_apkg(cards: Iterable[AnkiCard], *, exported_at: datetime | None = None) -> bytes:
    """An .apkg with one deck per source (`Tutor::<title>`) and `Tutor` for the rest.

    Each note's modification time is when its card last changed in Tutor. Anki's
    default import setting updates a note only when the package's copy is newer, so an
    edit made in Tutor reaches Anki, while re-exporting an unchanged card leaves any
    edit the learner made in Anki alone. `exported_at` (default: now) dates the package.
    """
    note_types = _NoteTypes()
    decks: dict[str, Any] = {}
    modified: dict[str, int] = {}
    for card in cards:
        name = _deck_name(card.source_title)
        if name not in decks:
            decks[name] = genanki.Deck(_deck_id(name), name)
        note = note_types.note_for(card)
        decks[name].add_note(note)
        modified[note.guid] = int(card.modified_at.timestamp())
    timestamp = (exported_at or datetime.now(UTC)).timestamp()
    return _package_bytes(genanki.Package(list(decks.values())), timestamp, modified)


# --- note types -----------------------------------------------------------------------


class _NoteTypes:
    """The two note types, built per export: genanki fills in their dicts as it writes."""

    def __init__(self) -> None:
        self.basic = genanki.Model(
            BASIC_NOTE_TYPE_ID,
            "Tutor Basic",
            fields=[{"name": "Front"}, {"name": "Back"}],
            templates=[
                {
                    "name": "Card 1",
                    "qfmt": "{{Front}}",
                    "afmt": "{{FrontSide}}\n\n<hr id=answer>\n\n{{Back}}",
                }
            ],
            css=_CSS,
        )
        self.cloze = genanki.Model(
            CLOZE_NOTE_TYPE_ID,
            "Tutor Cloze",
            fields=[{"name": "Text"}, {"name": "Back Extra"}],
            templates=[
                {
                    "name": "Cloze",
                    "qfmt": "{{cloze:Text}}",
                    "afmt": "{{cloze:Text}}\n\n{{#Back Extra}}<hr>{{Back Extra}}{{/Back Extra}}",
                }
            ],
            css=_CSS,
            model_type=genanki.Model.CLOZE,
        )

    def note_for(self, card: AnkiCard) -> Any:
        return genanki.Note(
            model=self.cloze if card.kind == "cloze" else self.basic,
            fields=[_field_html(card.front), _field_html(card.back)],
            tags=_anki_tags(card.tags),
            # The card id, not the content: an edited card must update its note.
            guid=genanki.guid_for(str(card.id)),
        )


def _field_html(markdown: str) -> str:
    # Cloze deletions ({{c1::…::…}}) are plain text to Markdown, so they come through
    # as they are, with any math inside them converted like the rest.
    return render_markdown(markdown, math="anki").strip()


def _anki_tags(tags: Iterable[str]) -> list[str]:
    # A space separates tags in Anki, so one inside a tag becomes "_" (as Tutor's own
    # tag cleaning does); empty and repeated tags are dropped.
    joined = ("_".join(tag.split()) for tag in tags)
    return list(dict.fromkeys(tag for tag in joined if tag))


# --- decks ----------------------------------------------------------------------------

# "::" separates levels of Anki's deck tree; inside a title it must not start a subdeck.
_LEVEL_SEPARATOR = re.compile(r":{2,}")


def _deck_name(source_title: str | None) -> str:
    title = " ".join(_LEVEL_SEPARATOR.sub(":", source_title or "").split())
    return f"{ROOT_DECK}::{title}" if title else ROOT_DECK


def _deck_id(name: str) -> int:
    # From the name, so every export puts a source's cards in the same deck.
    digest = hashlib.sha256(name.encode()).digest()
    return _ID_FLOOR + int.from_bytes(digest[:8], "big") % _ID_SPAN


# --- package --------------------------------------------------------------------------


def _package_bytes(package: Any, timestamp: float, modified: dict[str, int]) -> bytes:
    # genanki's write_to_file leaves its temporary SQLite file behind in the system temp
    # directory on every call; building the collection in memory leaves nothing behind.
    with closing(sqlite3.connect(":memory:")) as connection:
        # Anki's note and card ids are creation times in milliseconds, counting up.
        ids = itertools.count(int(timestamp * 1000))
        package.write_to_db(connection.cursor(), timestamp, ids)
        # genanki stamps every note with the package time; Anki compares per note.
        connection.executemany(
            "UPDATE notes SET mod = ? WHERE guid = ?",
            [(mod, guid) for guid, mod in modified.items()],
        )
        connection.commit()
        collection = connection.serialize()
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as apkg:
        apkg.writestr("collection.anki2", collection)
        apkg.writestr("media", "{}")  # no media: an empty archive-name → file-name map
    return archive.getvalue()
