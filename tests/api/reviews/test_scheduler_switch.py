"""FSRS beside SM-2 over HTTP: grading on either scale, switching and back, undo across
a switch, desired retention. py-fsrs, called directly, is the oracle for FSRS's memory.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import fsrs
import httpx
import pytest
from fastapi import FastAPI

from helpers import FixedClock, bearer, error_of
from service.cards.models import Card
from service.learners.service import IssuedKey
from service.reviews.models import Review

NOON = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)  # the learner is on UTC


@pytest.fixture
def clock(app: FastAPI) -> FixedClock:
    fixed = FixedClock(NOON)
    app.state.clock = fixed
    return fixed


async def add_card(api: httpx.AsyncClient, front: str) -> dict[str, Any]:
    response = await api.post("/v1/cards", json={"front": front, "back": "an answer"})
    assert response.status_code == 201, response.text
    card: dict[str, Any] = response.json()
    return card


async def review(api: httpx.AsyncClient, card_id: str, **answer: Any) -> dict[str, Any]:
    response = await api.post("/v1/reviews", json={"card_id": card_id, **answer})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def switch(api: httpx.AsyncClient, **changes: Any) -> dict[str, Any]:
    response = await api.patch("/v1/me/scheduler", json=changes)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def schedules(api: httpx.AsyncClient) -> dict[str, dict[str, Any]]:
    cards = (await api.get("/v1/cards", params={"limit": 100})).json()["items"]
    return {card["id"]: card["schedule"] for card in cards}


async def history(api: httpx.AsyncClient, clock: FixedClock) -> list[str]:
    """Three cards graded with SM-2 over three weeks, one forgotten on the way."""
    ids = [(await add_card(api, f"What is GQA, part {n}?"))["id"] for n in range(3)]
    for grades in ([4, 5, 3], [4, 4, 0], [5, 3, 4]):
        for card_id, grade in zip(ids, grades, strict=True):
            await review(api, card_id, grade=grade)
        due = await schedules(api)
        for card_id in ids:  # a 3 puts the card in the drill: end it with a 4
            if due[card_id]["drill"]:
                await review(api, card_id, grade=4)
        clock.advance(days=7)
    return ids


def oracle_memory(ratings: list[tuple[str, int]]) -> fsrs.Card:
    """py-fsrs given the same ratings on the same clock of learner days (midnight UTC)."""
    scheduler = fsrs.Scheduler(enable_fuzzing=False)
    card = fsrs.Card(card_id=1, due=datetime(2026, 1, 1, tzinfo=UTC))
    for day, rating in ratings:
        when = datetime.combine(date.fromisoformat(day), time(), tzinfo=UTC)
        card, _ = scheduler.review_card(card, fsrs.Rating(rating), when)
    return card


async def ratings_of(api: httpx.AsyncClient, card_id: str) -> list[tuple[str, int]]:
    items = (await api.get(f"/v1/cards/{card_id}/reviews")).json()["items"]
    number = {"again": 1, "hard": 2, "good": 3, "easy": 4}
    return [(item["review_date"], number[item["rating"]]) for item in items]


async def test_sm2_is_the_default_and_the_settings_say_so(
    api: httpx.AsyncClient, clock: FixedClock
) -> None:
    settings = (await api.get("/v1/me/scheduler")).json()
    assert settings["scheduler"] == "sm2"
    assert settings["desired_retention"] == 0.9
    assert settings["fsrs_parameters_fitted"] is False
    assert len(settings["fsrs_parameters"]) == 21
    me = (await api.get("/v1/me")).json()
    assert (me["scheduler"], me["desired_retention"]) == ("sm2", 0.9)


async def test_either_scale_is_accepted_and_both_are_kept(
    api: httpx.AsyncClient, clock: FixedClock
) -> None:
    card = await add_card(api, "What does the KV cache store?")
    graded = await review(api, card["id"], rating="good")  # an SM-2 learner rating Good
    assert (graded["review"]["grade"], graded["review"]["rating"]) == (4, "good")
    assert graded["review"]["scheduler"] == "sm2"
    assert graded["card"]["schedule"]["interval"] == 1  # SM-2's first interval

    for body in ({}, {"grade": 4, "rating": "good"}, {"rating": "fine"}, {"grade": 6}):
        response = await api.post("/v1/reviews", json={"card_id": card["id"], **body})
        assert response.status_code == 422, body
        assert error_of(response)["code"] == "validation_error"


async def test_fsrs_schedules_as_py_fsrs_does(api: httpx.AsyncClient, clock: FixedClock) -> None:
    assert (await switch(api, scheduler="fsrs"))["rescheduled_cards"] == 0
    card = await add_card(api, "What does RoPE rotate?")

    step = await review(api, card["id"], rating="good")
    assert step["review"]["scheduler"] == "fsrs"
    assert step["card"]["schedule"]["drill"] is True  # a 10-minute learning step: today
    assert step["card"]["schedule"]["fsrs"]["state"] == "learning"
    queue = (await api.get("/v1/reviews/queue")).json()
    assert queue["counts"]["drill"] == 1

    clock.advance(minutes=11)
    learnt = await review(api, card["id"], grade=4)  # SM-2's 4 is Good
    assert learnt["review"]["rating"] == "good"
    oracle = oracle_memory(await ratings_of(api, card["id"]))
    schedule = learnt["card"]["schedule"]
    assert schedule["fsrs"]["state"] == "review"
    assert schedule["fsrs"]["stability"] == pytest.approx(oracle.stability)
    assert schedule["fsrs"]["difficulty"] == pytest.approx(oracle.difficulty)
    assert schedule["due"] == oracle.due.date().isoformat()
    assert schedule["drill"] is False

    clock.advance(days=(oracle.due.date() - clock.moment.date()).days)
    forgotten = await review(api, card["id"], rating="again")
    assert forgotten["card"]["schedule"]["lapses"] == 1
    assert forgotten["card"]["schedule"]["fsrs"]["state"] == "relearning"


async def test_switching_to_fsrs_and_back_loses_nothing(
    api: httpx.AsyncClient, clock: FixedClock
) -> None:
    ids = await history(api, clock)
    sm2_before = await schedules(api)
    reviews_before = {card_id: await ratings_of(api, card_id) for card_id in ids}

    to_fsrs = await switch(api, scheduler="fsrs")
    assert (to_fsrs["scheduler"], to_fsrs["rescheduled_cards"]) == ("fsrs", 3)
    fsrs_schedules = await schedules(api)
    for card_id in ids:
        oracle = oracle_memory(reviews_before[card_id])
        memory = fsrs_schedules[card_id]["fsrs"]
        assert memory["state"] == oracle.state.name.lower()
        assert memory["stability"] == pytest.approx(oracle.stability)
        assert memory["difficulty"] == pytest.approx(oracle.difficulty)

    back = await switch(api, scheduler="sm2")
    assert back["rescheduled_cards"] == 3
    assert await schedules(api) == sm2_before  # SM-2 replayed: exactly where it was
    assert {card_id: await ratings_of(api, card_id) for card_id in ids} == reviews_before

    await switch(api, scheduler="fsrs")
    assert await schedules(api) == fsrs_schedules


async def test_grading_continues_after_a_switch_and_undo_crosses_it(
    api: httpx.AsyncClient, clock: FixedClock
) -> None:
    card = await add_card(api, "Why does PPO clip the ratio?")
    await review(api, card["id"], grade=5)
    clock.advance(days=1)
    sm2_state = (await review(api, card["id"], grade=4))["card"]["schedule"]
    await switch(api, scheduler="fsrs")

    undone = (await api.post("/v1/reviews/undo")).json()
    assert undone["undone"]["scheduler"] == "sm2"
    # Derived again from the one review left, by FSRS: not SM-2's old `before`.
    oracle = oracle_memory(await ratings_of(api, card["id"]))
    assert undone["card"]["schedule"]["fsrs"]["stability"] == pytest.approx(oracle.stability)
    assert undone["card"]["schedule"] != sm2_state

    due = datetime.fromisoformat(undone["card"]["schedule"]["due"] + "T12:00:00+00:00")
    clock.moment = max(clock.moment, due)
    graded = await review(api, card["id"], rating="easy")
    assert graded["review"]["scheduler"] == "fsrs"
    assert len(await ratings_of(api, card["id"])) == 2


async def test_desired_retention_reschedules_fsrs_cards(
    api: httpx.AsyncClient, clock: FixedClock
) -> None:
    await history(api, clock)
    await switch(api, scheduler="fsrs")
    relaxed = await schedules(api)
    changed = await switch(api, desired_retention=0.97)
    assert (changed["desired_retention"], changed["rescheduled_cards"]) == (0.97, 3)
    strict = await schedules(api)
    for card_id, schedule in strict.items():
        assert schedule["due"] <= relaxed[card_id]["due"]
        assert schedule["fsrs"] == relaxed[card_id]["fsrs"]  # memory is the same
    assert any(strict[card_id]["due"] < relaxed[card_id]["due"] for card_id in strict)

    # Under SM-2 the retention is kept for later and moves nothing.
    await switch(api, scheduler="sm2")
    assert (await switch(api, desired_retention=0.8))["rescheduled_cards"] == 0


@pytest.mark.parametrize(
    "body",
    [
        {"scheduler": "anki"},
        {"desired_retention": 0.5},
        {"desired_retention": 1.0},
        {"scheduler": None},
    ],
)
async def test_bad_settings_are_refused(api: httpx.AsyncClient, body: dict[str, Any]) -> None:
    response = await api.patch("/v1/me/scheduler", json=body)
    assert response.status_code == 422
    assert error_of(response)["code"] == "validation_error"
    assert (await api.get("/v1/me/scheduler")).json()["scheduler"] == "sm2"


async def test_a_learners_switch_leaves_other_learners_alone(
    api: httpx.AsyncClient,
    clock: FixedClock,
    client: httpx.AsyncClient,
    make_learner: Callable[..., Awaitable[IssuedKey]],
) -> None:
    grace = await make_learner("grace")
    await switch(api, scheduler="fsrs")
    other = await client.get("/v1/me/scheduler", headers=bearer(grace.key))
    assert other.json()["scheduler"] == "sm2"


async def test_a_card_reviewed_often_replays_into_sm2(app: FastAPI, api: httpx.AsyncClient) -> None:
    # Forty Easy answers three days apart, as FSRS at a high retention might ask: SM-2
    # multiplying its interval at each pass would reach past the year 9999 on replay
    # without the cap at a century.
    card = await add_card(api, "What does DPO optimise?")
    start = datetime(2026, 3, 10, 12, tzinfo=UTC)
    async with app.state.database.sessionmaker() as db:
        stored = await db.get_one(Card, uuid.UUID(card["id"]))
        db.add_all(
            Review(
                card_id=stored.id,
                learner_id=stored.learner_id,
                grade=5,
                rating=4,
                scheduler="fsrs",
                reviewed_at=start + timedelta(days=3 * n),
                review_date=(start + timedelta(days=3 * n)).date(),
                duration_ms=None,
                drill=False,
                before={},
                after={},
                created_at=start + timedelta(days=3 * n),
            )
            for n in range(40)
        )
        await db.commit()
    assert (await switch(api, scheduler="fsrs"))["rescheduled_cards"] == 1
    assert (await switch(api, scheduler="sm2"))["rescheduled_cards"] == 1
    schedule = (await schedules(api))[card["id"]]
    assert schedule["repetitions"] == 40
    assert schedule["fsrs"] is None
    assert date.fromisoformat(schedule["due"]) > date(2126, 1, 1)
