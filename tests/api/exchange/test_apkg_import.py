"""POST /v1/import/apkg with packages the real Anki backend made: notes become cards,
decks sources, the review log reviews; twice changes nothing; bad files write nothing.
"""

from __future__ import annotations

import asyncio
import io
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from anki.collection import Collection, ExportAnkiPackageOptions

from anki_decks import Deck, build_deck, progress_of
from anki_import import import_package
from helpers import error_of


@pytest.fixture(scope="module")
def deck() -> Iterator[Deck]:
    with tempfile.TemporaryDirectory() as directory:
        yield build_deck(Path(directory))


async def upload(api: httpx.AsyncClient, data: bytes, name: str = "deck.apkg") -> httpx.Response:
    return await api.post(
        "/v1/import/apkg", files={"file": (name, data, "application/octet-stream")}
    )


async def all_cards(api: httpx.AsyncClient) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = (await api.get("/v1/cards", params={"limit": 200})).json()[
        "items"
    ]
    return items


async def test_notes_become_cards_with_their_schedule_and_reviews(
    api: httpx.AsyncClient, deck: Deck
) -> None:
    response = await upload(api, deck.package)
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["notes"] == 4
    assert (report["cards_created"], report["cards_updated"], report["cards_unchanged"]) == (
        5,
        0,
        0,
    )
    assert report["notes_skipped"] == 1
    assert any("Vocab" in problem for problem in report["problems"])
    assert report["reviews_added"] == sum(answers for *_, answers in deck.anki.values())
    assert report["sources_created"] == 3  # LLMs, LLMs::Llama, Attention; not Default

    cards = await all_cards(api)
    by_front = {card["front"]: card for card in cards}
    basic = by_front["What does GQA share?"]  # Anki's HTML read as text
    assert basic["kind"] == "basic"
    assert basic["tags"] == ["gqa"]
    ivl, factor, lapses, answers = deck.anki[("basic", 0)]
    assert basic["schedule"]["interval"] == ivl
    assert basic["schedule"]["easiness"] == factor / 1000
    assert basic["schedule"]["lapses"] == lapses
    history = (await api.get(f"/v1/cards/{basic['id']}/reviews")).json()["items"]
    assert [(item["rating"], item["scheduler"]) for item in history] == [("easy", "anki")] * answers

    reversed_cards = sorted(
        (card for card in cards if "RoPE" in card["front"] + card["back"]), key=lambda c: c["front"]
    )
    assert [(card["front"], card["status"]) for card in reversed_cards] == [
        ("RoPE", "active"),
        ("rotary position embedding", "suspended"),
    ]

    clozes = [card for card in cards if card["kind"] == "cloze"]
    assert len(clozes) == 2
    asked = sorted(card["front_html"].count("[") for card in clozes)
    assert asked == [1, 1]  # each card asks its own deletion only, as in Anki
    assert any("[function]" in card["front_html"] for card in clozes)
    assert all(card["front"] == clozes[0]["front"] for card in clozes)
    assert "$\\sqrt{d_k}$" in clozes[0]["front"]

    sources = {source["title"] for source in (await api.get("/v1/sources")).json()["items"]}
    assert {"LLMs", "LLMs::Llama", "Attention"} <= sources


async def test_the_same_package_twice_changes_nothing(api: httpx.AsyncClient, deck: Deck) -> None:
    first = (await upload(api, deck.package)).json()
    before = await all_cards(api)
    second = (await upload(api, deck.package)).json()
    assert (second["cards_created"], second["cards_updated"], second["reviews_added"]) == (0, 0, 0)
    assert second["cards_unchanged"] == first["cards_created"]
    assert second["sources_created"] == 0
    assert await all_cards(api) == before


async def test_an_fsrs_learner_continues_from_the_imported_log(
    api: httpx.AsyncClient, deck: Deck
) -> None:
    # Anki scheduled this deck with SM-2: FSRS's memory comes from each card's log.
    await api.patch("/v1/me/scheduler", json={"scheduler": "fsrs"})
    await upload(api, deck.package)
    reviewed = [card for card in await all_cards(api) if card["schedule"]["last_reviewed_at"]]
    assert len(reviewed) == 3
    for card in reviewed:
        memory = card["schedule"]["fsrs"]
        assert memory["state"] == "review"
        assert memory["stability"] > 0
    due_before = {card["id"]: card["schedule"]["due"] for card in reviewed}
    # Anki's due dates stand until a change of FSRS's settings derives them again.
    switched = (await api.patch("/v1/me/scheduler", json={"desired_retention": 0.85})).json()
    assert switched["rescheduled_cards"] >= 3
    after = {card["id"]: card["schedule"]["due"] for card in await all_cards(api)}
    assert all(after[card_id] for card_id in due_before)


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


