"""Anki collections made with the real `anki` library, for the import tests: notes of
the stock types and one of the learner's own, some answered with Anki's scheduler, one
suspended; exported as Anki desktop exports them, with what Anki says of each card."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

# Card through anki.collection: importing anki.cards first is a circular import.
from anki.collection import Card, Collection, ExportAnkiPackageOptions
from anki.notes import Note

from anki_import import anki_date

CLOZE = r"Attention divides by {{c1::\(\sqrt{d_k}\)}} before the {{c2::softmax::function}}"


@dataclass(frozen=True)
class Deck:
    package: bytes
    notes: dict[str, Note]
    # Each card's (ivl, factor, lapses, answers in the log) as Anki has them.
    anki: dict[tuple[str, int], tuple[int, int, int, int]]
    # Everything a learner's progress is, per (note GUID, card number), as Anki has it.
    progress: dict[tuple[str, int], Progress]


@dataclass(frozen=True)
class Progress:
    type: int
    queue: int
    due: date | None  # review cards only; a new card's due is its place in the queue
    ivl: int
    factor: int
    reps: int
    lapses: int
    answers: int
    # FSRS's memory state (stability, difficulty), when Anki schedules with FSRS.
    memory: tuple[float, float] | None


def progress_of(col: Collection) -> dict[tuple[str, int], Progress]:
    found = {}
    for card_id in col.find_cards(""):
        card = col.get_card(card_id)
        answers = col.db.scalar("SELECT count() FROM revlog WHERE cid = ? AND ease > 0", card_id)
        found[(card.note().guid, card.ord)] = Progress(
            type=card.type,
            queue=card.queue,
            due=anki_date(col, card.due) if card.type == 2 else None,
            ivl=card.ivl,
            factor=card.factor,
            reps=card.reps,
            lapses=card.lapses,
            answers=answers,
            memory=_memory(card),
        )
    return found


def _memory(card: Card) -> tuple[float, float] | None:
    state = card.memory_state
    if state is None:
        return None
    return round(state.stability, 3), round(state.difficulty, 3)


def add_note(
    col: Collection, note_type: str, fields: list[str], deck: str, tags: list[str]
) -> Note:
    model = col.models.by_name(note_type)
    assert model is not None
    note = col.new_note(model)
    for index, value in enumerate(fields):
        note.fields[index] = value
    note.tags = tags
    deck_id = col.decks.id(deck)
    assert deck_id is not None
    col.add_note(note, deck_id)
    return note


def add_vocab_note_type(col: Collection) -> None:
    models = col.models
    vocab = models.new("Vocab")
    for name in ("Word", "Meaning", "Example"):
        models.add_field(vocab, models.new_field(name))
    template = models.new_template("Recognition")
    template["qfmt"] = "{{Word}}"
    template["afmt"] = "{{FrontSide}}<hr id=answer>{{Meaning}}<br>{{Example}}"
    models.add_template(vocab, template)
    models.add(vocab)


def _answer(col: Collection, note: Note, ordinal: int, *eases: int) -> None:
    for ease in eases:
        card = note.cards()[ordinal]
        card.start_timer()
        col.sched.answerCard(card, ease)  # type: ignore[arg-type]


def build_deck(directory: Path, *, fsrs: bool = False) -> Deck:
    """The deck, scheduled with SM-2, or with FSRS (Anki's setting) when `fsrs`."""
    col = Collection(str(directory / "collection.anki2"))
    try:
        col.set_config("fsrs", fsrs)
        add_vocab_note_type(col)
        notes = {
            "basic": add_note(
                col, "Basic", ["What does <b>GQA</b> share?", "keys and values"], "LLMs", ["gqa"]
            ),
            "reversed": add_note(
                col,
                "Basic (and reversed card)",
                ["RoPE", "rotary position embedding"],
                "LLMs::Llama",
                [],
            ),
            "cloze": add_note(col, "Cloze", [CLOZE, "Vaswani et al."], "Attention", ["attention"]),
            "vocab": add_note(col, "Vocab", ["Hund", "dog", ""], "Default", []),
        }
        _answer(col, notes["basic"], 0, 4)  # Easy: straight to review
        _answer(col, notes["reversed"], 0, 4)
        _answer(col, notes["cloze"], 0, 4)
        col.sched.suspend_cards([notes["reversed"].cards()[1].id])
        anki = {}
        for name, note in notes.items():
            for card in note.cards():
                answers = col.db.scalar(
                    "SELECT count() FROM revlog WHERE cid = ? AND ease > 0", card.id
                )
                anki[(name, card.ord)] = (card.ivl, card.factor, card.lapses, answers)
        progress = {
            key: value for key, value in progress_of(col).items() if key[0] != notes["vocab"].guid
        }
        path = directory / "deck.apkg"
        col.export_anki_package(
            out_path=str(path),
            options=ExportAnkiPackageOptions(
                with_scheduling=True, with_deck_configs=True, with_media=False, legacy=False
            ),
            limit=None,
        )
        return Deck(path.read_bytes(), notes, anki, progress)
    finally:
        col.close()
