"""build_apkg: packages that a real Anki collection imports, and re-imports as updates.

Each test opens a fresh collection with the official `anki` package (the backend of
Anki desktop) and imports with its default options, as a learner clicking Import would;
tests of scheduling tick "Import any learning progress", without which Anki drops it.
"""

from __future__ import annotations

import io
import json
import re
import sqlite3
import tempfile
import uuid
import zipfile
from collections.abc import Iterator
from contextlib import closing
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from anki.collection import Collection
from anki.consts import (
    CARD_TYPE_LRN,
    CARD_TYPE_NEW,
    CARD_TYPE_RELEARNING,
    CARD_TYPE_REV,
    QUEUE_TYPE_DAY_LEARN_RELEARN,
    QUEUE_TYPE_NEW,
    QUEUE_TYPE_REV,
    QUEUE_TYPE_SUSPENDED,
    REVLOG_LRN,
    REVLOG_RELRN,
    REVLOG_REV,
)
from anki.notes import Note

from anki_import import anki_date, balanced, formulas, import_package, revlog, shown
from service.cards import cloze
from service.exchange.anki import AnkiCard, SourceRef, build_apkg
from service.exchange.anki_schedule import CardProgress, MemoryState, ReviewRecord, SchedulePoint
from service.exchange.csv_io import parse_cards
from service.rendering import render_markdown

if TYPE_CHECKING:  # anki.cards cannot be imported before anki.collection
    from anki.cards import Card

ATTENTION = "Attention Is All You Need"
ATTENTION_SOURCE = SourceRef(uuid.UUID("0c4d1c9e-3f0a-4b8e-9f51-5a2e7d6c1b00"), ATTENTION)
EXPORTED_AT = datetime(2030, 3, 1, 9, 30, tzinfo=UTC)

SCALING = AnkiCard(
    id=uuid.UUID("6f1c5a1e-6a3b-4f1d-9a55-0d1f3c2b7e01"),
    front=r"Why divide by $\sqrt{d_k}$ in $\mathrm{softmax}(QK^T/\sqrt{d_k})$?",
    back="Dot products grow with $d_k$:\n\n$$\nq \\cdot k = \\sum_{i=1}^{d_k} q_i k_i\n$$\n",
    kind="basic",
    tags=("attention", "scaled dot product"),
    source=ATTENTION_SOURCE,
    modified_at=EXPORTED_AT,
)
HEADS = AnkiCard(
    id=uuid.UUID("6f1c5a1e-6a3b-4f1d-9a55-0d1f3c2b7e02"),
    front="The base model runs {{c1::$h = 8$ heads::how many?}} in parallel.",
    back="Each head has $d_k = d_{model}/h = 64$.",
    kind="cloze",
    tags=("attention",),
    source=ATTENTION_SOURCE,
    modified_at=EXPORTED_AT,
)
# "}}" inside the formula must not close the deletion early in Anki.
TEMPERATURE = AnkiCard(
    id=uuid.UUID("6f1c5a1e-6a3b-4f1d-9a55-0d1f3c2b7e03"),
    front="Attention scales logits by {{c1::$\\frac{1}{\\sqrt{d_k}}$}} before the softmax.",
    back="",
    kind="cloze",
    tags=(),
    source=ATTENTION_SOURCE,
    modified_at=EXPORTED_AT,
)
SM2 = AnkiCard(
    id=uuid.UUID("6f1c5a1e-6a3b-4f1d-9a55-0d1f3c2b7e04"),
    front="What does *SM-2* stand for?",
    back="SuperMemo 2 <script>alert(1)</script> & friends",
    kind="basic",
    tags=("spaced repetition",),
    source=None,
    modified_at=EXPORTED_AT,
)
CARDS = (SCALING, HEADS, TEMPERATURE, SM2)


@pytest.fixture
def collection(tmp_path: Path) -> Iterator[Collection]:
    col = Collection(str(tmp_path / "collection.anki2"))
    yield col
    col.close()


def all_notes(col: Collection) -> list[Note]:
    return [col.get_note(note_id) for note_id in col.find_notes("")]


