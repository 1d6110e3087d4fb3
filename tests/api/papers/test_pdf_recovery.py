"""An extraction that did not end by itself: its child process killed, the server
stopping, the server's process gone (a row nobody touches any longer). Each ends
`failed` with a code that says so, never `extracting` forever, and can be tried again;
the file is kept. Deleting the source takes its rows, and the sweep its file."""

from __future__ import annotations

import asyncio
import os
import signal
import uuid

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from helpers import child_processes
from paper_pdfs import attention_pdf, flate_bomb_pdf
from papers_api import left_by_a_dead_process, new_source, paper_files, settled, upload
from service.config import Settings
from service.db import utcnow
from service.papers.models import Paper, PaperBlock, PaperSection, PaperStatus
from service.papers.service import SWEEP_GRACE, sweep_files


def _slow_pdf() -> bytes:
    """Seconds of work for the reader: a content stream of 64 MiB of spaces."""
    return flate_bomb_pdf(64 * 1024 * 1024)


def _workers() -> list[int]:
    """This process's extraction children."""
    return child_processes("service.papers.extract_worker")


async def _extracting(api: httpx.AsyncClient, source_id: str) -> int:
    """Once the extraction runs: its child's process id."""
    async with asyncio.timeout(20):
        while True:
            document = (await api.get(f"/v1/sources/{source_id}/document")).json()
            workers = _workers()
            if document["status"] == "extracting" and workers:
                return workers[0]
            await asyncio.sleep(0.02)


async def test_a_killed_reader_fails_the_extraction_which_can_be_retried(
    api: httpx.AsyncClient, settings: Settings
) -> None:
    source_id = await new_source(api)
    await upload(api, source_id, _slow_pdf())
    child = await _extracting(api, source_id)

    os.kill(child, signal.SIGKILL)

    document = await settled(api, source_id)
    assert document["status"] == "failed"
    assert document["error"]["code"] == "extraction_crashed"
    assert "was killed (signal SIGKILL)" in document["error"]["message"]
    assert len(paper_files(settings)) == 1
    retried = await api.post(f"/v1/sources/{source_id}/document/extract")
    assert retried.status_code == 202
    assert (await settled(api, source_id))["error"]["code"] == "pdf_has_no_text"


async def test_an_extraction_left_by_a_dead_process_is_failed_when_read_and_can_be_retried(
    api: httpx.AsyncClient, session: AsyncSession
) -> None:
    source_id = await new_source(api)
    await upload(api, source_id, attention_pdf())
    await settled(api, source_id)
    await left_by_a_dead_process(session, source_id)

    document = (await api.get(f"/v1/sources/{source_id}/document")).json()

    assert document["status"] == "failed"
    assert document["error"]["code"] == "extraction_interrupted"
    assert "start it again" in document["error"]["message"]
    retried = await api.post(f"/v1/sources/{source_id}/document/extract")
    assert retried.status_code == 202
    assert (await settled(api, source_id))["status"] == "ready"


async def test_a_running_extraction_is_not_started_twice_nor_replaced(
    api: httpx.AsyncClient,
) -> None:
    source_id = await new_source(api)
    await upload(api, source_id, _slow_pdf())
    await _extracting(api, source_id)

    again = await api.post(f"/v1/sources/{source_id}/document/extract")
    replaced = await upload(api, source_id, attention_pdf())

    for refused in (again, replaced):
        assert refused.status_code == 409
        assert refused.json()["error"]["code"] == "extraction_running"


async def test_stopping_the_server_ends_the_extraction_as_interrupted(
    app: FastAPI, api: httpx.AsyncClient, session: AsyncSession
) -> None:
    source_id = await new_source(api)
    await upload(api, source_id, _slow_pdf())
    await _extracting(api, source_id)

    await app.state.background.close()  # what the lifespan does as the server stops

    paper = await session.scalar(select(Paper).where(Paper.source_id == uuid.UUID(source_id)))
    assert paper is not None
    assert (paper.status, paper.error_code) == (PaperStatus.failed, "extraction_interrupted")
    assert _workers() == []


async def test_deleting_the_source_deletes_its_paper_and_the_sweep_its_file(
    app: FastAPI, api: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    kept_id = await new_source(api, "Kept")
    await upload(api, kept_id, attention_pdf())
    await settled(api, kept_id)
    source_id = await new_source(api)
    await upload(api, source_id, attention_pdf())
    await settled(api, source_id)
    assert len(paper_files(settings)) == 2

    assert (await api.delete(f"/v1/sources/{source_id}")).status_code == 204

    assert await session.scalar(select(func.count()).select_from(Paper)) == 1
    for table in (PaperSection, PaperBlock):
        rows = await session.scalar(select(func.count()).select_from(table))
        kept = await session.scalar(
            select(func.count())
            .select_from(table)
            .join(Paper)
            .where(Paper.source_id == uuid.UUID(kept_id))
        )
        assert rows == kept
    sessions = app.state.database.sessionmaker
    # A file written within the grace period may belong to a row not committed yet.
    assert await sweep_files(sessions, settings, now=utcnow()) == []
    [removed] = await sweep_files(sessions, settings, now=utcnow() + SWEEP_GRACE)
    [left] = paper_files(settings)
    assert removed != left
    assert (await settled(api, kept_id))["status"] == "ready"
    gone = await api.get(f"/v1/sources/{source_id}/document")
    assert (gone.status_code, gone.json()["error"]["code"]) == (404, "source_not_found")


async def test_the_sweep_removes_an_upload_a_crash_left_half_written(
    app: FastAPI, settings: Settings
) -> None:
    papers = settings.data_dir / "papers"
    papers.mkdir(parents=True)
    half = papers / f"incoming-{uuid.uuid4()}.part"
    half.write_bytes(b"%PDF-1.7 and then nothing")

    await sweep_files(app.state.database.sessionmaker, settings, now=utcnow() + SWEEP_GRACE)

    assert not half.exists()
