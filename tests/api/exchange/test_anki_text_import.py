"""Anki's "Notes in Plain Text" with its GUID column, imported back: edits update cards.

A learner exports Tutor's cards as an .apkg, studies and edits them in Anki, and exports
the notes as text with their GUIDs. Importing that file must update the cards the notes
came from (keeping their schedule and reviews), leave unedited ones alone, and add the
notes Tutor does not know. The files are written by the official `anki` package (the
backend of Anki desktop), from a collection that imported Tutor's own package.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from anki.collection import Collection
from anki.notes import Note
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from anki_import import import_package
from service.cards.models import Card
from service.cards.quality import WRITE_A_DELETION

SCALING = {
    "front": "Why divide by $\\sqrt{d_k}$ in *scaled* dot-product attention?",
    "back": "Dot products grow with $d_k$:\n\n$$\nq \\cdot k = \\sum_i q_i k_i\n$$\n",
    "tags": ["attention"],
}
HEADS = {
    "front": "The base model runs {{c1::$h = 8$ heads::how many?}} in parallel.",
    "back": "Each head has $d_k = 64$.",
    "kind": "cloze",
    "tags": ["attention"],
}
SM2 = {
    "front": "In spaced repetition, what does **SM-2** stand for?",
    "back": "SuperMemo 2, `sm2.py` here",
    "tags": ["spaced_repetition"],
}


@pytest.fixture
def collection(tmp_path: Path) -> Iterator[Collection]:
    col = Collection(str(tmp_path / "collection.anki2"))
    yield col
    col.close()


async def add(api: httpx.AsyncClient, card: dict[str, Any]) -> dict[str, Any]:
    response = await api.post("/v1/cards", json=card)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def all_cards(api: httpx.AsyncClient) -> dict[str, dict[str, Any]]:
    items = (await api.get("/v1/cards", params={"limit": 100})).json()["items"]
    return {card["id"]: card for card in items}


async def into_anki(api: httpx.AsyncClient, col: Collection, tmp_path: Path) -> None:
    package = await api.get("/v1/export/anki")
    assert package.status_code == 200
    import_package(col, package.content, tmp_path)


def note_containing(col: Collection, text: str) -> Note:
    [note] = [
        note
        for note in (col.get_note(note_id) for note_id in col.find_notes(""))
        if text in note.fields[0]
    ]
    return note


def exported_text(col: Collection, tmp_path: Path, *, with_html: bool = True) -> bytes:
    """The notes as Anki desktop's "Notes in Plain Text" writes them, GUIDs included."""
    path = tmp_path / "notes.txt"
    col.export_note_csv(
        out_path=str(path),
        limit=None,
        with_html=with_html,
        with_tags=True,
        with_deck=True,
        with_notetype=True,
        with_guid=True,
    )
    data = path.read_bytes()
    assert data.startswith(b"#separator:tab\n")
    assert b"#guid column:1\n" in data
    return data


async def import_text(api: httpx.AsyncClient, data: bytes) -> dict[str, Any]:
    files = {"file": ("notes.txt", data, "text/plain")}
    response = await api.post("/v1/import/csv", files=files)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.mark.parametrize("with_html", [True, False], ids=["html", "plain"])
async def test_a_note_edited_in_anki_updates_its_card(
    api: httpx.AsyncClient, collection: Collection, tmp_path: Path, with_html: bool
) -> None:
    scaling, heads, sm2 = [await add(api, card) for card in (SCALING, HEADS, SM2)]
    review = await api.post("/v1/reviews", json={"card_id": scaling["id"], "grade": 4})
    assert review.status_code == 201, review.text
    scaling = (await api.get(f"/v1/cards/{scaling['id']}")).json()
    history = (await api.get(f"/v1/cards/{scaling['id']}/reviews")).json()["items"]
    await into_anki(api, collection, tmp_path)

    note = note_containing(collection, "Why divide")
    note["Back"] = "<p>Their variance grows with \\(d_k\\), which saturates the softmax.</p>"
    note.tags = ["attention", "softmax"]
    collection.update_note(note)
    report = await import_text(api, exported_text(collection, tmp_path, with_html=with_html))

    assert report == {"imported": 0, "updated": 1, "skipped_duplicates": 2, "errors": []}
    cards = await all_cards(api)
    assert cards.keys() == {scaling["id"], heads["id"], sm2["id"]}  # no duplicate
    edited = cards[scaling["id"]]
    assert edited["back"] == "Their variance grows with $d_k$, which saturates the softmax."
    assert edited["front"] == SCALING["front"]  # unedited: its Markdown kept
    assert edited["tags"] == ["attention", "softmax"]
    assert (edited["kind"], edited["status"]) == ("basic", "active")
    assert edited["schedule"] == scaling["schedule"]
    assert edited["updated_at"] > scaling["updated_at"]
    assert (await api.get(f"/v1/cards/{scaling['id']}/reviews")).json()["items"] == history
    # The notes nobody edited leave their cards exactly as they were.
    assert cards[heads["id"]] == heads
    assert cards[sm2["id"]] == sm2


async def test_an_unedited_export_changes_nothing(
    api: httpx.AsyncClient, collection: Collection, tmp_path: Path
) -> None:
    cards = [await add(api, card) for card in (SCALING, HEADS, SM2)]
    await into_anki(api, collection, tmp_path)

    report = await import_text(api, exported_text(collection, tmp_path))

    assert report == {"imported": 0, "updated": 0, "skipped_duplicates": 3, "errors": []}
    assert await all_cards(api) == {card["id"]: card for card in cards}


