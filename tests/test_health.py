"""/healthz and /readyz."""

from __future__ import annotations

from pathlib import Path

import httpx

from helpers import error_of, free_port
from service.app import create_app
from service.config import LLMSettings, Settings


async def test_healthz(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_reports_database_and_unconfigured_llm(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    response = await client.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"] == (
        "sqlite" if settings.database.startswith("sqlite") else "postgresql"
    )
    assert body["llm"] == {"configured": False, "base_url": None, "model": None}


async def _get(settings: Settings, *paths: str) -> list[httpx.Response]:
    """GET each path from an app built on these settings."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            return [await client.get(path) for path in paths]


async def test_readyz_says_when_an_llm_is_configured(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path,
        llm=LLMSettings(base_url="http://127.0.0.1:11434/v1", model="llama3.1"),
        _env_file=None,
    )
    (ready,) = await _get(settings, "/readyz")
    assert ready.json()["llm"] == {
        "configured": True,
        "base_url": "http://127.0.0.1:11434/v1",
        "model": "llama3.1",
    }


async def test_readyz_is_503_when_the_database_does_not_answer(tmp_path: Path) -> None:
    dead = f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/nothing"
    settings = Settings(data_dir=tmp_path, database_url=dead, _env_file=None)
    ready, alive = await _get(settings, "/readyz", "/healthz")
    assert ready.status_code == 503
    error = error_of(ready)
    assert error["code"] == "not_ready"
    assert error["details"]["database"] == "unavailable"
    assert alive.status_code == 200
