"""An answer the learner is owed, from their stored input to the answer's kept end.

Every answer Tutor produces (an explanation, a follow-up, a critique, a check's grade, a
session's card drafts, a study-log entry) starts after what the learner sent is
committed, and ends exactly once, whatever happens meanwhile (the model failing, the
client leaving, the server stopping, the task being cancelled):

- **complete**: the model's whole answer;
- **failed**: nothing usable came, and the error is kept so that a retry is possible;
- **interrupted**: it broke off, and the text so far is kept with the reason.

`Answer` runs the model call and gives its `Ending` to the caller's `keep`, which
writes it where that kind of answer lives (a message row, a critique, a check, draft
cards). The transport decides *when* an answer is cut (the HTTP layer knows that a
client left); this module decides *how* it ends. `keep` runs once, shielded from
cancellation, so a server stopping in the middle of a save still saves.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import Enum
from typing import Any, Generic, Literal, TypeVar

import anyio

from service.errors import TutorError
from service.inflight import InFlight
from service.llm.errors import LLMFailure, ServerStopping
from service.llm.model import AnswerStream, Call, Model, Usage
from service.llm.structured import Schema

Kept = TypeVar("Kept")


class Interruption(Enum):
    """Why an answer ended before the model did: (error code, message)."""

    client_gone = ("client_disconnected", "The connection closed before the answer ended.")
    server_stopped = ("server_stopped", "The server stopped before the answer ended.")


@dataclass(frozen=True)
class Ending:
    """How an answer ended, for `keep` to write down."""

    text: str = ""
    truncated: bool = False
    usage: Usage | None = None
    value: Any = None  # a structured answer's validated object
    error: tuple[str, str] | None = None  # (code, message) unless complete

    @classmethod
    def failed(cls, failure: TutorError, *, text: str = "", usage: Usage | None = None) -> Ending:
        return cls(text=text, usage=usage, error=(failure.code, failure.message))

    @property
    def status(self) -> Literal["complete", "failed", "interrupted"]:
        if self.error is None:
            return "complete"
        return "interrupted" if self.text else "failed"


Keep = Callable[[Ending], Awaitable[Kept]]


class Answer(Generic[Kept]):
    """One answer's life. A text answer is `open`ed, then read with `pieces` (as it is
    written) or `whole`; a structured one is run by `structured`. Either way the end is
    kept once: by the reading itself when the model finishes or fails, or by
    `interrupt` when the caller cuts it short.

    `in_flight` (None outside the HTTP server) marks the answer as being written while
    it runs, and gives structured answers the server's grace period.
    """

    def __init__(
        self,
        model: Model,
        *,
        keep: Keep[Kept],
        in_flight: InFlight | None = None,
        answer_id: uuid.UUID | None = None,
    ) -> None:
        self._model = model
        self._keep = keep
        self._in_flight = in_flight
        self._answer_id = answer_id
        self._opening: asyncio.Future[AnswerStream] | None = None
        self._stream: AnswerStream | None = None
        self._ended = False
        self._kept: Kept | None = None

    @property
    def ended(self) -> bool:
        return self._ended

    @property
    def kept(self) -> Kept:
        assert self._ended, "the answer has not ended"
        return self._kept  # type: ignore[return-value]  # Kept itself may be None

    @contextmanager
    def writing(self) -> Iterator[None]:
        """While held, the answer counts as being written by this process (its row is
        kept alive: service/sessions/recovery.py)."""
        if self._in_flight is None or self._answer_id is None:
            yield
            return
        with self._in_flight.writing(self._answer_id):
            yield

    # A text answer

    def open(self, call: Call) -> None:
        """Ask the model now; read the answer with `pieces` or `whole`."""
        self._opening = asyncio.ensure_future(self._model.stream(call))

    async def started(self, *, within: float) -> bool:
        """Whether the model began answering within `within` seconds. A failure before
        the first token is kept, then raised."""
        opening = self._opened()
        try:
            await asyncio.wait({opening}, timeout=within)
        except asyncio.CancelledError:
            await self.interrupt(Interruption.server_stopped)
            raise
        if not opening.done():
            return False
        try:
            opening.result()
        except LLMFailure as failure:
            await self._end(Ending.failed(failure))
            raise
        return True

    async def pieces(self, *, cut: Awaitable[None] | None = None) -> AsyncIterator[str]:
        """The answer as it is written; kept when the model finishes or fails (a failure
        is raised after). When `cut` resolves (the server's grace period is over), the
        answer ends with what it has, as ServerStopping. If the reading itself is
        cancelled or closed, the caller ends the answer with `interrupt`."""
        opening = self._opened()
        cutting = asyncio.ensure_future(cut) if cut else asyncio.get_running_loop().create_future()
        try:
            either: set[asyncio.Future[Any]] = {opening, cutting}
            await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
            if not opening.done():
                raise ServerStopping()
            self._stream = stream = opening.result()
            cutting.add_done_callback(self._stop)
            async for piece in stream:
                yield piece
        except LLMFailure as failure:
            await self._end(self._broken_off(failure))
            raise
        finally:
            cutting.cancel()
        await self._end(Ending(text=stream.text, truncated=stream.truncated, usage=stream.usage))

    async def whole(self, *, cut: Awaitable[None] | None = None) -> Kept:
        """The answer once complete (see `pieces`). Cancelled meanwhile (the server's own
        last limit), it is kept as interrupted by the server stopping."""
        try:
            async for _ in self.pieces(cut=cut):
                pass
        except LLMFailure:
            raise
        except BaseException:
            await self.interrupt(Interruption.server_stopped)
            raise
        return self.kept

    async def interrupt(self, why: Interruption) -> Kept:
        """Stop the model now and keep what it wrote (even while being cancelled)."""
        if self._ended:
            return self.kept
        with anyio.CancelScope(shield=True):
            if self._stream is not None:
                await self._stream.close()
                ending = Ending(text=self._stream.text, usage=self._stream.usage, error=why.value)
            else:
                await self._abandon_opening()
                ending = Ending(error=why.value)
        return await self._end(ending)

    # A structured answer

    async def structured(
        self, prepare: Callable[[], Awaitable[Call]], schema: type[Schema]
    ) -> Kept:
        """A validated `schema` object, kept. `prepare` builds the call (and may refuse
        it: a prompt too long, kept as a failure like the model's own). Within the
        server's grace period when there is one."""
        with self.writing():
            try:
                call = await prepare()
                asked = self._model.structured(call, schema)
                result = await (self._in_flight.until_stopped(asked) if self._in_flight else asked)
            except TutorError as failure:
                await self._end(Ending.failed(failure))
                raise
            except BaseException:
                # Cancelled: the server stopping. Its input stays; it can be retried.
                await self._end(Ending.failed(ServerStopping()))
                raise
        return await self._end(Ending(value=result.value, usage=result.usage))

    async def given(self, value: Any) -> Kept:
        """An answer the service gives without asking the model (a blank attempt)."""
        return await self._end(Ending(value=value))

    # The one way an answer ends

    async def _end(self, ending: Ending) -> Kept:
        if self._ended:
            return self.kept
        self._ended = True
        with anyio.CancelScope(shield=True):
            self._kept = await self._keep(ending)
        return self.kept

    def _opened(self) -> asyncio.Future[AnswerStream]:
        assert self._opening is not None, "open() the answer first"
        return self._opening

    def _broken_off(self, failure: LLMFailure) -> Ending:
        stream = self._stream
        if stream is None:
            return Ending.failed(failure)
        return Ending.failed(failure, text=stream.text, usage=stream.usage)

    def _stop(self, cut: asyncio.Future[None]) -> None:
        if not cut.cancelled() and self._stream is not None:
            self._stream.stop(ServerStopping())

    async def _abandon_opening(self) -> None:
        """Stop asking the model; a stream that opened meanwhile is closed unread."""
        opening = self._opening
        if opening is None:
            return
        opening.cancel()
        if opening.done() and not opening.cancelled() and opening.exception() is None:
            await opening.result().close()
