"""What the learner model costs each explain, follow-up and critique.

Before every such model call Tutor reads the learner's history (their latest critiques
and their cards grouped by tag) and derives what to tell the tutor about them
(`service/knowledge/`). This builds learners with histories of growing size, on SQLite
and on PostgreSQL, and times that step as the service runs it: a fresh database session,
the queries, the derivation and the lines for a passage.

    .venv/bin/python -m bench.learner_model [--repeat 50]

Target: at most 10 ms at p95 for a heavy learner (300 critiques, 2,000 cards), small
beside a model call's seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.common import (
    add_learners,
    create_postgres,
    create_sqlite,
    drop_postgres,
    machine,
    ms,
    percentile,
    print_table,
)
from service.cards.models import Card, CardKind, CardOrigin, CardStatus
from service.db import Database
from service.knowledge.service import told_about
from service.sessions.models import (
    Critique,
    Kind,
    Message,
    MessageStatus,
    Role,
    TutorSession,
    Verdict,
)

PASSAGE = (
    "We compute the dot products of the query with all keys, divide each by the square "
    "root of d_k, and apply a softmax function to obtain the weights on the values. "
    "Multi-head attention runs several such attentions in parallel; layer normalization "
    "follows each sub-layer."
)
CONCEPTS = [
    "scaled dot-product attention",
    "softmax",
    "multi-head attention",
    "layer normalization",
    "positional encoding",
    "rope",
    "kv cache",
    "grouped-query attention",
    "ppo clipped objective",
    "dpo",
    "reward model",
    "lora",
    *(f"concept {index}" for index in range(28)),
]
TAGS = [*(c.replace(" ", "-") for c in CONCEPTS), *(f"tag-{index}" for index in range(20))]
MISTAKES = [f"You say {index} where the paper says something else entirely." for index in range(60)]
# (critiques, cards) per learner: a new learner, a month's, a heavy year's, the extreme.
SIZES = [(0, 0), (30, 200), (300, 2_000), (1_000, 10_000)]


def _critique_rows(
    session_id: uuid.UUID, count: int, rng: random.Random
) -> list[Message | Critique]:
    rows: list[Message | Critique] = []
    start = datetime.now(UTC) - timedelta(days=365)
    for index in range(count):
        attempt = Message(
            session_id=session_id,
            position=2 * index,
            role=Role.learner,
            kind=Kind.attempt,
            content="An explanation.",
            status=MessageStatus.complete,
        )
        written = Message(
            session_id=session_id,
            position=2 * index + 1,
            role=Role.tutor,
            kind=Kind.critique,
            content="A critique.",
            status=MessageStatus.complete,
        )
        attempt.id, written.id = uuid.uuid4(), uuid.uuid4()
        score = rng.randint(0, 5)
        mistaken = rng.random() < 0.4
        issues = [
            {"type": "misconception", "quote": None, "problem": rng.choice(MISTAKES)}
            for _ in range(rng.randint(1, 3) if mistaken else 0)
        ]
        concept = rng.choice(CONCEPTS)
        rows += [
            attempt,
            written,
            Critique(
                session_id=session_id,
                attempt_message_id=attempt.id,
                critique_message_id=written.id,
                concept=concept,
                concept_key=concept,
                attempt=index + 1,
                explanation="An explanation.",
                verdict=Verdict.solid if score >= 4 else Verdict.shaky,
                score=score,
                issues=issues,
                questions=[],
                created_at=start + timedelta(hours=index),
            ),
        ]
    return rows


def _cards(learner_id: uuid.UUID, count: int, rng: random.Random) -> list[Card]:
    reviewed = datetime.now(UTC) - timedelta(days=1)
    return [
        Card(
            learner_id=learner_id,
            front=f"Question {index}?",
            back="An answer.",
            kind=CardKind.basic,
            status=CardStatus.active,
            origin=CardOrigin.manual,
            tags=rng.sample(TAGS, rng.randint(1, 3)),
            lapses=rng.choice([0, 0, 0, 1, 2, 4]),
            easiness=rng.uniform(1.3, 2.8),
            last_reviewed_at=reviewed,
        )
        for index in range(count)
    ]


async def _build(database: Database, learner_id: uuid.UUID, critiques: int, cards: int) -> None:
    rng = random.Random(critiques * 7 + cards)  # noqa: S311 (made-up data, seeded to repeat)
    async with database.sessionmaker() as db:
        session = TutorSession(learner_id=learner_id, title="History")
        db.add(session)
        await db.flush()
        rows = _critique_rows(session.id, critiques, rng)
        # Messages first: a critique's foreign keys name them, and no relationship tells
        # the ORM the order.
        db.add_all([row for row in rows if isinstance(row, Message)])
        await db.flush()
        db.add_all([row for row in rows if isinstance(row, Critique)])
        db.add_all(_cards(learner_id, cards, rng))
        await db.commit()


async def _time(database: Database, learner_id: uuid.UUID, repeat: int) -> tuple[list[float], int]:
    timings: list[float] = []
    lines = 0
    for _ in range(repeat):
        started = time.perf_counter()
        async with database.sessionmaker() as db:
            told = await told_about(db, learner_id, PASSAGE)
        timings.append(time.perf_counter() - started)
        lines = told.text.count("\n- ") if told else 0
    return timings, lines


async def _run(backend: str, url: str, repeat: int) -> list[list[object]]:
    learners = await add_learners(url, len(SIZES))
    database = Database(url)
    rows: list[list[object]] = []
    try:
        for learner, (critiques, cards) in zip(learners, SIZES, strict=True):
            await _build(database, learner.id, critiques, cards)
            await _time(database, learner.id, 5)  # warm: statements compiled, caches filled
            timings, lines = await _time(database, learner.id, repeat)
            rows.append(
                [
                    backend,
                    critiques,
                    cards,
                    lines,
                    ms(percentile(timings, 50)),
                    ms(percentile(timings, 95)),
                ]
            )
    finally:
        await database.dispose()
    return rows


async def main(repeat: int) -> None:
    rows: list[list[object]] = []
    with tempfile.TemporaryDirectory() as folder:
        rows += await _run("SQLite", await create_sqlite(Path(folder)), repeat)
    name = "tutor_bench_learner_model"
    try:
        rows += await _run("PostgreSQL", await create_postgres(name), repeat)
    finally:
        await drop_postgres(name)
    headers = ["database", "critiques", "cards", "lines told", "p50 ms", "p95 ms"]
    print_table(headers, rows)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=50, help="timed reads per learner")
    print(machine())  # outside the run's loop: it asks PostgreSQL for its version itself
    asyncio.run(main(parser.parse_args().repeat))
