"""Auto-distillation: idle sessions with new content become drafts, once per version."""

from __future__ import annotations

import json
from datetime import timedelta

import httpx
from fastapi import FastAPI

from fakellm import Failure, FakeLLM, Reply
from helpers import FixedClock
from service.cards.autodistill import run_for_learner
from service.db import utcnow
from service.learners.models import Learner
from service.learners.service import IssuedKey
from service.worker.jobs import JobContext, auto_distill_job

IDLE = timedelta(hours=2)


def cards(*fronts: str) -> str:
    return json.dumps(
        {"cards": [{"front": f, "back": "an answer", "kind": "basic", "tags": []} for f in fronts]}
    )


async def run(app: FastAPI, learner: IssuedKey, *, hours_later: float) -> None:
    async with app.state.database.sessionmaker() as db:
        me = await db.get(Learner, learner.learner.id)
        assert me is not None
        now = utcnow() + timedelta(hours=hours_later)
        await run_for_learner(db, llm=app.state.llm, learner=me, now=now, idle=IDLE)


async def drafts(api: httpx.AsyncClient) -> list[str]:
    items = (await api.get("/v1/cards", params={"status": "draft"})).json()["items"]
    return sorted(card["front"] for card in items)


async def test_once_per_version_of_the_content(
    app: FastAPI, api: httpx.AsyncClient, fake_llm: FakeLLM, learner: IssuedKey
) -> None:
    session_id = (await api.post("/v1/sessions", json={})).json()["id"]
    fake_llm.script(Reply("Explained."))
    await api.post(f"/v1/sessions/{session_id}/explain", json={"passage": "RoPE rotates."})

    await run(app, learner, hours_later=1)  # not idle long enough
    assert await drafts(api) == []
    assert len(fake_llm.requests) == 1

    fake_llm.script(Reply(cards("In RoPE, what is rotated?")))
    await run(app, learner, hours_later=3)
    assert await drafts(api) == ["In RoPE, what is rotated?"]
    await run(app, learner, hours_later=4)  # the same content: nothing more
    assert len(fake_llm.requests) == 2

    fake_llm.script(Reply("Because relative position."), Reply(cards("Why does RoPE rotate?")))
    await api.post(f"/v1/sessions/{session_id}/messages", json={"content": "Why rotate?"})
    await run(app, learner, hours_later=3)  # new content, idle again
    assert await drafts(api) == ["In RoPE, what is rotated?", "Why does RoPE rotate?"]
    assert len(fake_llm.requests) == 4


async def test_a_failed_distillation_is_tried_again(
    app: FastAPI, api: httpx.AsyncClient, fake_llm: FakeLLM, learner: IssuedKey
) -> None:
    session_id = (await api.post("/v1/sessions", json={})).json()["id"]
    fake_llm.script(Reply("Explained."), Failure(500, "down"))
    await api.post(f"/v1/sessions/{session_id}/explain", json={"passage": "GQA groups heads."})
    await run(app, learner, hours_later=3)
    assert await drafts(api) == []

    fake_llm.script(Reply(cards("In GQA, what do heads share?")))
    await run(app, learner, hours_later=3)
    assert await drafts(api) == ["In GQA, what do heads share?"]


async def test_manual_distillation_counts(
    app: FastAPI, api: httpx.AsyncClient, fake_llm: FakeLLM, learner: IssuedKey
) -> None:
    session_id = (await api.post("/v1/sessions", json={})).json()["id"]
    fake_llm.script(Reply("Explained."), Reply(cards("What is MQA?")))
    await api.post(f"/v1/sessions/{session_id}/explain", json={"passage": "MQA shares K and V."})
    await api.post(f"/v1/sessions/{session_id}/distill")
    await run(app, learner, hours_later=3)
    assert len(fake_llm.requests) == 2  # nothing new since the learner distilled it


async def test_the_job_waits_for_the_next_day_once_the_quota_is_used(
    app: FastAPI, api: httpx.AsyncClient, fake_llm: FakeLLM
) -> None:
    session_id = (await api.post("/v1/sessions", json={})).json()["id"]
    fake_llm.script(Reply("Explained.", prompt_tokens=900, completion_tokens=200))
    await api.post(f"/v1/sessions/{session_id}/explain", json={"passage": "RoPE rotates."})
    settings = app.state.settings.model_copy(
        update={"daily_token_quota": 1000, "autodistill_idle_hours": 0.0001}  # idle: 0.36 s
    )
    clock = FixedClock(utcnow() + timedelta(seconds=1))
    context = JobContext(
        settings=settings, database=app.state.database, llm=app.state.llm, clock=clock
    )

    await auto_distill_job(context)  # 1,100 of 1,000 tokens used today
    assert len(fake_llm.requests) == 1
    assert await drafts(api) == []

    clock.moment += timedelta(days=1)
    fake_llm.script(Reply(cards("In RoPE, what is rotated?")))
    await auto_distill_job(context)
    assert await drafts(api) == ["In RoPE, what is rotated?"]


async def test_a_stopping_scheduler_leaves_the_learners_not_reached_for_the_next_run(
    app: FastAPI, api: httpx.AsyncClient, fake_llm: FakeLLM
) -> None:
    session_id = (await api.post("/v1/sessions", json={})).json()["id"]
    fake_llm.script(Reply("Explained."))
    await api.post(f"/v1/sessions/{session_id}/explain", json={"passage": "GQA groups heads."})
    settings = app.state.settings.model_copy(update={"autodistill_idle_hours": 0.0001})
    context = JobContext(
        settings=settings,
        database=app.state.database,
        llm=app.state.llm,
        clock=FixedClock(utcnow() + timedelta(seconds=1)),
    )

    context.stopping.set()  # SIGTERM arrived before the run reached the learner
    assert await auto_distill_job(context) == 0
    assert len(fake_llm.requests) == 1
    assert await drafts(api) == []

    context.stopping.clear()  # the next start runs it
    fake_llm.script(Reply(cards("What does GQA share?")))
    await auto_distill_job(context)
    assert await drafts(api) == ["What does GQA share?"]