def note_containing(col: Collection, text: str) -> Note:
    [note] = [note for note in all_notes(col) if text in note.fields[0]]
    return note


def note_type_name(note: Note) -> str:
    note_type = note.note_type()
    assert note_type is not None
    return str(note_type["name"])


def deck_names(col: Collection) -> set[str]:
    return {deck.name for deck in col.decks.all_names_and_ids()}


@pytest.fixture
def imported(collection: Collection, tmp_path: Path) -> Collection:
    log = import_package(collection, build_apkg(CARDS, exported_at=EXPORTED_AT), tmp_path)
    assert len(log.log.new) == len(CARDS)
    return collection


# --- first import ---------------------------------------------------------------------


def test_every_card_becomes_one_note(imported: Collection) -> None:
    assert imported.note_count() == 4
    assert sorted(note_type_name(note) for note in all_notes(imported)) == [
        "Tutor Basic",
        "Tutor Basic",
        "Tutor Cloze",
        "Tutor Cloze",
    ]


def test_one_deck_per_source_under_tutor(imported: Collection) -> None:
    assert {"Tutor", f"Tutor::{ATTENTION}"} <= deck_names(imported)
    for text, deck in [("SM-2", "Tutor"), ("heads", f"Tutor::{ATTENTION}")]:
        [card] = note_containing(imported, text).cards()
        assert imported.decks.name(card.did) == deck


def test_fields_are_html_with_mathjax_delimiters(imported: Collection) -> None:
    front, back = note_containing(imported, "Why divide").fields

    assert front == (
        r"<p>Why divide by \(\sqrt{d_k}\) in \(\mathrm{softmax}(QK^T/\sqrt{d_k})\)?</p>"
    )
    assert r"<p>Dot products grow with \(d_k\):</p>" in back
    assert r"\[q \cdot k = \sum_{i=1}^{d_k} q_i k_i\]" in back
    assert "$" not in front + back
    assert "<math" not in front + back


def test_fields_are_sanitised(imported: Collection) -> None:
    front, back = note_containing(imported, "SM-2").fields

    assert front == "<p>What does <em>SM-2</em> stand for?</p>"
    assert back == "<p>SuperMemo 2 &lt;script&gt;alert(1)&lt;/script&gt; &amp; friends</p>"


def test_tags_carry_over_with_underscores_for_spaces(imported: Collection) -> None:
    assert sorted(note_containing(imported, "Why divide").tags) == [
        "attention",
        "scaled_dot_product",
    ]
    assert note_containing(imported, "SM-2").tags == ["spaced_repetition"]


def test_cloze_with_a_hint_makes_one_card(imported: Collection) -> None:
    note = note_containing(imported, "heads")
    [card] = note.cards()

    assert note.fields[0] == (
        r"<p>The base model runs {{c1::\(h = 8\) heads::how many?}} in parallel.</p>"
    )
    assert "[how many?]</span> in parallel." in card.question()
    assert r"\(h = 8\) heads" not in card.question()
    assert r'<span class="cloze" data-ordinal="1">\(h = 8\) heads</span>' in card.answer()
    assert r"<hr><p>Each head has \(d_k = d_{model}/h = 64\).</p>" in card.answer()


def test_formula_with_double_braces_stays_inside_its_deletion(imported: Collection) -> None:
    [card] = note_containing(imported, "scales logits").cards()

    assert "by <span" in card.question()
    assert "[...]</span> before the softmax." in card.question()
    hidden = r'<span class="cloze" data-ordinal="1">\(\frac{1}{\sqrt{d_k} }\)</span>'
    assert f"by {hidden} before the softmax." in card.answer()
    assert "<hr>" not in card.answer()  # no extra, no rule


# --- every cloze form -----------------------------------------------------------------

