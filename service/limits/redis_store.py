"""The limits in Redis, shared by every API replica.

Each operation is one Lua script, so check-and-count is atomic across replicas: two
requests racing for the last place in the window cannot both get it. Times travel as
integer milliseconds (exact in Lua's doubles); every key expires once it holds
nothing that matters, so an idle learner leaves nothing behind.
"""

from __future__ import annotations

import uuid

from redis.asyncio import Redis
from redis.exceptions import RedisError

from service.limits.errors import LimitsUnavailable

# KEYS[1]: the log (sorted set: request id scored by its time). ARGV: now, window, limit,
# a fresh member. Returns 0 when admitted, else the milliseconds until a place frees.
_HIT = """
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[3]) then
    redis.call('ZADD', KEYS[1], now, ARGV[4])
    redis.call('PEXPIRE', KEYS[1], window)
    return 0
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return tonumber(oldest[2]) + window - now
"""

# KEYS[1]: the open slots (sorted set: slot id scored by its expiry). ARGV: now, ttl,
# limit, slot id. Returns 1 when the slot is taken.
_OPEN = """
local now = tonumber(ARGV[1])
local ttl = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then
    return 0
end
redis.call('ZADD', KEYS[1], now + ttl, ARGV[4])
redis.call('PEXPIRE', KEYS[1], ttl)
return 1
"""

# ARGV: now, ttl, slot id. An expired slot is not revived: its place may be taken.
_REFRESH = """
local now = tonumber(ARGV[1])
local ttl = tonumber(ARGV[2])
local expiry = redis.call('ZSCORE', KEYS[1], ARGV[3])
if not expiry or tonumber(expiry) <= now then
    return 0
end
redis.call('ZADD', KEYS[1], now + ttl, ARGV[3])
redis.call('PEXPIRE', KEYS[1], ttl)
return 1
"""


def _ms(seconds: float) -> int:
    return round(seconds * 1000)


class RedisStore:
    def __init__(self, client: Redis, *, prefix: str) -> None:
        self._client = client
        self._prefix = prefix
        self._hit = client.register_script(_HIT)
        self._open = client.register_script(_OPEN)
        self._refresh = client.register_script(_REFRESH)

    @classmethod
    def from_url(cls, url: str, *, prefix: str) -> RedisStore:
        # Short timeouts: a Redis that is down must cost a request a refusal, not a hang.
        client = Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
        return cls(client, prefix=prefix)

    async def hit(self, key: str, *, now: float, limit: int, window: float) -> float:
        member = uuid.uuid4().hex
        try:
            wait = await self._hit(
                keys=[self._prefix + "rate:" + key], args=[_ms(now), _ms(window), limit, member]
            )
        except RedisError as exc:
            raise LimitsUnavailable() from exc
        return int(wait) / 1000

    async def open_slot(self, key: str, slot: str, *, now: float, limit: int, ttl: float) -> bool:
        try:
            taken = await self._open(
                keys=[self._prefix + "streams:" + key], args=[_ms(now), _ms(ttl), limit, slot]
            )
        except RedisError as exc:
            raise LimitsUnavailable() from exc
        return bool(taken)

    async def refresh_slot(self, key: str, slot: str, *, now: float, ttl: float) -> bool:
        try:
            held = await self._refresh(
                keys=[self._prefix + "streams:" + key], args=[_ms(now), _ms(ttl), slot]
            )
        except RedisError as exc:
            raise LimitsUnavailable() from exc
        return bool(held)

    async def close_slot(self, key: str, slot: str) -> None:
        try:
            await self._client.zrem(self._prefix + "streams:" + key, slot)
        except RedisError as exc:
            raise LimitsUnavailable() from exc

    async def ping(self) -> None:
        try:
            await self._client.ping()
        except RedisError as exc:
            raise LimitsUnavailable() from exc

    async def close(self) -> None:
        await self._client.aclose()
