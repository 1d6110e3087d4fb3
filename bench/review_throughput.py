"""Grading throughput: POST /v1/reviews from 8 concurrent clients against `tutor serve`.

Each client is a learner grading their own due cards one after another, each request
with a fresh Idempotency-Key as the web app sends it. The cards (half new, half due
reviews, plus a deck of cards due later) are written straight into the database before
the timed part, so only grading is measured. Each card is graded once, so every grade
is a real one (never a replay, never 409 not_due).

    .venv/bin/python -m bench.review_throughput [--backends sqlite,postgresql]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import insert

from bench.common import (
    BenchLearner,
    add_learners,
    auth,
    cpu_seconds,
    create_postgres,
    create_sqlite,
    drop_postgres,
    machine,
    ms,
    percentile,
    print_table,
    tutor_serve,
)
from service.cards.models import Card
from service.db import Database

POSTGRES_DATABASE = "tutor_bench_reviews"
GRADES = [5, 4, 4, 3, 2]  # mostly remembered, some hard, some forgotten
FUTURE_CARDS_PER_LEARNER = 2000  # the rest of the deck: indexes the grades must maintain


@dataclass(frozen=True)
class Result:
    latencies: list[float]
    errors: int
    wall: float
    server_cpu: float


def card_row(learner_id: uuid.UUID, index: int, *, today: date, kind: str) -> dict[str, object]:
    now = datetime.now(UTC)
    row: dict[str, object] = {
        "id": uuid.uuid4(),
        "learner_id": learner_id,
        "front": f"What does equation {index} of the paper say?",
        "back": "That attention is a weighted average of the values.",
        "kind": "basic",
        "status": "active",
        "origin": "manual",
        "quality_flags": [],
        "created_at": now - timedelta(days=60, seconds=index),
        "updated_at": now,
        "activated_on": today - timedelta(days=60),
        "due": today,
    }
    if kind == "review":
        row |= {"repetitions": 2, "interval": 6, "due": today - timedelta(days=index % 20)}
        row |= {"last_reviewed_at": now - timedelta(days=20), "started_on": today - timedelta(50)}
    elif kind == "later":
        row |= {"repetitions": 3, "interval": 15, "due": today + timedelta(days=1 + index % 90)}
        row |= {"last_reviewed_at": now - timedelta(days=5), "started_on": today - timedelta(50)}
    return row


async def seed_cards(
    database_url: str, learners: list[BenchLearner], per_learner: int
) -> list[list[uuid.UUID]]:
    """Due cards for each learner (half new, half reviews): their ids, in grading order."""
    database = Database(database_url)
    today = datetime.now(UTC).date() - timedelta(days=1)  # due today in any timezone
    decks = []
    try:
        async with database.sessionmaker() as session:
            for learner_id in (learner.id for learner in learners):
                rows = [
                    card_row(learner_id, i, today=today, kind="new" if i % 2 else "review")
                    for i in range(per_learner)
                ]
                later = [
                    card_row(learner_id, i, today=today, kind="later")
                    for i in range(FUTURE_CARDS_PER_LEARNER)
                ]
                await session.execute(insert(Card), rows + later)
                decks.append([row["id"] for row in rows])
            await session.commit()
    finally:
        await database.dispose()
    return decks  # type: ignore[return-value]


async def grade_all(
    client: httpx.AsyncClient, key: str, cards: list[uuid.UUID], latencies: list[float]
) -> int:
    errors = 0
    for card_id, grade in zip(cards, itertools.cycle(GRADES), strict=False):
        headers = {**auth(key), "Idempotency-Key": str(uuid.uuid4())}
        body = {"card_id": str(card_id), "grade": grade, "duration_ms": 4200}
        started = time.perf_counter()
        response = await client.post("/v1/reviews", json=body, headers=headers)
        latencies.append(time.perf_counter() - started)
        if response.status_code != 201:
            errors += 1
    return errors


async def run(url: str, pid: int, keys: list[str], cards: list[list[uuid.UUID]]) -> Result:
    latencies: list[float] = []
    limits = httpx.Limits(max_connections=len(keys), max_keepalive_connections=len(keys))
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60) as client:
        cpu, started = cpu_seconds(pid), time.perf_counter()
        errors = await asyncio.gather(
            *(
                grade_all(client, key, deck, latencies)
                for key, deck in zip(keys, cards, strict=True)
            )
        )
        wall = time.perf_counter() - started
        return Result(latencies, sum(errors), wall, (cpu_seconds(pid) - cpu) / wall)


async def prepare(
    backend: str, directory: Path, args: argparse.Namespace
) -> tuple[str, list[str], list[list[uuid.UUID]]]:
    if backend == "postgresql":
        url = await create_postgres(POSTGRES_DATABASE)
    else:
        url = await create_sqlite(directory)
    learners = await add_learners(url, args.clients)
    decks = await seed_cards(url, learners, args.warmup + args.grades)
    return url, [learner.key for learner in learners], decks


def bench_backend(backend: str, args: argparse.Namespace) -> list[object]:
    with tempfile.TemporaryDirectory(prefix="tutor-bench-db-") as directory:
        url, keys, decks = asyncio.run(prepare(backend, Path(directory), args))
        try:
            with tutor_serve(url) as server:
                pid = server.process.pid
                asyncio.run(run(server.url, pid, keys, [d[: args.warmup] for d in decks]))
                result = asyncio.run(run(server.url, pid, keys, [d[args.warmup :] for d in decks]))
        finally:
            if backend == "postgresql":
                asyncio.run(drop_postgres(POSTGRES_DATABASE))
    grades = len(result.latencies)
    return [
        backend,
        args.clients,
        grades,
        grades / result.wall,
        ms(percentile(result.latencies, 50)),
        ms(percentile(result.latencies, 99)),
        result.errors,
        f"{result.server_cpu:.0%}",
        ms(result.server_cpu / (grades / result.wall)),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default="sqlite,postgresql", type=lambda s: s.split(","))
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--grades", type=int, default=500, help="timed grades per client")
    parser.add_argument("--warmup", type=int, default=20, help="untimed grades per client")
    args = parser.parse_args()
    print(f"Machine: {machine()}\n")
    rows = [bench_backend(backend, args) for backend in args.backends]
    headers = ["database", "clients", "grades", "grades/s", "p50 ms", "p99 ms", "errors"]
    print_table([*headers, "server CPU", "CPU ms/grade"], rows)


if __name__ == "__main__":
    main()
