"""build_apkg: packages that a real Anki collection imports, and re-imports as updates.

Each test opens a fresh collection with the official `anki` package (the backend of
Anki desktop) and imports with its default options, as a learner clicking Import would.
"""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from anki.collection import Collection
from anki.notes import Note
from anki_import import import_package

from service.cards.anki import AnkiCard, build_apkg
from service.cards.csv_io import parse_cards
from service.rendering import render_markdown

ATTENTION = "Attention Is All You Need"
EXPORTED_AT = datetime(2030, 3, 1, 9, 30, tzinfo=UTC)

SCALING = AnkiCard(
    id=uuid.UUID("6f1c5a1e-6a3b-4f1d-9a55-0d1f3c2b7e01"),
    front=r"Why divide by $\sqrt{d_k}$ in $\mathrm{softmax}(QK^T/\sqrt{d_k})$?",
    back="Dot products grow with $d_k$:\n\n$$\nq \\cdot k = \\sum_{i=1}^{d_k} q_i k_i\n$$\n",
    kind="basic",
    tags=("attention", "scaled dot product"),
    source_title=ATTENTION,
    modified_at=EXPORTED_AT,
)
HEADS = AnkiCard(
    id=uuid.UUID("6f1c5a1e-6a3b-4f1d-9a55-0d1f3c2b7e02"),
    front="The base model runs {{c1::$h = 8$ heads::how many?}} in parallel.",
    back="Each head has $d_k = d_{model}/h = 64$.",
    kind="cloze",
    tags=("attention",),
    source_title=ATTENTION,
    modified_at=EXPORTED_AT,
)
# "}}" inside the formula must not close the deletion early in Anki.
TEMPERATURE = AnkiCard(
    id=uuid.UUID("6f1c5a1e-6a3b-4f1d-9a55-0d1f3c2b7e03"),
    front="Attention scales logits by {{c1::$\\frac{1}{\\sqrt{d_k}}$}} before the softmax.",
    back="",
    kind="cloze",
    tags=(),
    source_title=ATTENTION,
    modified_at=EXPORTED_AT,
)
SM2 = AnkiCard(
    id=uuid.UUID("6f1c5a1e-6a3b-4f1d-9a55-0d1f3c2b7e04"),
    front="What does *SM-2* stand for?",
    back="SuperMemo 2 <script>alert(1)</script> & friends",
    kind="basic",
    tags=("spaced repetition",),
    source_title=None,
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


# --- re-import ------------------------------------------------------------------------


def test_reimport_after_an_edit_updates_the_note(imported: Collection, tmp_path: Path) -> None:
    edited = AnkiCard(
        id=SCALING.id,
        front=SCALING.front,
        back="Their variance grows with $d_k$, which saturates the softmax.",
        kind="basic",
        tags=("attention", "softmax"),
        source_title=ATTENTION,
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
    card = AnkiCard(uuid.uuid4(), "Q", "A", "basic", (), title, EXPORTED_AT)

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
