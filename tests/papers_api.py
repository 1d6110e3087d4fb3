"""Steps the papers API tests share: a source, its document uploaded, the extraction
waited for, the files kept under the data directory."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx

from service.config import Settings

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
