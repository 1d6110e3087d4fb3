"""Review, the third daily use: a session distilled into drafts, the drafts accepted,
reviewed with SM-2, and exported to Anki, where the real `anki` library imports them."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from anki.collection import Collection
from stopwatch import Stopwatch
from tutoring import assert_complete_answer, explain, new_session

from anki_import import import_package

# A short batch: enough to see every side filled, quick for a small model to write.
MAX_CARDS = 3
CLOZE_DELETION = re.compile(r"\{\{c1::.+?\}\}", re.S)


# A 135M model writes junk cards now and then (a cloze with no deletion, which Tutor
# drops), or writes one card until its token limit (which Tutor reports as 502
# `llm_bad_output`, saying so); a learner who got no cards would ask again, and so does
# the test, a few times. Every other failure fails at once.
DISTILL_ATTEMPTS = 3


async def distilled_session(api: httpx.AsyncClient, stopwatch: Stopwatch) -> dict[str, Any]:
    """A session with one explanation, distilled until it gives drafts: the last answer
    of `.../distill`."""
    session_id = await new_session(api, stopwatch)
    assert_complete_answer(
        await explain(api, stopwatch, session_id, "intuition"), level="intuition"
    )
    result: dict[str, Any] = {"cards": [], "skipped": "every attempt was cut at its limit"}
    for attempt in range(1, DISTILL_ATTEMPTS + 1):
        with stopwatch.step(f"distill (structured), attempt {attempt}"):
            response = await api.post(
                f"/v1/sessions/{session_id}/distill", json={"max_cards": MAX_CARDS}
            )
        if response.status_code == 502 and "token limit" in response.text:
            continue
        assert response.status_code == 201, response.text
        result = response.json()
        if result["cards"]:
            break
    return result


def has_both_sides(card: dict[str, Any]) -> bool:
    """A question and its answer. A cloze card's front holds both (its back is optional
    extra); one without a deletion must at least be flagged for the learner to fix."""
    if card["kind"] == "cloze":
        deletion = CLOZE_DELETION.search(card["front"])
        return bool(deletion) or "cloze_deletions" in card["quality_flags"]
    return bool(card["front"].strip() and card["back"].strip())


async def test_distilled_drafts_have_both_sides(
    live_api: httpx.AsyncClient, stopwatch: Stopwatch
) -> None:
    result = await distilled_session(live_api, stopwatch)
    drafts = result["cards"]
    assert drafts, f"no drafts; skipped: {result['skipped']}"
    assert all(card["status"] == "draft" for card in drafts), drafts
    assert [card for card in drafts if not has_both_sides(card)] == []


async def test_accept_review_and_export_to_anki(
    live_api: httpx.AsyncClient, stopwatch: Stopwatch, tmp_path: Path
) -> None:
    result = await distilled_session(live_api, stopwatch)
    if not result["cards"]:
        pytest.fail(f"distill gave no drafts to accept; skipped: {result['skipped']}")
    ids = sorted(card["id"] for card in result["cards"])
    accepted = await accept(live_api, stopwatch, ids)
    await review_each_once(live_api, stopwatch, ids)
    with stopwatch.step("export to Anki"):
        response = await live_api.get("/v1/export/anki")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/apkg"

    cards = [(card["kind"], card["front"], card["quality_flags"]) for card in accepted]
    with anki_collection(tmp_path / "collection.anki2") as collection:
        imported = import_package(collection, response.content, tmp_path)
        assert len(imported.log.new) == len(ids), cards
        assert collection.note_count() == len(ids), cards
        # A note Anki makes no card from (a cloze without a deletion) is nothing to review.
        assert collection.card_count() >= len(ids), cards


async def accept(
    api: httpx.AsyncClient, stopwatch: Stopwatch, ids: list[str]
) -> list[dict[str, Any]]:
    """Accept the drafts: active at once, and all of them new in today's queue."""
    with stopwatch.step("accept drafts"):
        response = await api.post("/v1/cards/accept", json={"ids": ids})
    assert response.status_code == 200, response.text
    accepted: list[dict[str, Any]] = response.json()["cards"]
    assert sorted(card["id"] for card in accepted) == ids
    assert all(card["status"] == "active" for card in accepted), accepted
    with stopwatch.step("review queue"):
        queue = (await api.get("/v1/reviews/queue")).json()
    assert sorted(card["id"] for card in queue["cards"]) == ids
    assert queue["counts"]["new"] == len(ids), queue["counts"]
    return accepted


async def review_each_once(api: httpx.AsyncClient, stopwatch: Stopwatch, ids: list[str]) -> None:
    """Grade every card 4: each is scheduled for a later day and leaves today's queue."""
    for card_id in ids:
        with stopwatch.step("grade a card"):
            response = await api.post("/v1/reviews", json={"card_id": card_id, "grade": 4})
        assert response.status_code == 201, response.text
        graded = response.json()
        assert graded["card"]["schedule"]["repetitions"] == 1, graded
        assert graded["card"]["schedule"]["due"] > graded["review"]["review_date"], graded
    assert (await api.get("/v1/reviews/queue")).json()["cards"] == []


@contextmanager
def anki_collection(path: Path) -> Iterator[Collection]:
    collection = Collection(str(path))
    try:
        yield collection
    finally:
        collection.close()