@pytest.mark.parametrize(
    "data",
    [
        b"not a zip at all",
        _zip({"../../etc/passwd": b"root:x:0:0"}),
        _zip({"collection.anki2": b"SQLite format 3\x00" + b"\x00" * 200}),
        _zip({"collection.anki21": b"\x00" * (30 * 1024 * 1024)}),  # a small zip bomb
    ],
    ids=["not-a-zip", "path-traversal", "corrupt-collection", "zeros"],
)
async def test_a_bad_package_is_a_clear_422_and_writes_nothing(
    api: httpx.AsyncClient, data: bytes
) -> None:
    response = await upload(api, data)
    assert response.status_code == 422, response.text
    error = error_of(response)
    assert error["code"] == "invalid_package"
    assert error["message"].startswith("This is not an Anki package Tutor can read")
    assert await all_cards(api) == []
    assert (await api.get("/v1/sources")).json()["items"] == []


@pytest.fixture(scope="module")
def fsrs_deck() -> Iterator[Deck]:
    with tempfile.TemporaryDirectory() as directory:
        yield build_deck(Path(directory), fsrs=True)


@pytest.mark.parametrize("scheduled_by", ["sm2", "fsrs"])
async def test_anki_to_tutor_to_anki_keeps_notes_cards_progress_and_reviews(
    api: httpx.AsyncClient, scheduled_by: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    deck: Deck = request.getfixturevalue("fsrs_deck" if scheduled_by == "fsrs" else "deck")
    if scheduled_by == "fsrs":
        assert all(progress.memory for progress in deck.progress.values() if progress.answers)
    await upload(api, deck.package)
    exported = await api.get("/v1/export/anki", params={"include": "all"})
    assert exported.status_code == 200
    col = Collection(str(tmp_path / "again.anki2"))
    try:
        import_package(col, exported.content, tmp_path, with_progress=True)
        again = progress_of(col)
    finally:
        col.close()
    assert again == deck.progress


async def test_an_edit_in_anki_comes_in_and_an_older_package_undoes_no_edit_here(
    api: httpx.AsyncClient, deck: Deck, tmp_path: Path
) -> None:
    await upload(api, deck.package)
    (card,) = [card for card in await all_cards(api) if card["front"] == "What does GQA share?"]
    # Edited in Tutor: the same (older) package again leaves the edit alone.
    edited = await api.patch(f"/v1/cards/{card['id']}", json={"back": "K and V, per group"})
    assert edited.status_code == 200, edited.text
    await upload(api, deck.package)
    assert (await api.get(f"/v1/cards/{card['id']}")).json()["back"] == "K and V, per group"

    # Edited in Anki afterwards (Anki keeps whole seconds: a later second), that package
    # brings the edit.
    await asyncio.sleep(1.05)
    col = Collection(str(tmp_path / "anki.anki2"))
    try:
        import_package(col, deck.package, tmp_path, with_progress=True)
        note_id = col.db.scalar("SELECT id FROM notes WHERE guid = ?", deck.notes["basic"].guid)
        note = col.get_note(note_id)
        note.fields[1] = "keys and values, shared by each group of query heads"
        col.update_note(note)
        path = tmp_path / "edited.apkg"
        col.export_anki_package(
            out_path=str(path),
            options=ExportAnkiPackageOptions(
                with_scheduling=True, with_deck_configs=True, with_media=False, legacy=False
            ),
            limit=None,
        )
    finally:
        col.close()
    report = (await upload(api, path.read_bytes())).json()
    assert (report["cards_created"], report["cards_updated"]) == (0, 1)
    back = (await api.get(f"/v1/cards/{card['id']}")).json()["back"]
    assert back == "keys and values, shared by each group of query heads"
