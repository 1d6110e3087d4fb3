"""A stream slot: one of the learner's concurrent answers, held until the stream ends.

While held, a heartbeat moves the slot's expiry forward; a replica that crashes stops
beating and its slots expire by themselves. Releasing is idempotent, so every path
that ends a stream (done, error, client gone) can simply release.
"""

from __future__ import annotations

import asyncio
import logging
import uuid

from service.clock import Clock
from service.limits.errors import LimitsUnavailable
from service.limits.store import LimitStore

log = logging.getLogger(__name__)

# Long enough to survive a stalled event loop for a few seconds, short enough that a
# crashed replica's slots come back within half a minute.
SLOT_TTL_SECONDS = 30.0


class StreamSlot:
    def __init__(
        self, store: LimitStore, *, key: str, clock: Clock, ttl: float = SLOT_TTL_SECONDS
    ) -> None:
        self.id = uuid.uuid4().hex
        self._store = store
        self._key = key
        self._clock = clock
        self._ttl = ttl
        self._heartbeat: asyncio.Task[None] | None = None
        self._released = False

    async def acquire(self, *, limit: int) -> bool:
        now = self._clock.now().timestamp()
        if not await self._store.open_slot(self._key, self.id, now=now, limit=limit, ttl=self._ttl):
            return False
        self._heartbeat = asyncio.create_task(self._beat(), name=f"stream-slot-{self.id}")
        return True

    async def _beat(self) -> None:
        while True:
            await asyncio.sleep(self._ttl / 3)
            now = self._clock.now().timestamp()
            try:
                held = await self._store.refresh_slot(self._key, self.id, now=now, ttl=self._ttl)
            except LimitsUnavailable:
                log.warning("could not refresh stream slot %s: the limits store is down", self.id)
                continue
            if not held:
                # Expired while the process stalled: the stream goes on without a slot
                # rather than taking back a place someone else may have.
                log.warning("stream slot %s expired before its stream ended", self.id)
                return

    async def release(self) -> None:
        if self._released:
            return
        self._released = True
        if self._heartbeat is not None:
            self._heartbeat.cancel()
        try:
            await self._store.close_slot(self._key, self.id)
        except LimitsUnavailable:
            log.warning("could not release stream slot %s; it expires by itself", self.id)
