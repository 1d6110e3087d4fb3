"""Answers in flight, which the app sees through before it closes its database.

When the server stops, uvicorn cancels the requests still running after its graceful
timeout and then, without waiting for them, shuts the app down. A cancelled answer
saves what the model wrote so far (as `interrupted`) in a shielded block; the lifespan
waits here for those saves, so the database is not closed under them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import Depends, Request

log = logging.getLogger(__name__)


class InFlight:
    def __init__(self) -> None:
        self._running = 0
        self._settled = asyncio.Event()
        self._settled.set()

    @asynccontextmanager
    async def hold(self) -> AsyncIterator[None]:
        self._running += 1
        self._settled.clear()
        try:
            yield
        finally:
            self._running -= 1
            if not self._running:
                self._settled.set()

    async def settle(self, *, at_most: float) -> None:
        """Wait until nothing is in flight, at most `at_most` seconds."""
        try:
            await asyncio.wait_for(self._settled.wait(), at_most)
        except TimeoutError:
            log.error("%d answer(s) still unsaved at shutdown", self._running)


async def hold_in_flight(request: Request) -> AsyncIterator[None]:
    """The dependency of routes that call the model: held until the response has ended
    (a streamed one too: FastAPI ends `yield` dependencies after the response)."""
    in_flight: InFlight = request.app.state.in_flight
    async with in_flight.hold():
        yield


InFlightDep = Annotated[None, Depends(hold_in_flight)]