# The forms the distill prompt asks for, and those Anki users write: the text, and each
# card's answer (as Tutor writes it) and hint, in the order of the cloze numbers.
CLOZE_FORMS = {
    "prose": ("Attention is a {{c1::weighted average}} of the values.", ["weighted average"]),
    "a whole formula": (
        r"Logits are scaled by {{c1::$\frac{1}{\sqrt{d_k}}$}} before the softmax.",
        [r"$\frac{1}{\sqrt{d_k}}$"],
    ),
    "inside an inline formula": (
        r"Attention is $\mathrm{softmax}(QK^T/{{c1::\sqrt{d_k}}})V$.",
        [r"\sqrt{d_k}"],
    ),
    "inside a display formula": (
        "The scale is\n\n$${{c1::\\frac{1}{\\sqrt{d_k}}}}$$\n",
        [r"\frac{1}{\sqrt{d_k}}"],
    ),
    "with a hint": (
        "The base model runs {{c1::$h = 8$ heads::how many?}} in parallel.",
        [("$h = 8$ heads", "how many?")],
    ),
    "with a hint inside a formula": (
        r"Scores are $QK^T/{{c1::\sqrt{d_k}::the scale}}$.",
        [(r"\sqrt{d_k}", "the scale")],
    ),
    "with }} inside the answer": (
        r"The softmax is $p_i = {{c1::\frac{e^{z_{i}}}{\sum_j e^{z_j}}}}$ for logits $z$.",
        [r"\frac{e^{z_{i}}}{\sum_j e^{z_j}}"],
    ),
    "two numbers": (
        "RoPE rotates {{c1::queries}} and {{c2::keys}} by their position.",
        ["queries", "keys"],
    ),
}
_SOURCE_FORMULA = re.compile(r"\$\$(.+?)\$\$|\$(.+?)\$", re.DOTALL)


def squeezed(text: str) -> str:
    """Text without spaces or math delimiters, to compare LaTeX however it is spaced."""
    return re.sub(r"\s+|\$|\\[()\[\]]", "", text)


@pytest.mark.parametrize(("text", "answers"), CLOZE_FORMS.values(), ids=CLOZE_FORMS.keys())
def test_every_cloze_form_hides_its_deletion_and_keeps_its_formula(
    collection: Collection, tmp_path: Path, text: str, answers: list[str | tuple[str, str]]
) -> None:
    card = AnkiCard(uuid.uuid4(), text, "", "cloze", (), None, EXPORTED_AT)
    import_package(collection, build_apkg([card], exported_at=EXPORTED_AT), tmp_path)

    # Anki makes one card per cloze number, and only for deletions it can close.
    cards = sorted(all_notes(collection)[0].cards(), key=lambda anki_card: anki_card.ord)
    assert len(cards) == len(answers)
    whole = [squeezed(a or b) for a, b in _SOURCE_FORMULA.findall(cloze.plain(text))]
    for anki_card, expected in zip(cards, answers, strict=True):
        answer, hint = expected if isinstance(expected, tuple) else (expected, "...")
        front, back = shown(anki_card.question()), shown(anki_card.answer())
        assert f"[{hint}]" in front
        assert squeezed(answer) not in squeezed(front)
        assert squeezed(answer) in squeezed(back)
        assert "{{c" not in front + back  # every deletion closed where Tutor closes it
        assert all(balanced(formula) for formula in formulas(front) + formulas(back))
        assert [squeezed(formula) for formula in formulas(back)] == whole


# --- re-import ------------------------------------------------------------------------


def test_reimport_after_an_edit_updates_the_note(imported: Collection, tmp_path: Path) -> None:
    edited = AnkiCard(
        id=SCALING.id,
        front=SCALING.front,
        back="Their variance grows with $d_k$, which saturates the softmax.",
        kind="basic",
        tags=("attention", "softmax"),
        source=ATTENTION_SOURCE,
        modified_at=EXPORTED_AT + timedelta(days=1),
    )
    later = EXPORTED_AT + timedelta(days=1)

    log = import_package(imported, build_apkg([edited, *CARDS[1:]], exported_at=later), tmp_path)

    assert len(log.log.new) == 0
    assert len(log.log.updated) == 1  # only the edited card; the others did not change
    assert imported.note_count() == 4
    note = note_containing(imported, "Why divide")
    assert note.fields[1] == (
        r"<p>Their variance grows with \(d_k\), which saturates the softmax.</p>"
    )
    assert sorted(note.tags) == ["attention", "softmax"]
    [card] = note.cards()
    assert imported.decks.name(card.did) == f"Tutor::{ATTENTION}"
    assert sum(name.startswith("Tutor") for name in deck_names(imported)) == 2


