"""Small helpers the tests share (fixtures live in conftest.py)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import NullPool

from scheduler.history import CardHistory
from service.cards.models import Card, CardKind, CardOrigin, CardStatus
from service.reviews.models import Review


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def error_of(response: httpx.Response) -> dict[str, Any]:
    """The `error` object of a response in the shared shape, checked on the way."""
    body = response.json()
    assert set(body) == {"error"}, body
    error: dict[str, Any] = body["error"]
    assert isinstance(error["code"], str)
    assert error["code"]
    assert isinstance(error["message"], str)
    assert error["message"]
    return error


def sse_events(body: str) -> list[tuple[str, dict[str, Any]]]:
    """The (event, data) pairs of a whole Server-Sent Events body; comments skipped."""
    events = []
    for block in body.replace("\r\n", "\n").split("\n\n"):
        fields = dict(
            line.split(": ", 1) for line in block.splitlines() if ": " in line and line[0] != ":"
        )
        if "event" in fields:
            events.append((fields["event"], json.loads(fields["data"])))
    return events


def child_processes(module: str) -> list[int]:
    """The pids of this test process's children running `python -m module` (from /proc)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes()
            # The parent's pid is the 4th field of stat, after the name in parentheses.
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if module.encode() in command and parent == os.getpid():
            pids.append(int(entry.name))
    return pids


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


CHROMIUM_ENV = "TUTOR_TEST_CHROMIUM"


def find_chromium() -> str | None:
    """The Chromium the browser tests drive: $TUTOR_TEST_CHROMIUM, else Debian's `chromium`
    (or Ubuntu's `chromium-browser`) on the PATH. Never a downloaded one."""
    configured = os.environ.get(CHROMIUM_ENV)
    if configured:
        return configured if os.access(configured, os.X_OK) else None
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return None


# A model reply valid for every task: JSON for a critique, a check's grade, a batch of
# cards and a path of prerequisites at once (each ignores the other's keys), and readable
# as an explanation or a narrative, one whose line `"check": …` is the explanation's check
# question.
ANY_TASK_REPLY = json.dumps(
    {
        "check": "What do the weights multiply?",
        "result": "wrong",
        "feedback": "Look at what the weights are applied to.",
        "expected": "The values V.",
        "verdict": "shaky",
        "score": 3,
        "strengths": ["The weighted-average picture is right."],
        "issues": [
            {
                "type": "misconception",
                "quote": None,
                "problem": "The output is taken to be the weights themselves.",
                "hint": "What do the weights multiply?",
                "question": "What is averaged?",
                "fix": "The weights multiply the values V.",
            }
        ],
        "questions": ["Why scale by the square root of d_k?"],
        "cards": [
            {
                "front": "Why scale dot products by 1/sqrt(d_k)?",
                "back": "To keep softmax soft.",
                "tags": ["attention"],
            },
            {
                "front": "Attention is a {{c1::weighted average}} of values.",
                "kind": "cloze",
                "tags": [],
            },
        ],
        "summary": "Attention rests on the softmax.",
        "concepts": [
            {"name": "softmax", "also_called": [], "why": "It gives the weights.", "paper": None}
        ],
    },
    indent=1,
)


@dataclass
class FixedClock:
    """Time that only moves when told to, and by a millisecond per reading, so that
    things created one after another keep their order (`app.state.clock = ...`)."""

    moment: datetime

    def now(self) -> datetime:
        self.moment += timedelta(milliseconds=1)
        return self.moment

    def advance(self, **delta: float) -> None:
        self.moment += timedelta(**delta)


async def admin_execute(server_url: str, *statements: str) -> None:
    """`statements` run one by one outside any transaction (CREATE DATABASE cannot run
    in one), on a connection of their own."""
    engine = create_async_engine(server_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            for statement in statements:
                await connection.execute(text(statement))
    finally:
        await engine.dispose()


def reviewed_card(learner_id: uuid.UUID, days: list[date]) -> tuple[Card, list[Review]]:
    """An active card, reviewed (grade 4, at noon UTC) on each of `days`, unsaved."""
    card = Card(
        id=uuid.uuid4(),
        learner_id=learner_id,
        front="What is GQA?",
        back="Shared keys and values",
        kind=CardKind.basic,
        status=CardStatus.active,
        origin=CardOrigin.manual,
        due=days[-1],
    )
    reviews = [
        Review(
            card_id=card.id,
            learner_id=learner_id,
            grade=4,
            rating=3,
            scheduler="sm2",
            reviewed_at=datetime(d.year, d.month, d.day, 12, tzinfo=UTC),
            review_date=d,
            duration_ms=None,
            drill=False,
            before={},
            after={},
        )
        for d in days
    ]
    return card, reviews


async def store_histories(
    sessions: async_sessionmaker[AsyncSession],
    learner_id: uuid.UUID,
    histories: Sequence[CardHistory],
) -> None:
    """Review histories (tests/synthetic_reviews.py) as the learner's own, written
    straight to the database: a card per history, a review row per review."""
    async with sessions() as db:
        for history in histories:
            first, last = history.reviews[0], history.reviews[-1]
            card = Card(
                learner_id=learner_id,
                front=f"Card {history.key}",
                back="an answer",
                kind=CardKind.basic,
                status=CardStatus.active,
                origin=CardOrigin.manual,
                due=last.review_date + timedelta(days=1),
                activated_on=first.review_date,
                started_on=first.review_date,
                last_reviewed_at=last.reviewed_at,
                created_at=first.reviewed_at,
            )
            db.add(card)
            await db.flush()
            db.add_all(
                Review(
                    card_id=card.id,
                    learner_id=learner_id,
                    grade=review.grade,
                    rating=int(review.rating),
                    scheduler="sm2",
                    reviewed_at=review.reviewed_at,
                    review_date=review.review_date,
                    duration_ms=None,
                    drill=False,
                    before={},
                    after={},
                    created_at=review.reviewed_at,
                )
                for review in history.reviews
            )
        await db.commit()


def verdict_only_critique_json(verdict: str, score: int) -> str:
    """A critique reply with a verdict and a score and nothing to point at: enough to
    count failed attempts (the prerequisites tests, API and browser)."""
    return json.dumps(
        {
            "verdict": verdict,
            "score": score,
            "strengths": [],
            "issues": [],
            "questions": ["Where do the values come in?"],
            "next_step": None,
            "improved_since_last": None,
        }
    )
