"""The two limit stores, in-process and Redis, held to the same behaviour with fixed times."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from helpers import free_port
from service.limits.errors import LimitsUnavailable
from service.limits.redis_store import RedisStore
from service.limits.slots import StreamSlot
from service.limits.store import LimitStore, MemoryStore

T0 = 1_773_144_000.0  # 2026-03-10 12:00 UTC, in seconds since the epoch


@pytest.fixture(params=["memory", "redis"])
async def store(request: pytest.FixtureRequest) -> AsyncIterator[LimitStore]:
    if request.param == "memory":
        memory = MemoryStore()
        yield memory
        await memory.close()
        return
    url: str = request.getfixturevalue("redis_server_url")
    redis = RedisStore.from_url(url, prefix=f"tutor-test:{uuid.uuid4().hex}:")
    yield redis
    await redis.close()


async def test_the_window_slides(store: LimitStore) -> None:
    """At most `limit` in any 60 seconds, including across what would be a bucket edge."""

    async def hit(at: float) -> float:
        return await store.hit("ada", now=T0 + at, limit=2, window=60)

    assert await hit(0) == 0
    assert await hit(59) == 0
    assert await hit(59.5) == pytest.approx(0.5)  # the hit at 0 leaves the window at 60
    assert await hit(60) == 0
    # A fixed per-minute bucket would start afresh at 60 and let this one through.
    assert await hit(61) == pytest.approx(58)
    assert await hit(119) == 0


async def test_refused_hits_are_not_counted(store: LimitStore) -> None:
    assert await store.hit("ada", now=T0, limit=1, window=60) == 0
    for second in range(1, 60):
        assert await store.hit("ada", now=T0 + second, limit=1, window=60) > 0
    assert await store.hit("ada", now=T0 + 60, limit=1, window=60) == 0


async def test_learners_are_counted_apart(store: LimitStore) -> None:
    assert await store.hit("ada", now=T0, limit=1, window=60) == 0
    assert await store.hit("ada", now=T0, limit=1, window=60) == pytest.approx(60)
    assert await store.hit("grace", now=T0, limit=1, window=60) == 0


async def test_slots_up_to_the_limit_and_release(store: LimitStore) -> None:
    for slot in ("a", "b", "c"):
        assert await store.open_slot("ada", slot, now=T0, limit=3, ttl=30)
    assert not await store.open_slot("ada", "d", now=T0, limit=3, ttl=30)
    assert await store.open_slot("grace", "e", now=T0, limit=3, ttl=30)
    await store.close_slot("ada", "b")
    await store.close_slot("ada", "b")  # twice is harmless
    assert await store.open_slot("ada", "d", now=T0, limit=3, ttl=30)


async def test_a_crashed_holders_slots_expire_and_refreshed_ones_do_not(store: LimitStore) -> None:
    # Three streams open; the replica holding "a" and "b" dies and stops refreshing.
    for slot in ("a", "b", "c"):
        assert await store.open_slot("ada", slot, now=T0, limit=3, ttl=30)
    assert await store.refresh_slot("ada", "c", now=T0 + 20, ttl=30)
    assert not await store.open_slot("ada", "d", now=T0 + 29, limit=3, ttl=30)
    assert await store.open_slot("ada", "d", now=T0 + 30, limit=3, ttl=30)
    assert await store.open_slot("ada", "e", now=T0 + 31, limit=3, ttl=30)
    # "c" is still held (refreshed until 50), so the limit is reached again.
    assert not await store.open_slot("ada", "f", now=T0 + 31, limit=3, ttl=30)
    # An expired slot is not revived by a late refresh: its place may be taken.
    assert not await store.refresh_slot("ada", "a", now=T0 + 31, ttl=30)


@dataclass
class WallClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


async def test_the_heartbeat_keeps_a_slot_beyond_its_ttl(store: LimitStore) -> None:
    clock = WallClock()
    held = StreamSlot(store, key="ada", clock=clock, ttl=0.3)
    assert await held.acquire(limit=1)
    await asyncio.sleep(0.7)  # over twice the ttl: only the heartbeat keeps it
    other = StreamSlot(store, key="ada", clock=clock, ttl=0.3)
    assert not await other.acquire(limit=1)
    await held.release()
    await held.release()
    assert await other.acquire(limit=1)
    await other.release()


async def test_an_unreachable_redis_raises_limits_unavailable() -> None:
    store = RedisStore.from_url(f"redis://127.0.0.1:{free_port()}/0", prefix="tutor-test:")
    try:
        with pytest.raises(LimitsUnavailable):
            await store.hit("ada", now=T0, limit=1, window=60)
        with pytest.raises(LimitsUnavailable):
            await store.open_slot("ada", "a", now=T0, limit=1, ttl=30)
        slot = StreamSlot(store, key="ada", clock=WallClock())
        await slot.release()  # logs and lets the entry expire; never raises
    finally:
        await store.close()


async def test_two_redis_clients_share_the_counts(redis_server_url: str) -> None:
    prefix = f"tutor-test:{uuid.uuid4().hex}:"
    one = RedisStore.from_url(redis_server_url, prefix=prefix)
    two = RedisStore.from_url(redis_server_url, prefix=prefix)
    try:
        assert await one.hit("ada", now=T0, limit=2, window=60) == 0
        assert await two.hit("ada", now=T0 + 1, limit=2, window=60) == 0
        assert await one.hit("ada", now=T0 + 2, limit=2, window=60) == pytest.approx(58)
        assert await one.open_slot("ada", "a", now=T0, limit=1, ttl=30)
        assert not await two.open_slot("ada", "b", now=T0, limit=1, ttl=30)
        await one.close_slot("ada", "a")
        assert await two.open_slot("ada", "b", now=T0, limit=1, ttl=30)
    finally:
        await one.close()
        await two.close()


async def test_racing_hits_never_exceed_the_limit(store: LimitStore) -> None:
    waits = await asyncio.gather(*(store.hit("ada", now=T0, limit=5, window=60) for _ in range(20)))
    assert sum(wait == 0 for wait in waits) == 5
