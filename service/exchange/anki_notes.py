"""Tutor cards as Anki notes: which cards make one note, its note type, GUID and fields.

A card Tutor made is a note of its own, its GUID derived from the card id. A card that
came from Anki keeps its note: cards sharing `anki_guid` are one note with that GUID,
each the note's card number `anki_ord` (0-based, as Anki numbers them). For a cloze note
that is the deletion number minus one; a basic note whose card 1 is exported is a "Tutor
Basic (and reversed card)" note, card 1 asking the back. The note's fields come from its
first card (the reversed card's fields read the other way round when it is alone).

A card Tutor made from a cloze text with several numbers is several Anki cards, one per
number, all with the card's progress; its review log goes with the first. A card whose
number the note cannot make (its text no longer has that deletion, say) is not lost: it
goes out as a note of its own, as a card Tutor made would.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Literal

import genanki  # type: ignore[import-untyped]

from service.exchange.anki_fields import anki_field
from service.exchange.anki_schedule import CardProgress
from service.rendering import render_markdown

__all__ = [
    "BASIC_NOTE_TYPE_ID",
    "CLOZE_NOTE_TYPE_ID",
    "DRAFT_TAG",
    "REVERSED_NOTE_TYPE_ID",
    "AnkiCard",
    "PlannedNote",
    "SourceRef",
    "own_guid",
    "plan_notes",
]

# Never change these ids. Anki recognises a note type by its id: with a new one, the
# next import would bring in a second "Tutor Basic" (or "Tutor Cloze") and the notes
# learners already have would stop being updated by later exports.
BASIC_NOTE_TYPE_ID = 1_859_343_739
CLOZE_NOTE_TYPE_ID = 1_625_457_169
REVERSED_NOTE_TYPE_ID = 1_555_750_556

# Drafts go out suspended with this tag ("::" makes it a child of "tutor" in Anki's
# tag tree), so the learner can find them, and Tutor's import can tell them apart.
DRAFT_TAG = "tutor::draft"

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
class SourceRef:
    """The source a card belongs to: its deck is named after the title, keyed by the id."""

    id: uuid.UUID
    title: str


@dataclass(frozen=True)
class AnkiCard:
    """One card as Anki gets it; `front` and `back` are Tutor's Markdown with math."""

    id: uuid.UUID
    front: str
    back: str
    kind: Literal["basic", "cloze"]
    tags: tuple[str, ...]
    source: SourceRef | None
    # When the card last changed in Tutor: the note's modification time in Anki.
    modified_at: datetime
    status: Literal["active", "suspended", "draft"] = "active"
    # None: never scheduled (a draft), which Anki gets as a new card.
    progress: CardProgress | None = None
    # The Anki note and card number the card came from, if it came from Anki.
    anki_guid: str | None = None
    anki_ord: int | None = None


@dataclass
class PlannedNote:
    """A note to write, and which Tutor card each of its Anki cards (by number) is."""

    note: Any  # genanki.Note
    first: AnkiCard  # the card whose source's deck the note goes in
    modified_at: datetime
    cards_by_ord: dict[int, AnkiCard] = field(default_factory=dict)


def plan_notes(cards: Iterable[AnkiCard]) -> list[PlannedNote]:
    """The notes for `cards`, in the order of their first card."""
    note_types = _NoteTypes()
    groups: dict[str, list[AnkiCard]] = {}
    for card in cards:
        groups.setdefault(_guid(card), []).append(card)
    planned: list[PlannedNote] = []
    for guid, members in groups.items():
        plan, misfits = _plan_note(note_types, guid, members)
        if plan.cards_by_ord or not misfits:
            planned.append(plan)
        # A card its note cannot make goes out alone, as a card Tutor made.
        for card in misfits:
            alone = replace(card, anki_guid=None, anki_ord=None)
            planned.append(_plan_note(note_types, _guid(alone), [alone])[0])
    return planned


def own_guid(card_id: uuid.UUID) -> str:
    """The GUID of the note a card Tutor made goes out as: from the card id, not the
    content, so an edited card updates its note."""
    return str(genanki.guid_for(str(card_id)))


def _guid(card: AnkiCard) -> str:
    return card.anki_guid or own_guid(card.id)


def _plan_note(
    note_types: _NoteTypes, guid: str, members: Sequence[AnkiCard]
) -> tuple[PlannedNote, list[AnkiCard]]:
    """The note of `members`, and those of them it cannot make."""
    note = note_types.note_for(guid, members)
    made = sorted({anki_card.ord for anki_card in note.cards})
    fitting = [card for card in members if card.anki_ord is None or card.anki_ord in made]
    plan = PlannedNote(note, members[0], _newest(fitting or members))
    for card in fitting:
        for number in made if card.anki_ord is None else [card.anki_ord]:
            plan.cards_by_ord[number] = card
    return plan, [card for card in members if card not in fitting]


def _newest(cards: Sequence[AnkiCard]) -> datetime:
    return max(card.modified_at for card in cards)


class _NoteTypes:
    """The note types, built per export: genanki fills in their dicts as it writes."""

    def __init__(self) -> None:
        front_back = {
            "name": "Card 1",
            "qfmt": "{{Front}}",
            "afmt": "{{FrontSide}}\n\n<hr id=answer>\n\n{{Back}}",
        }
        back_front = {
            "name": "Card 2",
            "qfmt": "{{Back}}",
            "afmt": "{{FrontSide}}\n\n<hr id=answer>\n\n{{Front}}",
        }
        fields = [{"name": "Front"}, {"name": "Back"}]
        self.basic = genanki.Model(
            BASIC_NOTE_TYPE_ID, "Tutor Basic", fields=fields, templates=[front_back], css=_CSS
        )
        self.reversed = genanki.Model(
            REVERSED_NOTE_TYPE_ID,
            "Tutor Basic (and reversed card)",
            fields=fields,
            templates=[front_back, back_front],
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

    def note_for(self, guid: str, cards: Sequence[AnkiCard]) -> Any:
        first = min(cards, key=lambda card: card.anki_ord or 0)
        if first.kind == "cloze":
            model, fields = self.cloze, [anki_field(first.front), anki_field(first.back)]
        elif first.anki_ord == 1:  # the reversed card alone: its front is the note's back
            model, fields = self.reversed, [_html(first.back), _html(first.front)]
        else:
            has_reverse = any(card.anki_ord == 1 for card in cards)
            model = self.reversed if has_reverse else self.basic
            fields = [_html(first.front), _html(first.back)]
        return genanki.Note(model=model, fields=fields, tags=_note_tags(cards), guid=guid)


def _html(markdown: str) -> str:
    # A basic note's fields are not read for deletions: "{{c1::" there is just text.
    return render_markdown(markdown, math="anki").strip()


def _note_tags(cards: Sequence[AnkiCard]) -> list[str]:
    tags = [tag for card in cards for tag in card.tags]
    if any(card.status == "draft" for card in cards):
        tags.append(DRAFT_TAG)
    # A space separates tags in Anki, so one inside a tag becomes "_" (as Tutor's own
    # tag cleaning does); empty and repeated tags are dropped.
    joined = ("_".join(tag.split()) for tag in tags)
    return list(dict.fromkeys(tag for tag in joined if tag))
