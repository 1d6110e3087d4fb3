"""Every /v1 route needs a live API key; keys are kept only as hashes."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from helpers import bearer, error_of
from service.app import create_app
from service.config import Settings
from service.learners.auth import hash_key, key_prefix
from service.learners.models import ApiKey
from service.learners.service import IssuedKey, issue_key, revoke_key

# Every /v1 operation in the OpenAPI schema, so a new route without a key check fails here.
_paths = create_app(Settings(_env_file=None)).openapi()["paths"]
PROTECTED = sorted(
    (method.upper(), re.sub(r"\{[^}]+\}", str(uuid.UUID(int=1)), path))
    for path, operations in _paths.items()
    if path.startswith("/v1/")
    for method in operations
)


def test_the_api_has_v1_routes_to_protect() -> None:
    assert ("GET", "/v1/me") in PROTECTED
    assert len(PROTECTED) >= 7


def assert_unauthorized(response: httpx.Response, message_part: str) -> None:
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    error = error_of(response)
    assert error["code"] == "unauthorized"
    assert message_part in error["message"]


@pytest.mark.parametrize(("method", "path"), PROTECTED)
async def test_no_key_no_entry(client: httpx.AsyncClient, method: str, path: str) -> None:
    assert_unauthorized(await client.request(method, path, json={}), "Missing API key")


@pytest.mark.parametrize(
    "header", ["Basic dXNlcjpwYXNz", "Bearer", "Bearer ", "tutor_abc", "Bearer a b"]
)
async def test_malformed_header(client: httpx.AsyncClient, header: str) -> None:
    response = await client.get("/v1/me", headers={"Authorization": header})
    assert_unauthorized(response, "Malformed Authorization header")


async def test_unknown_key(client: httpx.AsyncClient, learner: IssuedKey) -> None:
    forged = learner.key[:-1] + ("a" if learner.key[-1] != "a" else "b")
    assert_unauthorized(await client.get("/v1/me", headers=bearer(forged)), "Unknown API key")


async def test_scheme_is_case_insensitive(client: httpx.AsyncClient, learner: IssuedKey) -> None:
    response = await client.get("/v1/me", headers={"Authorization": f"bearer {learner.key}"})
    assert response.status_code == 200


async def test_revoked_key_is_refused_and_others_still_work(
    client: httpx.AsyncClient, session: AsyncSession, learner: IssuedKey
) -> None:
    second = await issue_key(session, learner=learner.learner)
    await revoke_key(session, prefix=key_prefix(learner.key))

    assert_unauthorized(await client.get("/v1/me", headers=bearer(learner.key)), "revoked")
    still = await client.get("/v1/me", headers=bearer(second))
    assert still.status_code == 200
    assert still.json()["name"] == "ada"


async def test_keys_are_random_prefixed_and_stored_only_as_hashes(
    session: AsyncSession, learner: IssuedKey
) -> None:
    other = await issue_key(session, learner=learner.learner)
    assert other != learner.key
    for key in (learner.key, other):
        assert re.fullmatch(r"tutor_[A-Za-z0-9]{40}", key)

    rows = (await session.scalars(select(ApiKey))).all()
    assert len(rows) == 2
    for row in rows:
        stored = [str(value) for value in vars(row).values()]
        assert not any(learner.key in value or other in value for value in stored)
    assert {row.key_hash for row in rows} == {hash_key(learner.key), hash_key(other)}
    assert {row.prefix for row in rows} == {key_prefix(learner.key), key_prefix(other)}


async def test_last_used_at_is_recorded_without_a_write_per_request(
    client: httpx.AsyncClient, session: AsyncSession, learner: IssuedKey
) -> None:
    row = await session.scalar(select(ApiKey).where(ApiKey.key_hash == hash_key(learner.key)))
    assert row is not None
    assert row.last_used_at is None

    await client.get("/v1/me", headers=bearer(learner.key))
    await session.refresh(row)
    first_use = row.last_used_at
    assert first_use is not None

    await client.get("/v1/me", headers=bearer(learner.key))
    await session.refresh(row)
    assert row.last_used_at == first_use

    row.last_used_at = first_use - timedelta(minutes=5)
    await session.commit()
    await client.get("/v1/me", headers=bearer(learner.key))
    await session.refresh(row)
    assert row.last_used_at is not None
    assert row.last_used_at > first_use - timedelta(minutes=5)


async def test_health_needs_no_key(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).status_code == 200
    assert (await client.get("/readyz")).status_code == 200