def test_an_older_package_does_not_undo_a_newer_one(imported: Collection, tmp_path: Path) -> None:
    later = EXPORTED_AT + timedelta(days=1)
    newer = AnkiCard(SM2.id, SM2.front, "SuperMemo, version 2", "basic", (), None, later)
    import_package(imported, build_apkg([newer], exported_at=later), tmp_path)

    log = import_package(imported, build_apkg([SM2], exported_at=EXPORTED_AT), tmp_path)

    assert len(log.log.updated) == 0
    assert note_containing(imported, "SM-2").fields[1] == "<p>SuperMemo, version 2</p>"


# --- back again -----------------------------------------------------------------------


def test_anki_plain_text_export_parses_back_into_the_same_cards(
    imported: Collection, tmp_path: Path
) -> None:
    exported = tmp_path / "notes.txt"
    imported.export_note_csv(
        out_path=str(exported),
        limit=None,
        with_html=True,
        with_tags=True,
        with_deck=True,
        with_notetype=True,
        with_guid=True,
    )

    parsed = parse_cards(exported.read_bytes())

    assert parsed.errors == []
    by_front = {row.front: row for row in parsed.rows}
    scaling = by_front[r"Why divide by $\sqrt{d_k}$ in $\mathrm{softmax}(QK^T/\sqrt{d_k})$?"]
    assert scaling.back.startswith("Dot products grow with $d_k$:")
    assert r"$$q \cdot k = \sum_{i=1}^{d_k} q_i k_i$$" in scaling.back
    assert sorted(scaling.tags) == ["attention", "scaled_dot_product"]
    heads = by_front["The base model runs {{c1::$h = 8$ heads::how many?}} in parallel."]
    assert heads.back == "Each head has $d_k = d_{model}/h = 64$."
    sm2 = by_front["What does SM-2 stand for?"]
    assert sm2.back == "SuperMemo 2 <script>alert(1)</script> & friends"


# --- Markdown for Anki ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("Let $x_i$ be", r"<p>Let \(x_i\) be</p>"),
        ("$$\n\\sum_i x_i\n$$\n", r"\[\sum_i x_i\]"),
        ("The loss $$L = -\\log p$$ here", r"<p>The loss \[L = -\log p\] here</p>"),
        (r"$a<b \text{<b>&}$", r"<p>\(a&lt;b \text{&lt;b&gt;&amp;}\)</p>"),
        (r"Broken $\frac{1}{$ stays LaTeX", r"<p>Broken \(\frac{1}{\) stays LaTeX</p>"),
        ("It costs $5 and $10.", "<p>It costs $5 and $10.</p>"),
        ("`$x$` is code", "<p><code>$x$</code> is code</p>"),
        (
            r"{{c1::$\frac{1}{\sqrt{d_{k}}}$::scale}}",
            r"<p>{{c1::\(\frac{1}{\sqrt{d_{k} } }\)::scale}}</p>",
        ),
    ],
)
def test_markdown_for_anki_keeps_latex_for_mathjax(source: str, expected: str) -> None:
    assert render_markdown(source, math="anki").strip() == expected


# --- the package itself ---------------------------------------------------------------


def test_title_cannot_start_a_subdeck(collection: Collection, tmp_path: Path) -> None:
    title = "  Llama 2 ::\nOpen   Models "
    card = AnkiCard(
        uuid.uuid4(), "Q", "A", "basic", (), SourceRef(uuid.uuid4(), title), EXPORTED_AT
    )

    import_package(collection, build_apkg([card], exported_at=EXPORTED_AT), tmp_path)

    assert "Tutor::Llama 2 : Open Models" in deck_names(collection)


def test_building_leaves_no_temporary_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))

    package = build_apkg(CARDS)

    assert package.startswith(b"PK")
    assert list(scratch.iterdir()) == []


# --- progress: scheduling and the review log -------------------------------------------


