"""An in-process model for unit tests, behind the same protocol as the real one.

``tests/fakellm/`` is an HTTP server that the real OpenAI-compatible model talks to over
sockets: use it where the transport is what is tested (retries, refusals, cut streams,
what goes on the wire). Where a test is about what Tutor does with an answer, this is
simpler and faster: a class implementing ``service.llm.model.Model`` with scripted
replies, injected like the real one (``app.state.llm = FakeModel(...)``, or passed to a
service function). Like the real model, it tells its listeners of every call once,
however the call ends.

Usage::

    heard = Heard()
    model = FakeModel(Text("Attention is a weighted average."), listeners=[heard])
    stream = await model.stream(call)
    assert "".join([piece async for piece in stream]) == "Attention is a weighted average."
    assert [record.outcome for record in heard] == ["ok"]

Each call takes the next scripted reply, first in first out; with none left,
``model.default`` answers, and without a default the call fails loudly (AssertionError).

- ``Text(text)``: an answer, streamed ``piece_size`` characters at a time
  (``truncated=True``: cut at its token limit);
- ``BreakOff(text, after_pieces)``: a stream that breaks off (LLMInterrupted, the text
  so far kept);
- ``Fails(failure)``: a failure before the first token, one of the service's own
  ``LLMFailure`` subclasses (``Fails(LLMTimeout("..."))``);
- a pydantic object (or a dict): the answer to ``structured()``, validated by the
  schema asked for. ``structured()`` also takes ``Text`` (JSON, parsed as tolerantly as
  the real model parses it) and, as the real model does, asks once more when it is not
  valid: the next scripted reply is the repair.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from service.config import LLMSettings, Purpose
from service.llm.budget import Budget
from service.llm.errors import LLMBadOutput, LLMFailure, LLMInterrupted
from service.llm.model import Call, Completion, Structured, Usage
from service.llm.record import CallListener, CallRecord, notify
from service.llm.structured import OutputInvalid, Schema, parse_output

_CLOSED = "closed before the answer was complete"  # the real model's words


@dataclass(frozen=True)
class Text:
    text: str
    truncated: bool = False
    piece_size: int = 4  # characters per streamed piece
    pause: float = 0.0  # seconds before each piece after the first
    usage: Usage | None = None  # None: words in the prompt and in the text


@dataclass(frozen=True)
class BreakOff:
    """Sends `after_pieces` pieces of `text`, then the stream breaks off."""

    text: str
    after_pieces: int
    piece_size: int = 4
    failure: LLMFailure | None = None  # None: as a connection that drops mid-answer


@dataclass(frozen=True)
class Fails:
    """The call fails before the model's first token."""

    failure: LLMFailure


Scripted = Text | BreakOff | Fails | BaseModel | dict[str, Any]


class Heard:
    """A listener that keeps what it hears."""

    def __init__(self) -> None:
        self.records: list[CallRecord] = []

    async def __call__(self, record: CallRecord) -> None:
        self.records.append(record)

    def __iter__(self) -> Iterator[CallRecord]:
        return iter(self.records)

    def __len__(self) -> int:
        return len(self.records)

    @property
    def outcomes(self) -> list[str]:
        return [record.outcome for record in self.records]


def _words(text: str) -> int:
    return len(text.split())


def _pieces(text: str, size: int) -> list[str]:
    return [text[start : start + size] for start in range(0, len(text), size)]


class FakeStream:
    """An AnswerStream (service/llm/model.py) over a scripted reply."""

    def __init__(self, model: FakeModel, call: Call, reply: Text | BreakOff) -> None:
        self._model = model
        self._call = call
        self._reply = reply
        self._started = time.monotonic()
        self._first_token_ms: int | None = None
        self._recorded = False
        self._stopped_by: LLMFailure | None = None
        self._stopping = asyncio.Event()
        self.text = ""
        self.truncated = False

    async def __aiter__(self) -> AsyncIterator[str]:
        reply = self._reply
        pieces = _pieces(reply.text, reply.piece_size)
        if isinstance(reply, BreakOff):
            pieces = pieces[: reply.after_pieces]
        try:
            for index, piece in enumerate(pieces):
                if index and isinstance(reply, Text) and reply.pause:
                    await self._pause(reply.pause)
                if self._stopped_by is not None:
                    raise self._stopped_by
                if self._first_token_ms is None:
                    self._first_token_ms = self._model.elapsed_ms(self._started)
                self.text += piece
                yield piece
            if isinstance(reply, BreakOff):
                raise reply.failure or LLMInterrupted(
                    "The answer stream broke off: The connection to the model endpoint broke."
                )
        except LLMFailure as failure:
            await self._finish(failure.outcome, error=failure.message)
            raise
        self.truncated = reply.truncated
        await self._finish("truncated" if self.truncated else "ok")

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._stopping.wait()

    @property
    def usage(self) -> Usage:
        if isinstance(self._reply, Text) and self._reply.usage is not None:
            return self._reply.usage
        prompt = sum(_words(message.content) for message in self._call.messages)
        return Usage(prompt, _words(self.text), estimated=False)

    def stop(self, failure: LLMFailure) -> None:
        self._stopped_by = failure
        self._stopping.set()

    async def close(self) -> None:
        self.stop(LLMInterrupted(_CLOSED))
        await self._finish("interrupted", error=_CLOSED)

    async def _finish(self, outcome: str, *, error: str | None = None) -> None:
        if self._recorded:
            return
        self._recorded = True
        await self._model.tell(
            self._call,
            usage=self.usage,
            first_token_ms=self._first_token_ms,
            started=self._started,
            outcome=outcome,
            error=error,
        )


