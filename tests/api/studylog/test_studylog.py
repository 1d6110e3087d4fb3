"""The nightly study log: built from a real day, written once, caught up after downtime."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, date, datetime, timedelta

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from fakellm import Failure, FakeLLM, Reply
from helpers import error_of, reviewed_card
from service.db import utcnow
from service.jobs.models import JobRun
from service.learners.days import learner_day
from service.learners.service import IssuedKey
from service.studylog.models import StudyLogEntry
from service.studylog.service import run_for_learner

CRITIQUE = {
    "verdict": "shaky",
    "score": 3,
    "strengths": ["Right idea."],
    "issues": [],
    "questions": ["Why the square root?"],
}
DIARY = "Read the attention section and finally got why the logits are scaled."


async def run_job(app: FastAPI, learner: IssuedKey, now: datetime) -> None:
    async with app.state.database.sessionmaker() as db:
        me = await db.get(type(learner.learner), learner.learner.id)
        await run_for_learner(db, llm=app.state.llm, learner=me, now=now)


async def entries(session: AsyncSession) -> list[StudyLogEntry]:
    session.expire_all()
    return list(await session.scalars(select(StudyLogEntry).order_by(StudyLogEntry.day)))


async def test_a_real_day_becomes_an_entry(
    app: FastAPI,
    api: httpx.AsyncClient,
    fake_llm: FakeLLM,
    learner: IssuedKey,
    session: AsyncSession,
) -> None:
    fake_llm.script(Reply("Scaling keeps softmax soft."), Reply(json.dumps(CRITIQUE)))
    source = (await api.post("/v1/sources", json={"title": "Attention Is All You Need"})).json()
    await api.patch(f"/v1/sources/{source['id']}", json={"status": "reading"})
    session_id = (await api.post("/v1/sessions", json={"title": "Scaled attention"})).json()["id"]
    await api.post(
        f"/v1/sessions/{session_id}/explain",
        json={"passage": "We scale by 1/sqrt(d_k).", "level": "eli5"},
    )
    await api.post(
        f"/v1/sessions/{session_id}/critiques",
        json={
            "concept": "attention scaling",
            "explanation": "We divide by d_k to keep numbers small.",
        },
    )
    card = (
        await api.post("/v1/cards", json={"front": "Why scale logits?", "back": "Softmax"})
    ).json()
    assert (
        await api.post("/v1/reviews", json={"card_id": card["id"], "grade": 4})
    ).status_code == 201

    fake_llm.script(Reply(DIARY))
    tomorrow = utcnow() + timedelta(days=1)
    await run_job(app, learner, tomorrow)

    (entry,) = await entries(session)
    day = learner_day(learner.learner, utcnow())
    assert (entry.day, entry.number, entry.title) == (day, 0, "Study log 0")
    facts = entry.facts
    assert facts["sessions"] == 1
    assert facts["passages_explained"] == {"eli5": 1}
    assert facts["critiques"] == {"shaky": 1}
    assert facts["shaky_concepts"] == ["attention scaling"]
    assert (facts["cards_created"], facts["cards_accepted"], facts["new_cards_started"]) == (
        1,
        1,
        1,
    )
    assert (facts["reviews"], facts["retention"]) == (1, 1.0)
    assert facts["concepts"] == ["Scaled attention", "attention scaling"]
    assert facts["sources_moved"] == [{"title": "Attention Is All You Need", "status": "reading"}]
    assert entry.narrative == DIARY
    prompt = fake_llm.last_request.json["messages"]
    assert "diary" in prompt[0]["content"]
    assert '"passages_explained"' in prompt[1]["content"]

    listed = (await api.get("/v1/study-log")).json()["items"]
    assert [item["title"] for item in listed] == ["Study log 0"]
    one = (await api.get(f"/v1/study-log/{day.isoformat()}")).json()
    assert one["narrative"] == DIARY
    assert (await api.get("/v1/study-log/2001-01-01")).status_code == 404

    requests_before = len(fake_llm.requests)
    await run_job(app, learner, tomorrow)  # again: nothing new, no model call
    assert len(await entries(session)) == 1
    assert len(fake_llm.requests) == requests_before

    fake_llm.script(Reply("A second take on the same day."))
    regenerated = await api.post(f"/v1/study-log/{day.isoformat()}/regenerate")
    assert regenerated.json()["narrative"] == "A second take on the same day."

    # Asked for by the learner, a failure is reported; the last narrative stays.
    fake_llm.script(Failure(500, "down"))
    failed = await api.post(f"/v1/study-log/{day.isoformat()}/regenerate")
    assert failed.status_code == 502
    assert error_of(failed)["code"] == "llm_error"
    kept = (await api.get(f"/v1/study-log/{day.isoformat()}")).json()
    assert kept["narrative"] == "A second take on the same day."


async def test_missed_days_are_caught_up_once_each(
    app: FastAPI, fake_llm: FakeLLM, learner: IssuedKey, session: AsyncSession
) -> None:
    now = datetime(2026, 3, 10, 12, tzinfo=UTC)
    studied = [date(2026, 3, 5), date(2026, 3, 7)]
    card, reviews = reviewed_card(learner.learner.id, studied)
    session.add(card)
    session.add_all(reviews)
    await session.commit()
    fake_llm.default = Reply(DIARY)

    await run_job(app, learner, now)  # the scheduler was down for days

    written = await entries(session)
    assert [(e.day, e.title) for e in written] == [
        (date(2026, 3, 5), "Study log 0"),
        (date(2026, 3, 7), "Study log 1"),
    ]
    runs = await session.scalar(select(func.count(JobRun.id)))
    assert runs == 7  # every ended day of the week is claimed once, studied or not
    assert len(fake_llm.requests) == 2
    await run_job(app, learner, now + timedelta(hours=1))
    assert len(await entries(session)) == 2
    assert len(fake_llm.requests) == 2


async def test_the_numbers_are_written_when_the_model_is_down(
    app: FastAPI, fake_llm: FakeLLM, learner: IssuedKey, session: AsyncSession
) -> None:
    now = datetime(2026, 3, 10, 12, tzinfo=UTC)
    card, reviews = reviewed_card(learner.learner.id, [date(2026, 3, 9)])
    session.add(card)
    session.add_all(reviews)
    await session.commit()
    fake_llm.script(Failure(503, "down"))

    await run_job(app, learner, now)
    (entry,) = await entries(session)
    assert entry.narrative is None
    assert entry.facts["reviews"] == 1

    fake_llm.script(Reply(DIARY))
    await run_job(app, learner, now + timedelta(minutes=15))
    (entry,) = await entries(session)
    assert entry.narrative == DIARY


async def test_two_schedulers_racing_write_one_entry(
    app: FastAPI, fake_llm: FakeLLM, learner: IssuedKey, session: AsyncSession
) -> None:
    now = datetime(2026, 3, 10, 12, tzinfo=UTC)
    card, reviews = reviewed_card(learner.learner.id, [date(2026, 3, 9)])
    session.add(card)
    session.add_all(reviews)
    await session.commit()
    fake_llm.default = Reply(DIARY, first_token_delay=0.05)

    await asyncio.gather(*(run_job(app, learner, now) for _ in range(3)))

    assert len(await entries(session)) == 1
    assert len(fake_llm.requests) == 1


async def test_the_diary_gets_the_failed_reviews_and_missed_checks_it_is_asked_about(
    app: FastAPI,
    api: httpx.AsyncClient,
    fake_llm: FakeLLM,
    learner: IssuedKey,
    session: AsyncSession,
) -> None:
    forgotten = (
        await api.post("/v1/cards", json={"front": "What does GQA share?", "back": "K and V"})
    ).json()
    assert (await api.post("/v1/reviews", json={"card_id": forgotten["id"], "grade": 1})).is_success
    session_id = (await api.post("/v1/sessions", json={})).json()["id"]
    fake_llm.script(Reply("Explained.\n\n**Check:** Why share the keys?"))
    explained = await api.post(f"/v1/sessions/{session_id}/explain", json={"passage": "GQA."})
    grade = {"result": "wrong", "feedback": "Look again.", "expected": "Memory."}
    fake_llm.script(Reply(json.dumps(grade)))
    message_id = explained.json()["message"]["id"]
    checked = await api.post(
        f"/v1/sessions/{session_id}/messages/{message_id}/check", json={"answer": "Speed?"}
    )
    assert checked.status_code == 201, checked.text

    fake_llm.script(Reply(DIARY))
    await run_job(app, learner, utcnow() + timedelta(days=1))
    (entry,) = await entries(session)
    assert entry.facts["failed_reviews"] == ["What does GQA share?"]
    assert entry.facts["checks"] == {"wrong": 1}
    assert entry.facts["missed_checks"] == ["Why share the keys?"]
    prompt = fake_llm.last_request.json["messages"]
    assert "What does GQA share?" in prompt[1]["content"]
    assert "without its answer" in prompt[0]["content"]