def point(due: date, repetitions: int, interval: int, **rest: Any) -> SchedulePoint:
    """A reviewed card's schedule; easiness 2.6 and no lapses unless said."""
    fields = {"easiness": 2.6, "drill": False, "lapses": 0, "reviewed": True} | rest
    return SchedulePoint(repetitions=repetitions, interval=interval, due=due, **fields)


def progress(
    *steps: tuple[datetime, int, SchedulePoint, int | None], memory: MemoryState | None = None
) -> CardProgress:
    """A card's progress after reviews (time, rating, schedule after, milliseconds)."""
    before = SchedulePoint(0, 2.5, 0, steps[0][0].date(), False, 0, reviewed=False)
    reviews = []
    for at, rating, after, duration_ms in steps:
        reviews.append(ReviewRecord(at, at.date(), rating, duration_ms, before, after))
        before = after
    return CardProgress(before, steps[-1][0], memory, tuple(reviews))


def day(month: int, number: int, hour: int = 12) -> datetime:
    return datetime(2026, month, number, hour, tzinfo=UTC)


# Learnt, recalled, forgotten once, relearnt, recalled twice: a review card due 9 April.
HISTORY = progress(
    (day(3, 10), 3, point(date(2026, 3, 11), 1, 1, easiness=2.5), 4_200),
    (day(3, 11), 4, point(date(2026, 3, 17), 2, 6), None),
    (day(3, 17), 1, point(date(2026, 3, 17), 0, 0, lapses=1), 75_000),
    (day(3, 17, 13), 3, point(date(2026, 3, 18), 1, 1, lapses=1), 2_000),
    (day(3, 18), 3, point(date(2026, 3, 24), 2, 6, lapses=1), 3_000),
    (day(3, 24), 3, point(date(2026, 4, 9), 3, 16, lapses=1), 2_500),
    memory=MemoryState(stability=17.25, difficulty=5.5, desired_retention=0.9),
)


def only_card(col: Collection) -> Card:
    [card_id] = col.find_cards("")
    return col.get_card(card_id)


def test_a_reviewed_card_arrives_with_its_schedule(collection: Collection, tmp_path: Path) -> None:
    card = replace(SM2, progress=HISTORY)

    import_package(collection, build_apkg([card]), tmp_path, with_progress=True)

    anki_card = only_card(collection)
    assert (anki_card.type, anki_card.queue) == (CARD_TYPE_REV, QUEUE_TYPE_REV)
    assert anki_date(collection, anki_card.due) == date(2026, 4, 9)
    assert (anki_card.ivl, anki_card.factor, anki_card.reps, anki_card.lapses) == (16, 2600, 6, 1)
    assert anki_card.memory_state is not None
    assert anki_card.memory_state.stability == pytest.approx(17.25)
    assert anki_card.memory_state.difficulty == pytest.approx(5.5)
    assert anki_card.desired_retention == pytest.approx(0.9)


def test_each_review_is_one_row_of_the_log(collection: Collection, tmp_path: Path) -> None:
    import_package(
        collection, build_apkg([replace(SM2, progress=HISTORY)]), tmp_path, with_progress=True
    )

    cid = only_card(collection).id
    millis = [int(review.reviewed_at.timestamp() * 1000) for review in HISTORY.reviews]
    # id, card, button, days to the next review, the previous ones, ease, time, kind
    assert revlog(collection) == [
        (millis[0], cid, 3, 1, 0, 2500, 4_200, REVLOG_LRN),
        (millis[1], cid, 4, 6, 1, 2600, 0, REVLOG_REV),
        (millis[2], cid, 1, 0, 6, 2600, 60_000, REVLOG_REV),  # Anki caps times at 60 s
        (millis[3], cid, 3, 1, 0, 2600, 2_000, REVLOG_RELRN),
        (millis[4], cid, 3, 6, 1, 2600, 3_000, REVLOG_REV),
        (millis[5], cid, 3, 16, 6, 2600, 2_500, REVLOG_REV),
    ]


