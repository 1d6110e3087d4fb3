"""Per-learner limits on the endpoints that call the model.

Checked before anything of the request is stored (the design rule is that what the
learner sends is stored before the model is called; a refusal comes earlier still, so
the client can simply send again): first the rate (cheap, no database), then the daily
token quota, then, for streamed answers, a stream slot. A request the rate refuses is
not counted; one the quota or the stream limit refuses still counts against the rate,
so hammering a refusal costs the same as any other request.

With Redis configured the counts are shared by every replica. If Redis does not answer,
model calls are refused with 503 `limits_unavailable`: failing closed keeps one broken
dependency from turning into unlimited model spend. Endpoints that do not call the
model never touch the limits.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from service.clock import Clock, ClockDep
from service.config import Settings
from service.db import SessionDep
from service.learners.auth import CurrentLearner
from service.learners.models import Learner
from service.limits.errors import RateLimited, TooManyStreams
from service.limits.quota import check_quota
from service.limits.slots import StreamSlot
from service.limits.store import LimitStore, MemoryStore

log = logging.getLogger(__name__)

_RATE_WINDOW_SECONDS = 60.0


class Limits:
    """The limits one process applies, over a store that may be shared."""

    def __init__(self, store: LimitStore, *, settings: Settings) -> None:
        self.store = store
        self.rate_per_minute = settings.rate_limit_per_minute
        self.daily_token_quota = settings.daily_token_quota
        self.max_streams = settings.max_concurrent_streams

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        store: LimitStore
        if settings.redis_url:
            # Imported only here: the redis package is an extra, absent from a
            # single-process install (load_settings has checked it is there).
            from service.limits.redis_store import RedisStore

            store = RedisStore.from_url(settings.redis_url, prefix=settings.redis_key_prefix)
        else:
            store = MemoryStore()
        return cls(store, settings=settings)

    async def check_call(self, db: AsyncSession, *, learner: Learner, now: datetime) -> None:
        """Count one model call against the rate, and check the day's quota."""
        if self.rate_per_minute:
            wait = await self.store.hit(
                str(learner.id),
                now=now.timestamp(),
                limit=self.rate_per_minute,
                window=_RATE_WINDOW_SECONDS,
            )
            if wait > 0:
                raise RateLimited(wait=wait, limit=self.rate_per_minute)
        if self.daily_token_quota:
            await check_quota(db, learner=learner, now=now, quota=self.daily_token_quota)

    async def open_stream(self, *, learner: Learner, clock: Clock) -> StreamSlot | None:
        """A held stream slot (None when streams are unlimited), or TooManyStreams."""
        if not self.max_streams:
            return None
        slot = StreamSlot(self.store, key=str(learner.id), clock=clock)
        if not await slot.acquire(limit=self.max_streams):
            raise TooManyStreams(limit=self.max_streams)
        return slot

    async def close(self) -> None:
        await self.store.close()


async def get_limits(request: Request) -> Limits:  # async: no worker thread per request
    limits: Limits = request.app.state.limits
    return limits


LimitsDep = Annotated[Limits, Depends(get_limits)]


async def model_call_allowed(
    limits: LimitsDep, learner: CurrentLearner, db: SessionDep, clock: ClockDep
) -> None:
    """The dependency of every route that calls the model: refuses before the handler."""
    await limits.check_call(db, learner=learner, now=clock.now())


ModelCallAllowed = Annotated[None, Depends(model_call_allowed)]
