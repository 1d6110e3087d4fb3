"""The review queue at scale: GET /v1/reviews/queue over 1,000,000 cards on PostgreSQL.

1,000 learners with 1,000 cards each, generated in SQL (generate_series) with a spread
like a year of use: 85 % active, 10 % drafts, 5 % suspended; of the active, 15 % never
reviewed (new) and the rest scheduled from 20 days overdue to 180 days ahead, 1 % in
the drill; 30 % of cards tagged. The database (`tutor_bench_queue`) is built once and
reused by later runs; `--rebuild` builds it again, `--drop` removes it.

Every learner is asked once before the timed part (a warm cache, and API keys whose
`last_used_at` is fresh, as for a learner who has the app open). Then random learners'
queues are fetched at each concurrency level. The plans of the queue's queries for one
learner (EXPLAIN ANALYZE, exactly the statements the service runs) are printed after.

    .venv/bin/python -m bench.queue_at_scale [--requests 2000] [--levels 1,8]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import random
import time
from datetime import UTC, datetime

import httpx
from sqlalchemy import event, insert, text

from bench.common import (
    asyncpg_url,
    auth,
    create_postgres,
    drop_postgres,
    machine,
    ms,
    percentile,
    postgres_exists,
    print_table,
    tutor_serve,
)
from service.db import Database
from service.learners.auth import hash_key, key_prefix
from service.learners.models import ApiKey, Learner
from service.reviews.queue import build_queue

DATABASE = "tutor_bench_queue"

CARDS_SQL = """
WITH generated AS (
    SELECT l.id AS learner_id, g, random() AS s, random() AS n, random() AS d,
           random() AS a, random() AS e
    FROM learners l CROSS JOIN generate_series(1, :per_learner) AS g
)
INSERT INTO cards (id, learner_id, front, back, kind, status, origin, quality_flags,
                   created_at, updated_at, repetitions, easiness, interval, due, drill,
                   lapses, last_reviewed_at, started_on, activated_on)
SELECT gen_random_uuid(), learner_id,
       'What is the role of term ' || g || ' in the attention equation?',
       'It scales the dot products before the softmax.', 'basic',
       CASE WHEN s < 0.85 THEN 'active' WHEN s < 0.95 THEN 'draft' ELSE 'suspended' END,
       'distilled', '[]'::json,
       now() - a * interval '365 days', now(),
       CASE WHEN s >= 0.85 AND s < 0.95 OR n < 0.15 THEN 0 ELSE 1 + (e * 8)::int END,
       1.3 + e * 1.5,
       CASE WHEN s >= 0.85 AND s < 0.95 OR n < 0.15 THEN 0 ELSE 1 + (d * d * 180)::int END,
       CASE WHEN s >= 0.85 AND s < 0.95 THEN NULL
            WHEN n < 0.15 THEN current_date - (d * 30)::int
            ELSE current_date + (d * 200)::int - 20 END,
       n >= 0.15 AND e < 0.01 AND s < 0.85,
       CASE WHEN n < 0.15 THEN 0 ELSE (e * 3)::int END,
       CASE WHEN s >= 0.85 AND s < 0.95 OR n < 0.15 THEN NULL
            ELSE now() - a * interval '60 days' END,
       CASE WHEN s >= 0.85 AND s < 0.95 OR n < 0.15 THEN NULL
            ELSE current_date - 1 - (a * 300)::int END,
       CASE WHEN s >= 0.85 AND s < 0.95 THEN NULL ELSE current_date - 1 - (a * 365)::int END
