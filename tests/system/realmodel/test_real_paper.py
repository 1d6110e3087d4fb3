"""Reading a paper in Tutor: a PDF read into sections, a passage of it explained with the
paper's own context in the prompt, and the path back to its prerequisites, on a real
server whose context is small and whose JSON is held to a grammar."""

from __future__ import annotations

from typing import Any

import httpx
from stopwatch import Stopwatch
from tutoring import assert_complete_answer

from paper_pdfs import attention_pdf
from papers_api import new_source, settled, upload

STEP_KINDS = {"known", "explain", "queued_source", "add_source"}


async def _paper_passage(
    api: httpx.AsyncClient, stopwatch: Stopwatch
) -> tuple[str, dict[str, Any]]:
    """The uploaded paper's source and its first block that uses d_k after §3.2 defined it."""
    source_id = await new_source(api)
    with stopwatch.step("read the PDF"):
        assert (await upload(api, source_id, attention_pdf())).status_code == 202
        document = await settled(api, source_id)
    assert document["status"] == "ready", document["error"]
    scaled = next(s for s in document["sections"] if s["number"] == "3.2.1")
    block = next(b for b in scaled["blocks"] if "d_k" in b["text"])
    return source_id, block


async def test_a_passage_of_a_paper_explained_and_its_prerequisites(
    live_api: httpx.AsyncClient, stopwatch: Stopwatch
) -> None:
    source_id, block = await _paper_passage(live_api, stopwatch)
    created = await live_api.post("/v1/sessions", json={"source_id": source_id})
    session_id = created.json()["id"]
    anchor = {
        "source_id": source_id,
        "first_block": block["position"],
        "last_block": block["position"],
    }
    with stopwatch.step("explain a paper's passage, rigorous (JSON)"):
        response = await live_api.post(
            f"/v1/sessions/{session_id}/explain",
            json={"passage": block["text"], "level": "rigorous", "from_paper": anchor},
        )
    assert response.status_code == 200, response.text
    message = response.json()["message"]
    assert_complete_answer(message, level="rigorous")

    session = (await live_api.get(f"/v1/sessions/{session_id}")).json()
    assert session["passage"]["section_number"] == "3.2.1", session["passage"]
    assert session["messages"][0]["from_paper"]["first_block"] == block["position"]

    with stopwatch.step("prerequisites (structured)"):
        response = await live_api.post(
            f"/v1/sessions/{session_id}/prerequisites", json={"trigger": "lost", "concept": None}
        )
    assert response.status_code == 201, response.text
    path = response.json()
    assert path["summary"].strip(), path
    assert 1 <= len(path["concepts"]) <= 5, path
    for concept in path["concepts"]:
        assert concept["name"].strip(), concept
        assert concept["step"]["kind"] in STEP_KINDS, concept
        # A learner with no cards and no history knows none of them yet.
        assert concept["known"] is False, concept