class FakeModel:
    """A Model (service/llm/model.py) answering from a script, in the test's process."""

    def __init__(
        self,
        *replies: Scripted,
        listeners: Sequence[CallListener] = (),
        model: str = "fake-model",
        budget: Budget | None = None,
    ) -> None:
        self.queue: deque[Scripted] = deque(replies)
        self.default: Scripted | None = None
        self.listeners = list(listeners)
        self.model = model
        self.calls: list[Call] = []  # every call, in order (a structured repair too)
        self._budget = budget or Budget.of(LLMSettings(), None)

    def script(self, *replies: Scripted) -> None:
        self.queue.extend(replies)

    async def budget(self, purpose: Purpose) -> Budget:
        return self._budget

    async def stream(self, call: Call) -> FakeStream:
        self.calls.append(call)
        reply = self._next()
        started = time.monotonic()
        if isinstance(reply, Fails):
            await self.tell(
                call,
                usage=None,
                first_token_ms=None,
                started=started,
                outcome=reply.failure.outcome,
                error=reply.failure.message,
            )
            raise reply.failure
        if not isinstance(reply, Text | BreakOff):
            raise AssertionError(f"a text call was scripted {type(reply).__name__}")
        return FakeStream(self, call, reply)

    async def complete(self, call: Call) -> Completion:
        stream = await self.stream(call)
        async for _ in stream:
            pass
        return Completion(text=stream.text, truncated=stream.truncated, usage=stream.usage)

    async def structured(self, call: Call, schema: type[Schema]) -> Structured[Schema]:
        first = await self._structured_once(call, schema)
        if not isinstance(first, OutputInvalid):
            return first
        second = await self._structured_once(call, schema)
        if isinstance(second, OutputInvalid):
            raise LLMBadOutput(
                f"The model's answer did not have the expected structure, twice: {second}."
            )
        return second

    async def _structured_once(
        self, call: Call, schema: type[Schema]
    ) -> Structured[Schema] | OutputInvalid:
        reply = self.queue[0] if self.queue else self.default
        if not isinstance(reply, BaseModel | dict):
            completion = await self.complete(call)
            try:
                return Structured(parse_output(completion.text, schema), completion.usage)
            except OutputInvalid as problem:
                return problem
        self.calls.append(call)
        self._next()
        value = schema.model_validate(reply.model_dump() if isinstance(reply, BaseModel) else reply)
        prompt = sum(_words(message.content) for message in call.messages)
        usage = Usage(prompt, _words(value.model_dump_json()), estimated=False)
        await self.tell(call, usage=usage, first_token_ms=0, started=time.monotonic(), outcome="ok")
        return Structured(value, usage)

    def _next(self) -> Scripted:
        if self.queue:
            return self.queue.popleft()
        if self.default is None:
            raise AssertionError("FakeModel: no scripted reply left, and no default")
        return self.default

    @staticmethod
    def elapsed_ms(since: float) -> int:
        return round((time.monotonic() - since) * 1000)

    async def tell(
        self,
        call: Call,
        *,
        usage: Usage | None,
        first_token_ms: int | None,
        started: float,
        outcome: str,
        error: str | None = None,
    ) -> None:
        record = CallRecord.of(
            call,
            model=self.model,
            usage=usage,
            first_token_ms=first_token_ms,
            duration_ms=self.elapsed_ms(started),
            outcome=outcome,
            error=error,
        )
        await notify(self.listeners, record)