FROM generated
"""
TAGS_SQL = (
    "INSERT INTO card_tags (card_id, tag) SELECT id, 'transformer' FROM cards WHERE random() < 0.3"
)


def bench_key(index: int) -> str:
    """The same key for learner `index` on every run, so a kept database stays usable."""
    digest = hashlib.sha256(f"tutor-bench-{index}".encode()).digest()
    return "tutor_" + base64.b32encode(digest).decode().rstrip("=").lower()[:40]


async def build(learners: int, per_learner: int) -> None:
    url = await create_postgres(DATABASE)
    database = Database(url)
    started = time.perf_counter()
    try:
        async with database.engine.begin() as connection:
            ids = await connection.scalars(
                insert(Learner).returning(Learner.id),
                [{"name": f"bench-{i}", "timezone": "UTC"} for i in range(learners)],
                # executemany with RETURNING keeps the order of the rows sent
            )
            keys = [
                {"learner_id": learner_id, "prefix": key_prefix(bench_key(i))}
                | {"key_hash": hash_key(bench_key(i))}
                for i, learner_id in enumerate(ids)
            ]
            await connection.execute(insert(ApiKey), keys)
            await connection.execute(text(CARDS_SQL), {"per_learner": per_learner})
            await connection.execute(text(TAGS_SQL))
        async with database.engine.connect() as connection:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.execute(text("VACUUM ANALYZE"))
    finally:
        await database.dispose()
    elapsed = time.perf_counter() - started
    print(f"Built {DATABASE}: {learners * per_learner:,} cards in {elapsed:.0f} s")


async def fetch_queues(
    url: str, keys: list[str], *, requests: int, concurrency: int
) -> list[float]:
    latencies: list[float] = []
    chooser = random.Random(requests * 31 + concurrency)  # noqa: S311 - not security

    async def client_loop(client: httpx.AsyncClient, count: int) -> None:
        for _ in range(count):
            key = chooser.choice(keys)
            started = time.perf_counter()
            response = await client.get("/v1/reviews/queue", headers=auth(key))
            latencies.append(time.perf_counter() - started)
            response.raise_for_status()

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    # Every request is sent: the first `requests % concurrency` clients send one more.
    shares = [requests // concurrency + (i < requests % concurrency) for i in range(concurrency)]
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60) as client:
        await asyncio.gather(*(client_loop(client, share) for share in shares))
    return latencies


async def warm(url: str, keys: list[str]) -> None:
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        for key in keys:
            (await client.get("/v1/reviews/queue", headers=auth(key))).raise_for_status()


async def explain(learner_name: str = "bench-0") -> list[str]:
    """EXPLAIN ANALYZE of each statement build_queue runs for one learner."""
    database = Database(asyncpg_url(DATABASE))
    statements: list[tuple[str, object]] = []

    def capture(_conn, _cursor, statement, parameters, _context, _many) -> None:  # type: ignore[no-untyped-def]
        statements.append((statement, parameters))

    try:
        async with database.sessionmaker() as session:
            learner = (
                await session.execute(
                    text("SELECT id FROM learners WHERE name = :n"), {"n": learner_name}
                )
            ).scalar_one()
            learner = await session.get_one(Learner, learner)
            event.listen(database.engine.sync_engine, "before_cursor_execute", capture)
            await build_queue(session, learner=learner, now=datetime.now(UTC), limit=100)
            event.remove(database.engine.sync_engine, "before_cursor_execute", capture)
            connection = await session.connection()
            plans = []
            for statement, parameters in statements:
                result = await connection.exec_driver_sql(
                    f"EXPLAIN (ANALYZE, BUFFERS) {statement}", parameters
                )
                plan = "\n".join(row[0] for row in result)
                plans.append(f"{statement}\n-- parameters: {parameters}\n{plan}")
            return plans
    finally:
        await database.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learners", type=int, default=1000)
    parser.add_argument("--cards-per-learner", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=2000, help="per concurrency level")
    parser.add_argument("--levels", default="1,8", type=lambda s: [int(n) for n in s.split(",")])
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--drop", action="store_true", help="drop the database and exit")
    args = parser.parse_args()
    if args.drop:
        asyncio.run(drop_postgres(DATABASE))
        return
    print(f"Machine: {machine()}\n")
    if args.rebuild or not asyncio.run(postgres_exists(DATABASE)):
        asyncio.run(build(args.learners, args.cards_per_learner))
    keys = [bench_key(i) for i in range(args.learners)]
    rows = []
    with tutor_serve(asyncpg_url(DATABASE)) as server:
        asyncio.run(warm(server.url, keys))
        for concurrency in args.levels:
            latencies = asyncio.run(
                fetch_queues(server.url, keys, requests=args.requests, concurrency=concurrency)
            )
            rows.append(
                [concurrency, len(latencies)] + [ms(percentile(latencies, p)) for p in (50, 95, 99)]
            )
    print_table(["clients", "requests", "p50 ms", "p95 ms", "p99 ms"], rows)
    for plan in asyncio.run(explain()):
        print(f"```\n{plan}\n```\n")


if __name__ == "__main__":
    main()
