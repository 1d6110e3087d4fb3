"""/healthz and /readyz."""

from __future__ import annotations

import uuid
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
    assert body["limits"] == "memory"
    assert body["llm"] == {"configured": False}


async def _get(settings: Settings, *paths: str) -> list[httpx.Response]:
    """GET each path from an app built on these settings."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            return [await client.get(path) for path in paths]


async def test_readyz_says_a_model_is_configured_but_not_which_nor_where(tmp_path: Path) -> None:
    # Anyone who reaches the port may ask: an internal address, or a model name that
    # tells which provider or private fine-tune is behind Tutor, is not theirs to know.
    settings = Settings(
        data_dir=tmp_path,
        llm=LLMSettings(
            base_url="http://10.20.30.40:11434/v1", model="ft:acme-internal", api_key="sk-x"
        ),
        _env_file=None,
    )
    (ready,) = await _get(settings, "/readyz")
    assert ready.status_code == 200
    assert ready.json()["llm"] == {"configured": True}
    for secret in ("10.20.30.40", "11434", "ft:acme-internal", "sk-x"):
        assert secret not in ready.text


async def test_readyz_is_503_when_the_database_does_not_answer(tmp_path: Path) -> None:
    dead = f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/nothing"
    settings = Settings(data_dir=tmp_path, database_url=dead, _env_file=None)
    ready, alive = await _get(settings, "/readyz", "/healthz")
    assert ready.status_code == 503
    error = error_of(ready)
    assert error["code"] == "not_ready"
    assert error["details"]["database"] == "unavailable"
    assert alive.status_code == 200


async def test_readyz_checks_redis_when_the_limits_are_kept_there(
    tmp_path: Path, redis_server_url: str
) -> None:
    settings = Settings(
        data_dir=tmp_path,
        redis_url=redis_server_url,
        redis_key_prefix=f"tutor-test-{uuid.uuid4().hex}:",
        _env_file=None,
    )
    (ready,) = await _get(settings, "/readyz")
    assert ready.status_code == 200
    assert ready.json()["limits"] == "redis"
    assert redis_server_url not in ready.text


async def test_readyz_is_503_when_redis_does_not_answer(tmp_path: Path) -> None:
    # Every model route refuses with 503 `limits_unavailable` then: not ready to serve.
    port = free_port()  # nothing listens there
    settings = Settings(data_dir=tmp_path, redis_url=f"redis://127.0.0.1:{port}/0", _env_file=None)
    ready, alive = await _get(settings, "/readyz", "/healthz")
    assert ready.status_code == 503
    error = error_of(ready)
    assert error["code"] == "not_ready"
    assert "Redis" in error["message"]
    assert error["details"]["limits"] == "unavailable"
    assert error["details"]["database"] == "sqlite"  # the database itself is fine
    assert str(port) not in ready.text  # nor where it was looked for
    assert alive.status_code == 200