async def test_a_note_made_in_anki_becomes_a_card_that_later_imports_update(
    api: httpx.AsyncClient, collection: Collection, tmp_path: Path
) -> None:
    await add(api, SCALING)
    await into_anki(api, collection, tmp_path)
    note_type = collection.models.by_name("Tutor Basic")
    assert note_type is not None
    note = collection.new_note(note_type)
    note["Front"] = "In GQA, what do the query heads of a group share?"
    note["Back"] = "One key head and one value head"
    note.tags = ["gqa"]
    collection.add_note(note, collection.decks.id("Tutor"))

    first = await import_text(api, exported_text(collection, tmp_path))
    assert first == {"imported": 1, "updated": 0, "skipped_duplicates": 1, "errors": []}
    [made] = [card for card in (await all_cards(api)).values() if "GQA" in card["front"]]
    assert (made["back"], made["tags"], made["origin"]) == (
        "One key head and one value head",
        ["gqa"],
        "imported",
    )

    again = await import_text(api, exported_text(collection, tmp_path))
    assert again == {"imported": 0, "updated": 0, "skipped_duplicates": 2, "errors": []}

    note["Back"] = "One key head and one value head, shared by the group's query heads"
    collection.update_note(note)
    edited = await import_text(api, exported_text(collection, tmp_path))
    assert edited == {"imported": 0, "updated": 1, "skipped_duplicates": 1, "errors": []}
    cards = await all_cards(api)
    assert len(cards) == 2
    assert cards[made["id"]]["back"].endswith("shared by the group's query heads")


async def test_a_front_edited_into_a_cloze_makes_the_card_a_cloze(
    api: httpx.AsyncClient, collection: Collection, tmp_path: Path
) -> None:
    sm2 = await add(api, SM2)
    await into_anki(api, collection, tmp_path)
    note = note_containing(collection, "SM-2")
    note["Front"] = "<p>SM-2 stands for {{c1::SuperMemo 2}}.</p>"
    collection.update_note(note)

    report = await import_text(api, exported_text(collection, tmp_path))

    assert report["updated"] == 1
    card = (await api.get(f"/v1/cards/{sm2['id']}")).json()
    assert (card["front"], card["kind"]) == ("SM-2 stands for {{c1::SuperMemo 2}}.", "cloze")
    assert card["back"] == SM2["back"]  # unedited: its Markdown kept


async def test_a_cloze_note_left_without_a_deletion_is_a_row_error(
    api: httpx.AsyncClient, collection: Collection, tmp_path: Path
) -> None:
    heads = await add(api, HEADS)
    await into_anki(api, collection, tmp_path)
    note = note_containing(collection, "base model")
    note["Text"] = "<p>The base model runs 8 heads in parallel.</p>"
    collection.update_note(note)

    report = await import_text(api, exported_text(collection, tmp_path))

    assert report["imported"] == report["updated"] == 0
    assert [error["message"] for error in report["errors"]] == [WRITE_A_DELETION]
    assert (await api.get(f"/v1/cards/{heads['id']}")).json() == heads


async def test_another_learners_notes_are_not_yours(
    api: httpx.AsyncClient,
    client: httpx.AsyncClient,
    make_learner: Any,
    collection: Collection,
    tmp_path: Path,
) -> None:
    theirs = await add(api, SCALING)
    await into_anki(api, collection, tmp_path)
    data = exported_text(collection, tmp_path)
    grace = {"Authorization": f"Bearer {(await make_learner('grace')).key}"}

    files = {"file": ("notes.txt", data, "text/plain")}
    response = await client.post("/v1/import/csv", files=files, headers=grace)

    assert response.json() == {"imported": 1, "updated": 0, "skipped_duplicates": 0, "errors": []}
    assert (await api.get(f"/v1/cards/{theirs['id']}")).json() == theirs
    # Grace's copy keeps the note's GUID: her next import updates her own card.
    again = await client.post("/v1/import/csv", files=files, headers=grace)
    assert again.json() == {"imported": 0, "updated": 0, "skipped_duplicates": 1, "errors": []}


async def test_a_note_of_two_cards_updates_both(
    api: httpx.AsyncClient, session: AsyncSession, collection: Collection, tmp_path: Path
) -> None:
    """A "Basic (and reversed card)" note from Anki is two Tutor cards sharing its GUID."""
    forward = await add(api, {"front": "What does GQA share?", "back": "Key/value heads"})
    backward = await add(api, {"front": "Key/value heads", "back": "What does GQA share?"})
    for card, number in ((forward, 0), (backward, 1)):
        await session.execute(
            update(Card)
            .where(Card.id == uuid.UUID(card["id"]))
            .values(anki_guid="Bz4;r#Tq1k", anki_ord=number)
        )
    await session.commit()
    await into_anki(api, collection, tmp_path)
    note = note_containing(collection, "GQA")
    assert len(note.cards()) == 2
    note["Back"] = "<p>Key and value heads, per group</p>"
    collection.update_note(note)

    report = await import_text(api, exported_text(collection, tmp_path))

    assert report == {"imported": 0, "updated": 1, "skipped_duplicates": 0, "errors": []}
    cards = await all_cards(api)
    assert len(cards) == 2
    assert (cards[forward["id"]]["front"], cards[forward["id"]]["back"]) == (
        "What does GQA share?",
        "Key and value heads, per group",
    )
    assert (cards[backward["id"]]["front"], cards[backward["id"]]["back"]) == (
        "Key and value heads, per group",
        "What does GQA share?",
    )
