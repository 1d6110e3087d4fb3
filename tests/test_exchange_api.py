"""Cards out (Anki, CSV) and in (CSV) over HTTP."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from anki.collection import Collection, ImportAnkiPackageOptions, ImportAnkiPackageRequest
from anki.import_export_pb2 import IMPORT_ANKI_PACKAGE_UPDATE_CONDITION_IF_NEWER
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from helpers import bearer, error_of
from service.cards.models import Card

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


def import_into_anki(collection: Collection, package: bytes, directory: Path) -> Any:
    path = directory / f"{uuid.uuid4()}.apkg"
    path.write_bytes(package)
    # Anki desktop's default: a note is updated when the package's copy is newer.
    options = ImportAnkiPackageOptions(update_notes=IMPORT_ANKI_PACKAGE_UPDATE_CONDITION_IF_NEWER)
    request = ImportAnkiPackageRequest(package_path=str(path), options=options)
    return collection.import_anki_package(request)


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
        import_into_anki(collection, response.content, tmp_path)
        note_ids = collection.find_notes("")
        assert len(note_ids) == 2  # the suspended card stays home
        notes = [collection.get_note(note_id) for note_id in note_ids]
        decks = {collection.decks.name(card.did) for note in notes for card in note.cards()}
        assert decks == {"Tutor::Attention Is All You Need"}
        fronts = sorted(note.fields[0] for note in notes)
        assert any("\\(" in front and "d_k" in front for front in fronts)
        assert {tag for note in notes for tag in note.tags} == {"transformer", "rope"}

        unchanged = import_into_anki(
            collection, (await api.get("/v1/export/anki")).content, tmp_path
        )
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
        result = import_into_anki(collection, again, tmp_path)
        assert len(result.log.updated) == 1
        assert len(collection.find_notes("")) == 2
        backs = [collection.get_note(note_id).fields[1] for note_id in collection.find_notes("")]
        assert any(edited in back for back in backs)

        everything = (await api.get("/v1/export/anki", params={"include": "all"})).content
        import_into_anki(collection, everything, tmp_path)
        assert len(collection.find_notes("")) == 3
    finally:
        collection.close()
    assert rope["kind"] == "cloze"


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
    assert first.json() == {"imported": 2, "skipped_duplicates": 0, "errors": []}
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
    assert second.json() == {"imported": 0, "skipped_duplicates": 2, "errors": []}


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
