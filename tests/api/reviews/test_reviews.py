"""Daily reviews over HTTP with a fixed clock: the queue, grading, idempotency, undo."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from helpers import FixedClock, error_of
from service.cards.models import Card
from service.learners.days import learner_day
from service.learners.models import Learner
from service.reviews.models import Review

NOON = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)  # a Tuesday; the learner is on UTC


@pytest.fixture
def clock(app: FastAPI) -> FixedClock:
    fixed = FixedClock(NOON)
    app.state.clock = fixed
    return fixed


async def add_card(api: httpx.AsyncClient, front: str, **extra: Any) -> dict[str, Any]:
    response = await api.post("/v1/cards", json={"front": front, "back": "an answer", **extra})
    assert response.status_code == 201, response.text
    card: dict[str, Any] = response.json()
    return card


async def grade(api: httpx.AsyncClient, card_id: str, grade: int, **extra: Any) -> httpx.Response:
    return await api.post("/v1/reviews", json={"card_id": card_id, "grade": grade, **extra})


async def queue_fronts(api: httpx.AsyncClient, **params: Any) -> list[str]:
    body = (await api.get("/v1/reviews/queue", params=params)).json()
    return [card["front"] for card in body["cards"]]


async def test_a_new_card_is_due_on_the_day_it_becomes_active(
    api: httpx.AsyncClient, clock: FixedClock
) -> None:
    card = await add_card(api, "What does PPO clip?")
    assert card["schedule"] == {
        "repetitions": 0,
        "easiness": 2.5,
        "interval": 0,
        "due": "2026-03-10",
        "drill": False,
        "lapses": 0,
        "last_reviewed_at": None,
        "fsrs": None,
    }
    queue = (await api.get("/v1/reviews/queue")).json()
    assert queue["date"] == "2026-03-10"
    assert queue["counts"] == {"due": 0, "new": 1, "drill": 0}


async def test_grading_schedules_with_sm2(api: httpx.AsyncClient, clock: FixedClock) -> None:
    card = await add_card(api, "What does RoPE rotate?")
    response = await grade(api, card["id"], 4, duration_ms=5300)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["card"]["schedule"]["due"] == "2026-03-11"
    assert body["card"]["schedule"]["interval"] == 1
    assert body["card"]["schedule"]["repetitions"] == 1
    review = body["review"]
    assert (review["grade"], review["review_date"], review["duration_ms"]) == (
        4,
        "2026-03-10",
        5300,
    )
    assert review["before"]["repetitions"] == 0
    assert review["after"]["due"] == "2026-03-11"

    again = await grade(api, card["id"], 5)
    assert again.status_code == 409
    assert error_of(again)["code"] == "not_due"

    clock.advance(days=1)
    assert (await grade(api, card["id"], 5)).json()["card"]["schedule"]["interval"] == 6
    history = (await api.get(f"/v1/cards/{card['id']}/reviews")).json()["items"]
    assert [r["grade"] for r in history] == [4, 5]


async def test_a_three_goes_to_the_drill_until_a_four(
    api: httpx.AsyncClient, clock: FixedClock
) -> None:
    card = await add_card(api, "What is the KL penalty for in RLHF?")
    after = (await grade(api, card["id"], 3)).json()
    assert after["card"]["schedule"]["drill"] is True
    queue = (await api.get("/v1/reviews/queue")).json()
    assert queue["counts"] == {"due": 0, "new": 0, "drill": 1}
    assert (await grade(api, card["id"], 2)).json()["review"]["drill"] is True
    done = (await grade(api, card["id"], 4)).json()["card"]["schedule"]
    assert (done["drill"], done["due"]) == (False, "2026-03-11")
    assert (await api.get("/v1/reviews/queue")).json()["cards"] == []


async def test_the_queue_order_and_what_never_appears(
    api: httpx.AsyncClient, clock: FixedClock, session: AsyncSession
) -> None:
    cards = {name: await add_card(api, name) for name in ["a", "b", "c", "d", "e", "f"]}
    for name in ["a", "b", "c", "e"]:
        await grade(api, cards[name]["id"], 4)  # learnt: due tomorrow
    # Make a and b overdue by different amounts, c as overdue as b but harder, and e due
    # today so that it can lapse.
    schedule = {
        "a": (date(2026, 3, 8), 2.5),
        "b": (date(2026, 3, 5), 2.5),
        "c": (date(2026, 3, 5), 1.9),
        "e": (date(2026, 3, 10), 2.5),
    }
    for name, (due, easiness) in schedule.items():
        await session.execute(
            update(Card)
            .where(Card.id == uuid.UUID(cards[name]["id"]))
            .values(due=due, easiness=easiness)
        )
    await session.commit()
    await grade(api, cards["e"]["id"], 0)  # lapsed: due again today
    await grade(api, cards["f"]["id"], 3)  # a new card graded 3: in today's drill
    draft = await add_card(api, "a draft")
    await session.execute(
        update(Card).where(Card.id == uuid.UUID(draft["id"])).values(status="draft")
    )
    await session.commit()
    suspended = await add_card(api, "suspended")
    await api.patch(f"/v1/cards/{suspended['id']}", json={"status": "suspended"})
    await session.commit()
    await add_card(api, "new one")

    assert await queue_fronts(api) == ["c", "b", "a", "e", "d", "new one", "f"]
    assert await queue_fronts(api, limit=2) == ["c", "b"]
    counts = (await api.get("/v1/reviews/queue")).json()["counts"]
    assert counts == {"due": 4, "new": 2, "drill": 1}


async def test_queue_cards_are_shown_as_the_cards_page_shows_them(
    api: httpx.AsyncClient, clock: FixedClock
) -> None:
    tagged = await add_card(api, "What is a KV cache?", tags=["llama", "inference", "memory"])
    await add_card(api, "Untagged")
    queue = (await api.get("/v1/reviews/queue")).json()["cards"]
    listed = (await api.get("/v1/cards")).json()["items"]
    assert sorted(queue, key=lambda card: card["id"]) == sorted(listed, key=lambda c: c["id"])
    assert {card["front"]: card["tags"] for card in queue} == {
        "What is a KV cache?": tagged["tags"],
        "Untagged": [],
    }
    assert tagged["tags"] == ["inference", "llama", "memory"]


async def test_the_new_card_limit(api: httpx.AsyncClient, clock: FixedClock) -> None:
    await api.patch("/v1/me", json={"new_cards_per_day": 2})
    cards = [await add_card(api, f"new {n}") for n in range(4)]
    assert await queue_fronts(api) == ["new 0", "new 1"]
    await grade(api, cards[0]["id"], 5)
    assert await queue_fronts(api) == ["new 1"]
    await grade(api, cards[1]["id"], 5)
    assert (await api.get("/v1/reviews/queue")).json()["counts"]["new"] == 0
    clock.advance(days=1)
    fronts = await queue_fronts(api)
    assert set(fronts[:2]) == {"new 0", "new 1"}  # learnt yesterday, due today
    assert fronts[2:] == ["new 2", "new 3"]


@pytest.mark.parametrize(
    ("timezone", "moment", "day"),
    [
        # UTC−10: 01:30 local on the 11th is still the 10th's study day.
        ("Pacific/Honolulu", datetime(2026, 3, 11, 11, 30, tzinfo=UTC), date(2026, 3, 10)),
        ("Pacific/Honolulu", datetime(2026, 3, 11, 14, 30, tzinfo=UTC), date(2026, 3, 11)),
        # UTC+13: 03:59 local on the 11th is the 10th; 04:00 starts the 11th.
        ("Pacific/Fakaofo", datetime(2026, 3, 10, 14, 59, tzinfo=UTC), date(2026, 3, 10)),
        ("Pacific/Fakaofo", datetime(2026, 3, 10, 15, 0, tzinfo=UTC), date(2026, 3, 11)),
        ("UTC", datetime(2026, 3, 11, 3, 59, tzinfo=UTC), date(2026, 3, 10)),
    ],
)
def test_the_learners_day_starts_at_four(timezone: str, moment: datetime, day: date) -> None:
    learner = Learner(name="x", timezone=timezone, day_starts_at_hour=4)
    assert learner_day(learner, moment) == day


async def test_late_night_reviews_count_for_the_day_before(
    api: httpx.AsyncClient, clock: FixedClock
) -> None:
    await api.patch("/v1/me", json={"timezone": "Pacific/Honolulu"})
    clock.moment = datetime(2026, 3, 11, 11, 30, tzinfo=UTC)  # 01:30 on the 11th in Honolulu
    card = await add_card(api, "What is GQA?")
    assert card["schedule"]["due"] == "2026-03-10"
    review = (await grade(api, card["id"], 4)).json()["review"]
    assert review["review_date"] == "2026-03-10"
    assert (await api.get("/v1/reviews/queue")).json()["date"] == "2026-03-10"
    clock.advance(hours=3)  # 04:30 local: a new day, and the card is due
    assert await queue_fronts(api) == ["What is GQA?"]


async def test_offline_reviews_and_the_future(api: httpx.AsyncClient, clock: FixedClock) -> None:
    card = await add_card(api, "What is MQA?")
    future = (NOON + timedelta(minutes=6)).isoformat()
    response = await grade(api, card["id"], 4, reviewed_at=future)
    assert response.status_code == 422
    assert error_of(response)["code"] == "reviewed_at_in_future"
    soon = (NOON + timedelta(minutes=4)).isoformat()
    assert (await grade(api, card["id"], 4, reviewed_at=soon)).status_code == 201
    naive = await grade(api, card["id"], 4, reviewed_at="2026-03-10T12:00:00")
    assert naive.status_code == 422
    assert error_of(naive)["details"][0]["field"] == "reviewed_at"


@pytest.mark.parametrize("body", [{"grade": 6}, {"grade": -1}, {"grade": "good"}])
async def test_invalid_grades(
    api: httpx.AsyncClient, clock: FixedClock, body: dict[str, Any]
) -> None:
    card = await add_card(api, "What is DPO?")
    response = await api.post("/v1/reviews", json={"card_id": card["id"], **body})
    assert response.status_code == 422


async def test_only_active_cards_are_reviewed(api: httpx.AsyncClient, clock: FixedClock) -> None:
    card = await add_card(api, "What is a reward model?")
    await api.patch(f"/v1/cards/{card['id']}", json={"status": "suspended"})
    response = await grade(api, card["id"], 4)
    assert response.status_code == 409
    assert error_of(response)["code"] == "not_reviewable"
    assert (await grade(api, str(uuid.uuid4()), 4)).status_code == 404


async def count_reviews(session: AsyncSession) -> int:
    return await session.scalar(select(func.count(Review.id))) or 0


async def test_the_same_idempotency_key_grades_once(
    api: httpx.AsyncClient, clock: FixedClock, session: AsyncSession
) -> None:
    card = await add_card(api, "What is the advantage in PPO?")
    key = {"Idempotency-Key": "review-1"}
    body = {"card_id": card["id"], "grade": 4}
    first = await api.post("/v1/reviews", json=body, headers=key)
    again = await api.post("/v1/reviews", json=body, headers=key)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert await count_reviews(session) == 1

    different = await api.post("/v1/reviews", json={**body, "grade": 5}, headers=key)
    assert different.status_code == 422
    assert error_of(different)["code"] == "idempotency_key_reused"

    clock.advance(days=2)  # after 24 hours the key is free again
    later = await api.post("/v1/reviews", json={**body, "grade": 5}, headers=key)
    assert later.status_code == 201
    assert await count_reviews(session) == 2


async def test_a_retried_grade_of_a_card_in_the_drill_is_replayed_not_applied_again(
    api: httpx.AsyncClient, clock: FixedClock, session: AsyncSession
) -> None:
    # A card in the drill stays reviewable after a grade, so the retry grades it again
    # before finding its key taken: that second grade must be rolled back.
    card = await add_card(api, "Why clip the probability ratio?")
    key = {"Idempotency-Key": "drill-1"}
    body = {"card_id": card["id"], "grade": 3}
    first = await api.post("/v1/reviews", json=body, headers=key)
    assert first.json()["card"]["schedule"]["drill"] is True
    again = await api.post("/v1/reviews", json=body, headers=key)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert await count_reviews(session) == 1
    assert (await api.get(f"/v1/cards/{card['id']}")).json() == first.json()["card"]


async def test_racing_identical_submissions_apply_once(
    api: httpx.AsyncClient, clock: FixedClock, session: AsyncSession
) -> None:
    card = await add_card(api, "What does the value head predict?")
    body = {"card_id": card["id"], "grade": 5}
    headers = {"Idempotency-Key": "tap-tap"}
    responses = await asyncio.gather(
        *(api.post("/v1/reviews", json=body, headers=headers) for _ in range(4))
    )
    assert {response.status_code for response in responses} == {201}
    assert len({response.json()["review"]["id"] for response in responses}) == 1
    assert await count_reviews(session) == 1


async def test_racing_grades_of_one_card_without_a_key_apply_once(
    api: httpx.AsyncClient, clock: FixedClock, session: AsyncSession
) -> None:
    # The card is read for update: the second grade sees the first one's schedule. The
    # grades arrive while another writer holds the database, so all of them have read
    # the card before any can write, unless the read itself waits its turn.
    card = await add_card(api, "What does GAE trade off?")
    await session.execute(update(Learner).values(name=Learner.name))
    grading = asyncio.gather(*(grade(api, card["id"], 5) for _ in range(4)))
    await asyncio.sleep(0.2)
    await session.commit()
    responses = await grading
    codes = sorted(response.status_code for response in responses)
    assert codes == [201, 409, 409, 409]
    assert {error_of(r)["code"] for r in responses if r.status_code == 409} == {"not_due"}
    assert await count_reviews(session) == 1


async def test_the_graded_card_is_answered_as_it_is_stored(
    api: httpx.AsyncClient, clock: FixedClock
) -> None:
    card = await add_card(
        api, "Why does $\\sqrt{d_k}$ scale the logits?", tags=["attention", "math"]
    )
    clock.advance(minutes=5)
    graded = (await grade(api, card["id"], 2, duration_ms=900)).json()
    stored = (await api.get(f"/v1/cards/{card['id']}")).json()
    assert graded["card"] == stored
    assert stored["tags"] == ["attention", "math"]
    assert stored["updated_at"] > card["updated_at"]
    assert graded["review"] == (await api.get(f"/v1/cards/{card['id']}/reviews")).json()["items"][0]


async def test_undo_restores_the_card(api: httpx.AsyncClient, clock: FixedClock) -> None:
    nothing = await api.post("/v1/reviews/undo")
    assert nothing.status_code == 404
    assert error_of(nothing)["code"] == "nothing_to_undo"

    card = await add_card(api, "What is reward hacking?")
    before = card["schedule"]
    await grade(api, card["id"], 3)
    await grade(api, card["id"], 4)
    undone = (await api.post("/v1/reviews/undo")).json()
    assert undone["undone"]["grade"] == 4
    assert undone["card"]["schedule"]["drill"] is True
    undone = (await api.post("/v1/reviews/undo")).json()
    assert undone["card"]["schedule"] == before
    assert (await api.get(f"/v1/cards/{card['id']}/reviews")).json()["items"] == []
    assert (await api.get("/v1/reviews/queue")).json()["counts"]["new"] == 1
