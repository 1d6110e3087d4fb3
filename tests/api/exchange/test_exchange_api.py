"""Cards out (Anki, CSV) and in (CSV) over HTTP."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import genanki  # type: ignore[import-untyped]
import httpx
import pytest
from anki.collection import Collection
from anki.consts import QUEUE_TYPE_NEW, QUEUE_TYPE_SUSPENDED
from fastapi import FastAPI
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from anki_import import anki_date, import_package, revlog
from helpers import FixedClock, bearer, error_of
from service.cards.models import Card, CardStatus

CARDS = [
    {
        "front": "In the Transformer, why divide logits by $\\sqrt{d_k}$?",
        "back": 'Keeps softmax out of saturation, "small" gradients otherwise, too.',
        "tags": ["transformer"],
    },
    {"front": "RoPE rotates {{c1::query and key}} pairs.", "kind": "cloze", "tags": ["rope"]},
]


async def add_cards(
    api: httpx.AsyncClient, source_title: str | None = None
) -> list[dict[str, Any]]:
    source_id = None
    if source_title:
        source_id = (await api.post("/v1/sources", json={"title": source_title})).json()["id"]
    return [
        (await api.post("/v1/cards", json={**card, "source_id": source_id})).json()
        for card in CARDS
    ]


async def test_anki_export_imports_and_edits_update_the_note(
    api: httpx.AsyncClient, tmp_path: Path, session: AsyncSession
) -> None:
    scaling, rope = await add_cards(api, "Attention Is All You Need")
    draft = (await api.post("/v1/cards", json={"front": "A draft?", "back": "no"})).json()
    await api.patch(f"/v1/cards/{draft['id']}", json={"status": "suspended"})

    response = await api.get("/v1/export/anki")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/apkg"
    assert "attachment" in response.headers["content-disposition"]

    collection = Collection(str(tmp_path / "collection.anki2"))
    try:
        import_package(collection, response.content, tmp_path)
        note_ids = collection.find_notes("")
        assert len(note_ids) == 2  # the suspended card stays home
        notes = [collection.get_note(note_id) for note_id in note_ids]
        decks = {collection.decks.name(card.did) for note in notes for card in note.cards()}
        assert decks == {"Tutor::Attention Is All You Need"}
        fronts = sorted(note.fields[0] for note in notes)
        assert any("\\(" in front and "d_k" in front for front in fronts)
        assert {tag for note in notes for tag in note.tags} == {"transformer", "rope"}

        unchanged = import_package(collection, (await api.get("/v1/export/anki")).content, tmp_path)
        assert len(unchanged.log.updated) == 0  # nothing changed in Tutor: Anki keeps its notes

        edited = "Keeps softmax gradients from vanishing."
        await api.patch(f"/v1/cards/{scaling['id']}", json={"back": edited})
        # Anki keeps times in seconds; the edit is a moment later than the first export.
        await session.execute(
            update(Card)
            .where(Card.id == uuid.UUID(scaling["id"]))
            .values(updated_at=datetime.now(UTC) + timedelta(seconds=5))
        )
        await session.commit()
        again = (await api.get("/v1/export/anki")).content
        result = import_package(collection, again, tmp_path)
        assert len(result.log.updated) == 1
        assert len(collection.find_notes("")) == 2
        backs = [collection.get_note(note_id).fields[1] for note_id in collection.find_notes("")]
        assert any(edited in back for back in backs)

        everything = (await api.get("/v1/export/anki", params={"include": "all"})).content
        import_package(collection, everything, tmp_path)
        assert len(collection.find_notes("")) == 3
    finally:
        collection.close()
    assert rope["kind"] == "cloze"


@pytest.fixture
def clock(app: FastAPI) -> FixedClock:
    # A day ago, so that the last reviews are now: Anki refuses log entries from the future.
    fixed = FixedClock(datetime.now(UTC) - timedelta(days=1))
    app.state.clock = fixed
    return fixed


async def grade(api: httpx.AsyncClient, card: dict[str, Any], *grades: int) -> None:
    for value in grades:
        body = {"card_id": card["id"], "grade": value, "duration_ms": 6_000}
        response = await api.post("/v1/reviews", json=body)
        assert response.status_code == 201, response.text


def anki_cards_by_tutor_id(collection: Collection, cards: list[dict[str, Any]]) -> dict[str, Any]:
    """Each Tutor card's Anki card, found by its note's GUID (one card per note here)."""
    guids = {genanki.guid_for(card["id"]): card["id"] for card in cards}
    found = {}
    for note_id in collection.find_notes(""):
        note = collection.get_note(note_id)
        [found[guids[note.guid]]] = note.cards()
    return found


async def test_anki_export_carries_scheduling_and_the_review_log(
    api: httpx.AsyncClient, clock: FixedClock, session: AsyncSession, tmp_path: Path
) -> None:
    scaling, rope = await add_cards(api, "Attention Is All You Need")
    new, drafted, suspended = [
        (await api.post("/v1/cards", json={"front": f"{name}?", "back": "yes"})).json()
        for name in ("New", "Drafted", "Suspended")
    ]
    await grade(api, scaling, 4)
    await grade(api, rope, 3, 4)  # a 3 goes to the drill, a 4 ends it
    await grade(api, suspended, 5)
    clock.advance(days=1)
    await grade(api, scaling, 5)
    await grade(api, rope, 1, 4)  # forgotten, learnt again
    await api.patch(f"/v1/cards/{suspended['id']}", json={"status": "suspended"})
    await session.execute(
        update(Card)
        .where(Card.id == uuid.UUID(drafted["id"]))
        .values(status=CardStatus.draft, due=None, activated_on=None)
    )
    # As FSRS leaves it on a card it has scheduled.
    fsrs = {"stability": 7.25, "difficulty": 4.5}
    await session.execute(update(Card).where(Card.id == uuid.UUID(scaling["id"])).values(fsrs))
    await session.commit()
    exported = [scaling, rope, new, drafted, suspended]

    package = (await api.get("/v1/export/anki", params={"include": "all"})).content
    collection = Collection(str(tmp_path / "collection.anki2"))
    try:
        import_package(collection, package, tmp_path, with_progress=True)
        anki = anki_cards_by_tutor_id(collection, exported)
        log = revlog(collection)
        for card in exported:
            tutor = (await api.get(f"/v1/cards/{card['id']}")).json()
            schedule = tutor["schedule"]
            reviews = (await api.get(f"/v1/cards/{card['id']}/reviews")).json()["items"]
            anki_card = anki[card["id"]]
            assert anki_card.reps == len(reviews)
            assert len([row for row in log if row[1] == anki_card.id]) == len(reviews)
            if reviews:
                assert anki_date(collection, anki_card.due) == date.fromisoformat(schedule["due"])
                assert (anki_card.ivl, anki_card.factor, anki_card.lapses) == (
                    schedule["interval"],
                    round(schedule["easiness"] * 1000),
                    schedule["lapses"],
                )
        assert [row[2] for row in log if row[1] == anki[rope["id"]].id] == [2, 3, 1, 3]
        assert anki[rope["id"]].lapses == 1
        memory = anki[scaling["id"]].memory_state
        assert memory is not None
        assert (memory.stability, memory.difficulty) == (7.25, 4.5)
        assert anki[scaling["id"]].desired_retention == pytest.approx(0.9)
        assert anki[rope["id"]].memory_state is None  # never scheduled by FSRS
        assert anki[new["id"]].queue == QUEUE_TYPE_NEW
        assert anki[suspended["id"]].queue == QUEUE_TYPE_SUSPENDED
        assert anki[drafted["id"]].queue == QUEUE_TYPE_SUSPENDED
        assert "tutor::draft" in anki[drafted["id"]].note().tags

        active_only = (await api.get("/v1/export/anki")).content
        fresh = Collection(str(tmp_path / "fresh.anki2"))
        try:
            import_package(fresh, active_only, tmp_path, with_progress=True)
            assert set(anki_cards_by_tutor_id(fresh, exported)) == {
                scaling["id"],
                rope["id"],
                new["id"],
            }
            assert len(revlog(fresh)) == 6  # scaling 2, rope 4
        finally:
            fresh.close()
    finally:
        collection.close()


async def test_after_renaming_a_source_anki_keeps_its_cards_where_they_were(
    api: httpx.AsyncClient, tmp_path: Path
) -> None:
    scaling, _ = await add_cards(api, "Attention Is All You Need")
    collection = Collection(str(tmp_path / "collection.anki2"))
    try:
        import_package(collection, (await api.get("/v1/export/anki")).content, tmp_path)
        source_id = (await api.get(f"/v1/cards/{scaling['id']}")).json()["source_id"]
        await api.patch(f"/v1/sources/{source_id}", json={"title": "Attention (2017)"})

        import_package(collection, (await api.get("/v1/export/anki")).content, tmp_path)

        # Anki files cards by deck name and never moves a card it already has: the new
        # name's deck is made, empty; the cards stay in the deck with the old name.
        counts = {
            deck.name: collection.decks.card_count(deck.id, include_subdecks=False)
            for deck in collection.decks.all_names_and_ids()
            if deck.name.startswith("Tutor::")
        }
        assert counts == {"Tutor::Attention Is All You Need": 2, "Tutor::Attention (2017)": 0}
    finally:
        collection.close()


async def test_csv_export(api: httpx.AsyncClient) -> None:
    await add_cards(api, "RoFormer")
    response = await api.get("/v1/export/csv")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert response.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert [row["front"] for row in rows] == [card["front"] for card in CARDS]
    assert rows[0]["back"] == CARDS[0]["back"]
    assert (rows[1]["kind"], rows[1]["tags"], rows[1]["status"]) == ("cloze", "rope", "active")
    assert rows[0]["source"] == "RoFormer"
    first = (await api.get("/v1/cards", params={"q": "why divide"})).json()["items"][0]
    assert rows[0]["due"] == first["schedule"]["due"]  # active cards are due at once
    assert rows[0]["due"]


async def test_csv_round_trip_between_learners(
    api: httpx.AsyncClient, client: httpx.AsyncClient, make_learner
) -> None:
    await add_cards(api)
    exported = (await api.get("/v1/export/csv")).content
    other = bearer((await make_learner("grace")).key)

    async def upload(data: bytes) -> httpx.Response:
        files = {"file": ("cards.csv", data, "text/csv")}
        return await client.post("/v1/import/csv", files=files, headers=other)

    first = await upload(exported)
    assert first.status_code == 200, first.text
    assert first.json() == {"imported": 2, "updated": 0, "skipped_duplicates": 0, "errors": []}
    cards = (await client.get("/v1/cards", headers=other)).json()["items"]
    by_front = {card["front"]: card for card in cards}
    assert set(by_front) == {card["front"] for card in CARDS}
    scaling = by_front[CARDS[0]["front"]]
    assert (scaling["back"], scaling["tags"], scaling["status"], scaling["origin"]) == (
        CARDS[0]["back"],
        ["transformer"],
        "active",
        "imported",
    )
    assert by_front[CARDS[1]["front"]]["kind"] == "cloze"

    second = await upload(exported)
    assert second.json() == {"imported": 0, "updated": 0, "skipped_duplicates": 2, "errors": []}


async def test_a_bad_row_is_reported_and_the_rest_imported(api: httpx.AsyncClient) -> None:
    data = (
        b"front,back,tags\n"
        b"What does PPO clip?,The probability ratio,ppo rl\n"
        b",an answer without a question,\n"
        b"What does DPO optimise directly?,The policy from preference pairs,dpo\n"
    )
    response = await api.post("/v1/import/csv", files={"file": ("c.csv", data, "text/csv")})
    body = response.json()
    assert body["imported"] == 2
    assert [error["line"] for error in body["errors"]] == [3]
    tags = {tag for card in (await api.get("/v1/cards")).json()["items"] for tag in card["tags"]}
    assert tags == {"ppo", "rl", "dpo"}


async def test_anki_plain_text_notes_import(api: httpx.AsyncClient) -> None:
    data = (
        b"#separator:tab\n#html:true\n#tags column:3\n"
        b"What does GQA share?\tKeys and values across <b>groups</b> of heads&nbsp;\tllama\n"
    )
    response = await api.post("/v1/import/csv", files={"file": ("notes.txt", data, "text/plain")})
    assert response.json()["imported"] == 1
    (card,) = (await api.get("/v1/cards")).json()["items"]
    assert card["back"] == "Keys and values across groups of heads"
    assert card["tags"] == ["llama"]


async def test_not_utf8_is_a_clear_400(api: httpx.AsyncClient) -> None:
    data = "front,back\nQu'est-ce que l'attention?,Une moyenne pondérée\n".encode("latin-1")
    response = await api.post("/v1/import/csv", files={"file": ("c.csv", data, "text/csv")})
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "not_utf8"
    assert "UTF-8" in error["message"]


@pytest.mark.parametrize("size", [5 * 1024 * 1024 + 1, 7 * 1024 * 1024])
async def test_a_file_over_five_mebibytes_is_refused(api: httpx.AsyncClient, size: int) -> None:
    data = b"front,back\n" + b"x" * size
    response = await api.post("/v1/import/csv", files={"file": ("big.csv", data, "text/csv")})
    assert response.status_code == 413
    assert error_of(response)["code"] in {"file_too_large", "body_too_large"}
    assert (await api.get("/v1/cards")).json()["items"] == []


async def test_json_bodies_keep_their_one_mebibyte_limit(api: httpx.AsyncClient) -> None:
    big = {"front": "x", "back": "y" * (2 * 1024 * 1024)}
    assert (await api.post("/v1/cards", json=big)).status_code == 413
