"""GET /v1/documents: how a list of sources' documents stand, in one request and without
their text (what the Sources page shows beside each source)."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from helpers import bearer, error_of
from paper_pdfs import TITLE, attention_pdf, scanned_pdf
from papers_api import left_by_a_dead_process, new_source, settled, upload


async def _states(api: httpx.AsyncClient, *source_ids: str) -> list[dict[str, Any]]:
    response = await api.get("/v1/documents", params={"source_id": list(source_ids)})
    assert response.status_code == 200, response.text
    documents: list[dict[str, Any]] = response.json()["documents"]
    return documents


async def test_each_source_with_a_document_says_how_it_stands(api: httpx.AsyncClient) -> None:
    read = await new_source(api)
    scanned = await new_source(api, "A scan")
    bare = await new_source(api, "A blog post")
    await upload(api, read, attention_pdf())
    await upload(api, scanned, scanned_pdf())
    await settled(api, read)
    await settled(api, scanned)

    documents = await _states(api, read, scanned, bare)

    by_source = {document["source_id"]: document for document in documents}
    assert set(by_source) == {read, scanned}  # the source without a document is left out
    assert by_source[read] == {
        "source_id": read,
        "status": "ready",
        "progress": 1.0,
        "stage": "Ready",
        "error": None,
        "title": TITLE,
    }
    assert by_source[scanned]["status"] == "failed"
    assert by_source[scanned]["error"]["code"] == "pdf_has_no_text"
    assert "sections" not in by_source[read]  # the state only, not the paper


async def test_another_learners_sources_are_left_out(
    app: FastAPI, api: httpx.AsyncClient, make_learner: Any
) -> None:
    source_id = await new_source(api)
    await upload(api, source_id, attention_pdf())
    await settled(api, source_id)
    other = await make_learner("grace")
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://tutor.test",
        headers=bearer(other.key),
    ) as grace:
        assert await _states(grace, source_id, str(uuid.uuid4())) == []


async def test_a_job_left_by_a_dead_process_reads_as_interrupted(
    api: httpx.AsyncClient, session: AsyncSession
) -> None:
    source_id = await new_source(api)
    await upload(api, source_id, attention_pdf())
    await settled(api, source_id)
    await left_by_a_dead_process(session, source_id)

    (document,) = await _states(api, source_id)

    assert (document["status"], document["error"]["code"]) == ("failed", "extraction_interrupted")


async def test_the_sources_asked_about_are_checked(api: httpx.AsyncClient) -> None:
    too_many = [str(uuid.uuid4()) for _ in range(201)]
    for params in ({}, {"source_id": "not-an-id"}, {"source_id": too_many}):
        response = await api.get("/v1/documents", params=params)
        assert response.status_code == 422, params
        assert error_of(response)["code"] == "validation_error"
