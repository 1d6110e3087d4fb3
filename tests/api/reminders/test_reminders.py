"""Reminders at the learner's hour: delivered to a local receiver, refused for private
addresses unless allowed, and never twice a day."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from helpers import error_of
from service.config import Settings
from service.jobs.models import JobRun
from service.learners.models import Learner
from service.learners.service import IssuedKey
from service.reminders.service import reminder_time, run_for_learner

MORNING = datetime(2026, 3, 10, 6, 30, tzinfo=UTC)  # 07:30 in Berlin
LINK = "http://tutor.example/"


class Receiver:
    """A webhook endpoint on loopback that records what it gets."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        received = self.bodies

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers["Content-Length"])
                received.append(json.loads(self.rfile.read(length)))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # The receivers are on loopback, as a self-hosted one on the home network would be:
    # the deployment allows that, or `PATCH /v1/me` would refuse their URLs. Delivery
    # is told separately (`allow`), to test its own check.
    return settings.model_copy(update={"allow_private_webhooks": True})


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    endpoint = Receiver()
    yield endpoint
    endpoint.close()


async def set_up(api: httpx.AsyncClient, url: str, hour: int = 7) -> None:
    me = await api.patch(
        "/v1/me",
        json={"timezone": "Europe/Berlin", "reminder_hour": hour, "webhook_url": url},
    )
    assert me.status_code == 200, me.text
    assert (await api.post("/v1/cards", json={"front": "What is PPO?", "back": "x"})).status_code
    assert (await api.post("/v1/cards", json={"front": "What is DPO?", "back": "y"})).status_code


async def remind(app: FastAPI, learner: IssuedKey, now: datetime, allow: bool) -> str | None:
    async with app.state.database.sessionmaker() as db:
        me = await db.get(Learner, learner.learner.id)
        assert me is not None
        return await run_for_learner(db, learner=me, now=now, link=LINK, allow_private=allow)


async def test_a_reminder_reaches_a_local_receiver_once_a_day(
    app: FastAPI, api: httpx.AsyncClient, learner: IssuedKey, receiver: Receiver
) -> None:
    await set_up(api, receiver.url)
    assert await remind(app, learner, MORNING.replace(hour=5), allow=True) is None  # 06:00
    assert await remind(app, learner, MORNING, allow=True) == "delivered"
    assert receiver.bodies == [
        {"learner": "ada", "date": "2026-03-10", "due": 0, "new": 2, "url": LINK}
    ]
    assert await remind(app, learner, MORNING.replace(hour=9), allow=True) is None
    assert len(receiver.bodies) == 1


async def test_a_private_address_is_refused(
    app: FastAPI, api: httpx.AsyncClient, learner: IssuedKey, receiver: Receiver, session
) -> None:
    await set_up(api, receiver.url)
    assert await remind(app, learner, MORNING, allow=False) == "refused"
    assert receiver.bodies == []
    run = await session.scalar(select(JobRun).where(JobRun.job == "reminder"))
    assert run is not None
    assert run.outcome == "refused"
    assert "127.0.0.1" in (run.detail or "")


async def test_nothing_due_no_reminder(
    app: FastAPI, api: httpx.AsyncClient, learner: IssuedKey, receiver: Receiver
) -> None:
    await api.patch("/v1/me", json={"reminder_hour": 7, "webhook_url": receiver.url})
    assert await remind(app, learner, MORNING, allow=True) is None
    assert receiver.bodies == []


def test_an_hour_before_the_day_starts_ends_the_study_day() -> None:
    night_owl = Learner(name="x", timezone="UTC", day_starts_at_hour=4, reminder_hour=2)
    at = reminder_time(night_owl, datetime(2026, 3, 10, 20, tzinfo=UTC))
    assert at == datetime(2026, 3, 11, 2, tzinfo=UTC)
    assert reminder_time(Learner(name="y", timezone="UTC", day_starts_at_hour=4), MORNING) is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"reminder_hour": 24}, "reminder_hour"),
        ({"webhook_url": "ftp://example.org/hook"}, "webhook_url"),
        ({"webhook_format": "discord"}, "webhook_format"),
    ],
)
async def test_reminder_settings_are_checked(
    api: httpx.AsyncClient, body: dict[str, Any], field: str
) -> None:
    response = await api.patch("/v1/me", json=body)
    assert response.status_code == 422
    assert error_of(response)["details"][0]["field"] == field


async def test_reminders_can_be_turned_off(api: httpx.AsyncClient) -> None:
    await api.patch("/v1/me", json={"reminder_hour": 7, "webhook_format": "ntfy"})
    me = (await api.patch("/v1/me", json={"reminder_hour": None, "webhook_url": None})).json()
    assert (me["reminder_hour"], me["webhook_url"], me["webhook_format"]) == (None, None, "ntfy")
