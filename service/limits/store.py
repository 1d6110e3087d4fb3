"""Where the limits keep their counts: the interface, and the in-process store.

Two kinds of state, both per key (a learner):

- a sliding window log of admitted requests: a request is admitted when fewer than
  `limit` were admitted in the `window` seconds before it. That bounds *every* window
  of that length, unlike fixed buckets, which let twice the limit through across a
  bucket edge;
- a set of open slots (streams), each with an expiry time. Holders refresh it while
  they stream, so a slot whose holder died without letting go frees itself.

Times are passed in (seconds since the epoch, from the app's clock), so stores never
read a clock and tests can move time.
"""

from __future__ import annotations

from collections import deque
from typing import Protocol


class LimitStore(Protocol):
    async def hit(self, key: str, *, now: float, limit: int, window: float) -> float:
        """Admit and count a request: 0, or (not counted) seconds until one would pass.

        `limit` is at least 1.

        Raises LimitsUnavailable when the store cannot be reached.
        """
        ...

    async def open_slot(self, key: str, slot: str, *, now: float, limit: int, ttl: float) -> bool:
        """Take a slot unless `limit` unexpired ones are held; it expires at now + ttl."""
        ...

    async def refresh_slot(self, key: str, slot: str, *, now: float, ttl: float) -> bool:
        """Move a held slot's expiry to now + ttl; False if it is no longer held."""
        ...

    async def close_slot(self, key: str, slot: str) -> None: ...

    async def ping(self) -> None:
        """Return when the store answers; raise LimitsUnavailable when it does not."""
        ...

    async def close(self) -> None: ...


class MemoryStore:
    """The counts of one process. No locks: no operation awaits in the middle."""

    def __init__(self) -> None:
        self._hits: dict[str, deque[float]] = {}
        self._slots: dict[str, dict[str, float]] = {}

    async def hit(self, key: str, *, now: float, limit: int, window: float) -> float:
        hits = self._hits.setdefault(key, deque())
        while hits and hits[0] <= now - window:
            hits.popleft()
        if len(hits) < limit:
            hits.append(now)
            return 0.0
        return hits[0] + window - now

    async def open_slot(self, key: str, slot: str, *, now: float, limit: int, ttl: float) -> bool:
        slots = self._slots.setdefault(key, {})
        for expired in [held for held, expiry in slots.items() if expiry <= now]:
            del slots[expired]
        if len(slots) >= limit:
            return False
        slots[slot] = now + ttl
        return True

    async def refresh_slot(self, key: str, slot: str, *, now: float, ttl: float) -> bool:
        slots = self._slots.get(key, {})
        if slots.get(slot, now) <= now:
            return False
        slots[slot] = now + ttl
        return True

    async def close_slot(self, key: str, slot: str) -> None:
        slots = self._slots.get(key)
        if slots is not None:
            slots.pop(slot, None)
            if not slots:
                del self._slots[key]

    async def ping(self) -> None:
        return None  # the process's own memory: up as long as the process is

    async def close(self) -> None:
        self._hits.clear()
        self._slots.clear()
