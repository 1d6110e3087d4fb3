"""Steps the papers API tests share: a source, its document uploaded, the extraction
waited for, the files kept under the data directory."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from service.config import Settings
from service.db import utcnow
from service.papers.models import Paper, PaperStatus
from service.papers.service import STALE_AFTER

DONE = ("ready", "failed")


async def new_source(api: httpx.AsyncClient, title: str = "Attention Is All You Need") -> str:
    created = await api.post("/v1/sources", json={"title": title})
    assert created.status_code == 201
    source_id: str = created.json()["id"]
    return source_id


async def upload(
    api: httpx.AsyncClient, source_id: str, data: bytes, name: str = "attention.pdf"
) -> httpx.Response:
    files = {"file": (name, data, "application/pdf")}
    return await api.post(f"/v1/sources/{source_id}/document", files=files)


async def settled(api: httpx.AsyncClient, source_id: str, **params: Any) -> dict[str, Any]:
    """The document once its extraction has ended (ready or failed)."""
    async with asyncio.timeout(60):
        while True:
            response = await api.get(f"/v1/sources/{source_id}/document", params=params)
            assert response.status_code == 200, response.text
            document: dict[str, Any] = response.json()
            if document["status"] in DONE:
                return document
            await asyncio.sleep(0.05)


def blocks_of(document: dict[str, Any]) -> list[dict[str, Any]]:
    return [block for section in document["sections"] for block in section["blocks"]]


def paper_files(settings: Settings) -> list[Path]:
    directory = settings.data_dir / "papers"
    return sorted(directory.iterdir()) if directory.exists() else []


async def left_by_a_dead_process(session: AsyncSession, source_id: str) -> None:
    """The source's paper as a server that died mid-extraction leaves it: extracting,
    and touched no more for longer than a live job ever is."""
    paper = await session.scalar(select(Paper).where(Paper.source_id == uuid.UUID(source_id)))
    assert paper is not None
    paper.status = PaperStatus.extracting
    paper.touched_at = utcnow() - STALE_AFTER - timedelta(seconds=1)
    await session.commit()
