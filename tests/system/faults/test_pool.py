"""One learner's slow model calls cannot take the API down: no request holds a database
connection while the model thinks, so with the pool at its smallest and twice as many
slow critiques, distillations and study-log narratives in flight as there are
connections, every other request still answers at once. And if the pool does run dry,
the client is told the database is busy (503, Retry-After), never 500.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from fakellm import FakeLLM, Reply
from helpers import ANY_TASK_REPLY, error_of, reviewed_card
from service.config import Settings
from service.db import Database
from service.learners.models import Learner
from service.learners.service import IssuedKey
from service.studylog import service as studylog
from service.studylog.models import StudyLogEntry

MODEL_SECONDS = 4.0


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={"database_pool_size": 1, "database_pool_timeout": 2.0, "rate_limit_per_minute": 0}
    )


def _connections(database: Database) -> int:
    """How many connections the pool can hand out at once: kept plus overflow."""
    pool = database.engine.sync_engine.pool
    return pool.size() + pool._max_overflow  # type: ignore[attr-defined]


async def _session_with_an_answer(api: httpx.AsyncClient) -> str:
    session_id: str = (await api.post("/v1/sessions", json={})).json()["id"]
    response = await api.post(
        f"/v1/sessions/{session_id}/explain", json={"passage": "PPO clips the ratio."}
    )
    assert response.status_code == 200, response.text
    return session_id


async def test_slow_model_calls_hold_no_connection(
    app: FastAPI, api: httpx.AsyncClient, fake_llm: FakeLLM
) -> None:
    in_flight = 2 * _connections(app.state.database)
    fake_llm.script(*[Reply("Scaling keeps softmax soft.")] * in_flight)
    sessions = [await _session_with_an_answer(api) for _ in range(in_flight)]
    slow = Reply(ANY_TASK_REPLY, headers_delay=MODEL_SECONDS)
    fake_llm.script(*[slow] * in_flight)
    explanation = "Attention averages the values, weighted by how well keys match the query."
    calls = [
        api.post(
            f"/v1/sessions/{session_id}/critiques",
            json={"concept": "attention", "explanation": explanation},
        )
        if number % 2
        else api.post(f"/v1/sessions/{session_id}/distill", json={})
        for number, session_id in enumerate(sessions)
    ]
    running = [asyncio.ensure_future(call) for call in calls]
    assert await asyncio.to_thread(fake_llm.wait_for_requests, 10, count=2 * in_flight)

    started = time.monotonic()
    me = await api.get("/v1/me")
    waited = time.monotonic() - started

    assert me.status_code == 200
    assert waited < 1.0, f"GET /v1/me waited {waited:.1f} s behind {in_flight} model calls"
    assert not any(call.done() for call in running), "the model calls ended too soon to tell"
    answers = await asyncio.gather(*running)
    assert [answer.status_code for answer in answers] == [201] * in_flight


async def test_the_study_log_holds_no_connection_while_the_model_writes(
    app: FastAPI, api: httpx.AsyncClient, fake_llm: FakeLLM, learner: IssuedKey
) -> None:
    in_flight = 2 * _connections(app.state.database)
    days = [date(2026, 11, 1) + timedelta(days=offset) for offset in range(in_flight)]
    async with app.state.database.sessionmaker() as db:
        db.add_all(
            StudyLogEntry(
                learner_id=learner.learner.id,
                day=day,
                number=number,
                title=f"Study log {number}",
                facts={"reviews": 1},
                narrative=None,
            )
            for number, day in enumerate(days)
        )
        await db.commit()
    fake_llm.script(*[Reply("A good day with PPO.", headers_delay=MODEL_SECONDS)] * in_flight)
    writes = [
        asyncio.ensure_future(api.post(f"/v1/study-log/{day.isoformat()}/regenerate"))
        for day in days
    ]
    assert await asyncio.to_thread(fake_llm.wait_for_requests, 10, count=in_flight)

    started = time.monotonic()
    assert (await api.get("/v1/me")).status_code == 200
    waited = time.monotonic() - started

    assert waited < 1.0, f"GET /v1/me waited {waited:.1f} s behind {in_flight} narratives"
    assert [response.status_code for response in await asyncio.gather(*writes)] == [200] * len(days)


async def test_the_nightly_study_log_holds_no_connection_while_the_model_writes(
    app: FastAPI,
    api: httpx.AsyncClient,
    fake_llm: FakeLLM,
    make_learner: Callable[..., Awaitable[IssuedKey]],
) -> None:
    database: Database = app.state.database
    in_flight = 2 * _connections(database)
    now = datetime(2026, 3, 10, 12, tzinfo=UTC)
    yesterday = date(2026, 3, 9)
    learners = [(await make_learner()).learner for _ in range(in_flight)]
    async with database.sessionmaker() as db:
        for learner in learners:
            card, reviews = reviewed_card(learner.id, [yesterday])
            db.add_all([card, *reviews])
        await db.commit()
    fake_llm.script(*[Reply("A good day with GQA.", headers_delay=MODEL_SECONDS)] * in_flight)

    async def nightly(learner: Learner) -> None:
        async with database.sessionmaker() as db:
            await studylog.run_for_learner(db, llm=app.state.llm, learner=learner, now=now)

    jobs = [asyncio.ensure_future(nightly(learner)) for learner in learners]
    assert await asyncio.to_thread(fake_llm.wait_for_requests, 10, count=in_flight)

    started = time.monotonic()
    assert (await api.get("/v1/me")).status_code == 200
    waited = time.monotonic() - started

    assert waited < 1.0, f"GET /v1/me waited {waited:.1f} s behind {in_flight} narratives"
    await asyncio.gather(*jobs)
    async with database.sessionmaker() as db:
        narratives = await db.scalars(select(StudyLogEntry.narrative))
        assert list(narratives) == ["A good day with GQA."] * in_flight


async def test_a_pool_run_dry_is_busy_not_broken(app: FastAPI, api: httpx.AsyncClient) -> None:
    database: Database = app.state.database
    held = [await database.engine.connect() for _ in range(_connections(database))]
    try:
        response = await api.get("/v1/me")
    finally:
        for connection in held:
            await connection.close()
    assert response.status_code == 503
    assert error_of(response)["code"] == "database_busy"
    assert response.headers["retry-after"] == "1"
    assert (await api.get("/v1/me")).status_code == 200
