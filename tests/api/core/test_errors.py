"""One JSON error shape everywhere, and no stack trace ever reaches a client."""

from __future__ import annotations

import sqlite3

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute

from helpers import error_of


async def test_unknown_route(client: httpx.AsyncClient) -> None:
    for path in ("/nope", "/v1/nope", "/v1/sources/x/y/z"):
        response = await client.get(path)
        assert response.status_code == 404
        assert error_of(response)["code"] == "not_found"


async def test_wrong_method(api: httpx.AsyncClient) -> None:
    response = await api.put("/v1/me", json={})
    assert response.status_code == 405
    assert error_of(response)["code"] == "method_not_allowed"


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("OPTIONS", "/v1/me", "GET, PATCH"),
        ("PUT", "/v1/me", "GET, PATCH"),
        ("DELETE", "/v1/cards", "GET, POST"),
        ("PUT", "/v1/sessions/00000000-0000-0000-0000-000000000000", "DELETE, GET, PATCH"),
        ("POST", "/readyz", "GET"),
        ("OPTIONS", "/openapi.json", "GET, HEAD"),
        # The web app's files, and any path no API route takes, are the static app's.
        ("OPTIONS", "/", "GET, HEAD"),
        ("POST", "/app.js", "GET, HEAD"),
    ],
)
async def test_a_wrong_method_is_told_the_methods_the_path_allows(
    api: httpx.AsyncClient, method: str, path: str, allowed: str
) -> None:
    # RFC 9110, 15.5.6: a 405 lists the methods the resource does support in `Allow`.
    response = await api.request(method, path)
    assert response.status_code == 405
    assert response.headers["allow"] == allowed
    error = error_of(response)
    assert error["code"] == "method_not_allowed"
    assert error["message"] == f"{method} is not allowed here; this path allows {allowed}."
    for other in allowed.split(", "):
        if other not in ("HEAD", "OPTIONS"):
            assert (await api.request(other, path)).status_code != 405, other


async def test_malformed_json(api: httpx.AsyncClient) -> None:
    response = await api.post(
        "/v1/sources", content=b'{"title": "GPT-2",', headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422
    assert error_of(response)["code"] == "invalid_json"


async def test_json_body_that_is_not_utf8(api: httpx.AsyncClient) -> None:
    # Found by tests/api/core/test_fuzz.py: FastAPI answered 400, undocumented, for these bytes.
    response = await api.post(
        "/v1/sources",
        content=b'{"title": "\xff\xfe"}',
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 422
    assert error_of(response)["code"] == "invalid_json"


async def test_body_over_one_mebibyte_is_refused(api: httpx.AsyncClient) -> None:
    big = b'{"title": "x", "notes": "' + b"a" * (1024 * 1024) + b'"}'
    response = await api.post(
        "/v1/sources", content=big, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert error_of(response)["code"] == "body_too_large"
    assert (await api.get("/v1/sources")).json()["items"] == []


async def test_chunked_body_over_the_limit_is_cut_off(api: httpx.AsyncClient) -> None:
    async def chunks():
        for _ in range(20):
            yield b"a" * 64 * 1024

    # A streamed body has no Content-Length, so the limit must be counted as it arrives.
    response = await api.post(
        "/v1/sources", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert error_of(response)["code"] == "body_too_large"


async def test_body_just_under_the_limit_is_read(api: httpx.AsyncClient) -> None:
    # 20,000 characters of notes is the schema's limit, far below the byte limit.
    response = await api.post("/v1/sources", json={"title": "x", "notes": "a" * 20_001})
    assert response.status_code == 422
    assert error_of(response)["details"][0]["field"] == "notes"


async def test_unexpected_failure_is_a_plain_500(app: FastAPI, client: httpx.AsyncClient) -> None:
    async def explode() -> None:
        raise RuntimeError("secret internals: /srv/tutor/db.py line 42")

    app.router.routes.insert(0, APIRoute("/boom", explode))
    response = await client.get("/boom")
    assert response.status_code == 500
    error = error_of(response)
    assert error["code"] == "internal_error"
    assert "secret internals" not in response.text
    assert "Traceback" not in response.text


async def test_every_error_status_is_documented_in_openapi(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/openapi.json")).json()
    operation = schema["paths"]["/v1/sources/{source_id}"]["get"]
    assert {"401", "404", "422"} <= set(operation["responses"])
    assert schema["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"


async def test_nul_in_text_is_a_client_error(api: httpx.AsyncClient, database_url: str) -> None:
    # Found by tests/api/core/test_fuzz.py: PostgreSQL cannot store NUL, which was a 500.
    response = await api.post("/v1/sources", json={"title": "GPT\u0000-2"})
    if database_url.startswith("postgresql"):
        assert response.status_code == 422
        assert error_of(response)["code"] == "invalid_text"
        assert (await api.get("/v1/sources")).json()["items"] == []
    else:
        # SQLite stores it; the difference is harmless, a 500 was not.
        assert response.status_code == 201


# A lock on the whole database is SQLite's; PostgreSQL locks rows.
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_database_locked_by_another_process_is_busy_not_broken(
    api: httpx.AsyncClient, database_url: str
) -> None:
    # Another process (`tutor scheduler`, a backup) holds the write lock for longer than
    # a write waits for it (5 s).
    other = sqlite3.connect(database_url.removeprefix("sqlite+aiosqlite:///"))
    other.execute("BEGIN IMMEDIATE")
    try:
        response = await api.post("/v1/sources", json={"title": "Attention Is All You Need"})
    finally:
        other.rollback()
        other.close()
    assert response.status_code == 503
    assert response.headers["retry-after"] == "1"
    assert error_of(response)["code"] == "database_busy"
    assert (await api.get("/v1/sources")).json()["items"] == []
    assert (await api.post("/v1/sources", json={"title": "GPT-2"})).status_code == 201