def test_a_due_date_stays_the_same_date(collection: Collection, tmp_path: Path) -> None:
    today = anki_date(collection, collection.sched.today)
    due = today + timedelta(days=5)
    reviewed = progress((day(3, 10), 3, point(due, 2, 6), None))

    import_package(
        collection, build_apkg([replace(SM2, progress=reviewed)]), tmp_path, with_progress=True
    )

    assert only_card(collection).due - collection.sched.today == 5


@pytest.mark.parametrize(
    ("after", "kind", "interval"),
    [
        (point(date(2026, 3, 10), 0, 0, easiness=2.5), CARD_TYPE_LRN, 0),  # failed at once
        (point(date(2026, 3, 10), 1, 1, drill=True), CARD_TYPE_LRN, 1),  # a 3: the drill
        (point(date(2026, 3, 10), 0, 0, lapses=1), CARD_TYPE_RELEARNING, 1),  # a lapse
        (point(date(2026, 3, 10), 3, 16, drill=True), CARD_TYPE_RELEARNING, 16),
    ],
    ids=["learning", "learning in the drill", "relearning", "relearning in the drill"],
)
def test_a_card_to_learn_again_is_due_that_day_one_step_from_done(
    collection: Collection, tmp_path: Path, after: SchedulePoint, kind: int, interval: int
) -> None:
    card = replace(SM2, progress=progress((day(3, 10), 1, after, None)))

    import_package(collection, build_apkg([card]), tmp_path, with_progress=True)

    anki_card = only_card(collection)
    assert (anki_card.type, anki_card.queue, anki_card.ivl) == (
        kind,
        QUEUE_TYPE_DAY_LEARN_RELEARN,
        interval,
    )
    assert anki_date(collection, anki_card.due) == date(2026, 3, 10)
    assert anki_card.left % 1000 == 1  # one more Good graduates it


STATUSES = [
    replace(SM2, id=uuid.uuid4(), front="Active and new?"),
    replace(SM2, id=uuid.uuid4(), front="Suspended?", status="suspended", progress=HISTORY),
    replace(SM2, id=uuid.uuid4(), front="A draft?", status="draft"),
    replace(SM2, id=uuid.uuid4(), front="Another new one?"),
]


def test_suspended_cards_and_drafts_arrive_suspended(
    collection: Collection, tmp_path: Path
) -> None:
    import_package(collection, build_apkg(STATUSES), tmp_path, with_progress=True)

    by_front = {note.fields[0]: note for note in all_notes(collection)}
    queues = {front: note.cards()[0].queue for front, note in by_front.items()}
    assert queues == {
        "<p>Active and new?</p>": QUEUE_TYPE_NEW,
        "<p>Suspended?</p>": QUEUE_TYPE_SUSPENDED,
        "<p>A draft?</p>": QUEUE_TYPE_SUSPENDED,
        "<p>Another new one?</p>": QUEUE_TYPE_NEW,
    }
    assert "tutor::draft" in by_front["<p>A draft?</p>"].tags
    assert "tutor::draft" not in by_front["<p>Suspended?</p>"].tags
    # New cards keep Tutor's order.
    assert by_front["<p>Active and new?</p>"].cards()[0].due == 1
    assert by_front["<p>Another new one?</p>"].cards()[0].due == 4


def test_without_learning_progress_anki_makes_every_card_new(
    collection: Collection, tmp_path: Path
) -> None:
    import_package(collection, build_apkg(STATUSES), tmp_path)  # Anki's default

    cards = [collection.get_card(card_id) for card_id in collection.find_cards("")]
    assert {(card.type, card.queue) for card in cards} == {(CARD_TYPE_NEW, QUEUE_TYPE_NEW)}
    assert revlog(collection) == []
    assert collection.find_notes("tag:tutor::draft") != []  # the tag still tells drafts


def test_anki_keeps_its_own_progress_of_cards_it_has(
    collection: Collection, tmp_path: Path
) -> None:
    import_package(collection, build_apkg([SM2]), tmp_path, with_progress=True)
    later = replace(SM2, status="suspended", progress=HISTORY, modified_at=EXPORTED_AT)

    import_package(collection, build_apkg([later]), tmp_path, with_progress=True)

    assert (only_card(collection).queue, revlog(collection)) == (QUEUE_TYPE_NEW, [])


