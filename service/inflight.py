"""Answers in flight, which the app sees through before it closes its database.

When the server stops (SIGTERM to `tutor serve`), an answer still being written gets
the grace period (`TUTOR_SHUTDOWN_GRACE_SECONDS`) to end; then it ends itself: what
the model wrote so far is saved as `interrupted` and the client is told so, in the
error shape with the message's id (503 `server_stopped`). uvicorn cancels whatever
still runs a few seconds later and then, without waiting for it, shuts the app down;
a cancelled answer saves itself in a shielded block, and the lifespan waits here for
those saves, so the database is not closed under them.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Annotated, Any, TypeVar

import anyio
from fastapi import Depends, Request

from service.llm.errors import ServerStopping

log = logging.getLogger(__name__)
_Result = TypeVar("_Result")


class InFlight:
    def __init__(self, *, grace_seconds: float) -> None:
        self._running = 0
        self._settled = asyncio.Event()
        self._settled.set()
        self._stopping = asyncio.Event()
        self._grace_seconds = grace_seconds
        self._writing: set[uuid.UUID] = set()

    @contextmanager
    def writing(self, message_id: uuid.UUID) -> Iterator[None]:
        """While held, `message_id` is being written here: it is kept marked alive in
        the database (service/sessions/recovery.py), so no process takes it for abandoned."""
        self._writing.add(message_id)
        try:
            yield
        finally:
            self._writing.discard(message_id)

    @property
    def being_written(self) -> frozenset[uuid.UUID]:
        return frozenset(self._writing)

    def request_stop(self) -> None:
        """The server begins to stop. Called from a signal handler, on the loop's thread
        but between any two of its steps: the event is set by the loop itself."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop running: nothing in flight to tell
        loop.call_soon_threadsafe(self._stopping.set)

    async def grace_over(self) -> None:
        """Returns once the server has been stopping for the grace period."""
        await self._stopping.wait()
        await asyncio.sleep(self._grace_seconds)

    async def until_stopped(self, work: Awaitable[_Result]) -> _Result:
        """`work`'s result; or, when the grace period runs out first, `work` cancelled
        (it saves what it must as it goes) and ServerStopping raised."""
        running = asyncio.ensure_future(work)
        cut = asyncio.ensure_future(self.grace_over())
        try:
            await asyncio.wait({running, cut}, return_when=asyncio.FIRST_COMPLETED)
        except BaseException:
            await _cancelled(running)  # cancelled ourselves: `work` too, and let it save
            raise
        finally:
            cut.cancel()
        if running.done():
            return running.result()
        await _cancelled(running)
        raise ServerStopping()

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


async def _cancelled(task: asyncio.Future[Any]) -> None:
    """Cancel `task` and wait, however we are cancelled, until it has saved itself."""
    task.cancel()
    with anyio.CancelScope(shield=True):
        await asyncio.wait({task})


async def hold_in_flight(request: Request) -> AsyncIterator[None]:
    """The dependency of routes that call the model: held until the response has ended
    (a streamed one too: FastAPI ends `yield` dependencies after the response)."""
    in_flight: InFlight = request.app.state.in_flight
    async with in_flight.hold():
        yield


InFlightDep = Annotated[None, Depends(hold_in_flight)]


async def get_in_flight(request: Request) -> InFlight:
    in_flight: InFlight = request.app.state.in_flight
    return in_flight


InFlightStateDep = Annotated[InFlight, Depends(get_in_flight)]