# --- cards that came from Anki ------------------------------------------------------------


def from_anki(front: str, back: str, kind: str, number: int, **rest: Any) -> AnkiCard:
    card = AnkiCard(uuid.uuid4(), front, back, kind, (), None, EXPORTED_AT)  # type: ignore[arg-type]
    return replace(card, anki_guid="Tq3#x[pZ1k", anki_ord=number, **rest)


def test_the_cards_of_one_anki_note_stay_one_note(collection: Collection, tmp_path: Path) -> None:
    forward = from_anki("What does GQA share?", "Keys and values", "basic", 0)
    backward = from_anki("Keys and values", "What does GQA share?", "basic", 1, progress=HISTORY)

    import_package(collection, build_apkg([forward, backward]), tmp_path, with_progress=True)

    [note] = all_notes(collection)
    assert (note.guid, note_type_name(note)) == ("Tq3#x[pZ1k", "Tutor Basic (and reversed card)")
    first, second = sorted(note.cards(), key=lambda card: card.ord)
    assert "Keys and values" in shown(second.question())  # the reversed card asks the back
    assert (first.type, second.type, second.ivl) == (CARD_TYPE_NEW, CARD_TYPE_REV, 16)


def test_a_cloze_note_has_only_the_cards_exported(collection: Collection, tmp_path: Path) -> None:
    text = "RoPE rotates {{c1::queries}} and {{c2::keys}} by their position."
    second = from_anki(text, "", "cloze", 1, progress=HISTORY)

    import_package(collection, build_apkg([second]), tmp_path, with_progress=True)

    [card] = all_notes(collection)[0].cards()
    assert (card.ord, card.ivl, len(revlog(collection))) == (1, 16, 6)
    assert "[...]" in shown(card.question())
    assert "queries" in shown(card.question())


def test_a_card_its_note_cannot_make_goes_out_alone(collection: Collection, tmp_path: Path) -> None:
    lost = from_anki("Only {{c1::one}} number now.", "", "cloze", 2)

    import_package(collection, build_apkg([lost]), tmp_path)

    [note] = all_notes(collection)
    assert note.guid != "Tq3#x[pZ1k"
    assert len(note.cards()) == 1


# --- decks and renamed sources ---------------------------------------------------------


def package_decks(package: bytes) -> dict[str, int]:
    """The package's own decks, by name: their ids, as the package gives them."""
    with zipfile.ZipFile(io.BytesIO(package)) as archive:
        data = archive.read("collection.anki2")
    with closing(sqlite3.connect(":memory:")) as connection:
        connection.deserialize(data)
        (decks,) = connection.execute("SELECT decks FROM col").fetchone()
    return {deck["name"]: deck["id"] for deck in json.loads(decks).values()}


def test_a_deck_keeps_its_id_when_its_source_is_renamed() -> None:
    renamed = replace(SCALING, source=SourceRef(ATTENTION_SOURCE.id, "Attention (2017)"))

    before = package_decks(build_apkg([SCALING, SM2]))
    after = package_decks(build_apkg([renamed, SM2]))

    assert before[f"Tutor::{ATTENTION}"] == after["Tutor::Attention (2017)"]
    assert before["Tutor"] == after["Tutor"]


def test_after_a_rename_anki_keeps_its_cards_in_the_old_deck(
    collection: Collection, tmp_path: Path
) -> None:
    # Anki files cards by deck name and never moves a card it has; only new cards
    # reach the deck with the new name.
    import_package(collection, build_apkg([SCALING]), tmp_path, with_progress=True)
    renamed = SourceRef(ATTENTION_SOURCE.id, "Attention (2017)")
    new = replace(HEADS, source=renamed)

    import_package(collection, build_apkg([replace(SCALING, source=renamed), new]), tmp_path)

    [kept] = note_containing(collection, "Why divide").cards()
    [added] = note_containing(collection, "heads").cards()
    assert collection.decks.name(kept.did) == f"Tutor::{ATTENTION}"
    assert collection.decks.name(added.did) == "Tutor::Attention (2017)"
