"""Delivering an answer: as one JSON body, or as Server-Sent Events while it is written.

Failures before the model starts answering come back as an ordinary error response
with the right status (503, 504, 429, 502). An event stream whose model has not started
within 5 seconds (retries, a slow prompt on a local server) starts anyway with a
comment, and the pings keep it alive every 15 seconds; from then on, and once an answer
streams, a failure arrives as an `error` event. Either way the failed answer is saved
and its id is in the error, so the client can retry it.

A streamed answer holds one of the learner's stream slots from before the turn is
stored until the stream has ended, however it ends (done, error, client gone): the
dependencies with `yield` here end after the response has been sent, FastAPI's
request scope.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Coroutine
from functools import partial
from typing import Annotated

import anyio
from fastapi import Depends, Request
from fastapi.responses import JSONResponse, Response
from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.types import Receive, Scope, Send

from service.answers import Answer, Interruption
from service.clock import ClockDep
from service.config import Settings
from service.db import Database, DatabaseDep, SessionDep
from service.errors import mark_error
from service.inflight import InFlight, InFlightDep, InFlightStateDep
from service.learners.auth import CurrentLearner
from service.limits.service import LimitsDep, ModelCallAllowed
from service.limits.slots import StreamSlot
from service.llm.budget import Budget
from service.llm.errors import LLMFailure
from service.llm.model import LLMDep, Model
from service.metrics.registry import Metrics
from service.sessions.models import Message
from service.sessions.schemas import MessageEnvelope, MessageOut
from service.tutor.turns import Turn, finish

# Comments on an idle stream keep proxies from closing it while the model thinks.
_PING_SECONDS = 15
# How long an event stream waits for the model to start before it starts itself; with
# the pings every 15 s after, a waiting client hears from the server at least that often.
_START_STREAMING_AFTER_SECONDS = 5
_WAITING_COMMENT = b": the model has not started answering yet\r\n\r\n"
# After the grace period, how long a stream has to save its answer and say why it ends.
_SAY_GOODBYE_SECONDS = 2.0


def wants_event_stream(request: Request) -> bool:
    return "text/event-stream" in request.headers.get("accept", "")


async def stream_slot(
    request: Request,
    limits: LimitsDep,
    learner: CurrentLearner,
    clock: ClockDep,
    _allowed: ModelCallAllowed,
) -> AsyncIterator[StreamSlot | None]:
    """A stream slot for an SSE answer, held until the response has ended."""
    if not wants_event_stream(request):
        yield None
        return
    slot = await limits.open_stream(learner=learner, clock=clock)
    try:
        yield slot
    finally:
        if slot is not None:
            with anyio.CancelScope(shield=True):
                await slot.release()


class TurnContext:
    """What every answering endpoint needs: who asks, the database, the model, and
    the limits passed (with a stream slot when the answer is to stream)."""

    def __init__(
        self,
        request: Request,
        learner: CurrentLearner,
        db: SessionDep,
        database: DatabaseDep,
        llm: LLMDep,
        _allowed: ModelCallAllowed,
        _in_flight: InFlightDep,
        in_flight: InFlightStateDep,
        _slot: Annotated[StreamSlot | None, Depends(stream_slot)],
    ) -> None:
        self.in_flight = in_flight
        self.request = request
        self.learner = learner
        self.db = db
        self.database = database
        self.llm = llm

    async def budget(self) -> Budget:
        return await self.llm.budget("explain")

    async def answer(self, turn: Turn, *, stumped: bool = False) -> Response:
        return await respond(
            self.request,
            turn,
            llm=self.llm,
            database=self.database,
            in_flight=self.in_flight,
            stumped=stumped,
        )


TurnDep = Annotated[TurnContext, Depends()]


class _AnswerEventStream(EventSourceResponse):
    """An answer's events, counted as an active stream. On SIGTERM, sse-starlette would
    cut every stream at once: here it sets `stopping`, and the answer runs for the grace
    period, then ends itself with an `error` event (`_events`); sse-starlette cancels
    only what has still not ended a little later."""

    def __init__(
        self,
        events: AsyncIterator[ServerSentEvent | bytes],
        *,
        stopping: anyio.Event,
        shutdown_grace_seconds: float,
        metrics: Metrics,
    ) -> None:
        super().__init__(
            events,
            ping=_PING_SECONDS,
            shutdown_event=stopping,
            shutdown_grace_period=shutdown_grace_seconds + _SAY_GOODBYE_SECONDS,
        )
        self._metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self._metrics.active_streams.inc()
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._metrics.active_streams.dec()


def _sentence(text: str) -> str:
    # The model server's own words may end without a full stop; ours follow them.
    text = text.rstrip()
    return text if text.endswith((".", "!", "?")) else f"{text}."


def _retryable(failure: LLMFailure, turn: Turn) -> LLMFailure:
    failure.message = (
        f"{_sentence(failure.message)} Your message is saved; retry the answer with POST "
        f"/v1/sessions/{turn.session_id}/messages/{turn.answer_id}/retry."
    )
    failure.details = {"message_id": str(turn.answer_id)}
    return failure


def _answer(turn: Turn, *, llm: Model, database: Database, in_flight: InFlight) -> Answer[Message]:
    return Answer(
        llm,
        keep=partial(finish, database, turn),
        in_flight=in_flight,
        answer_id=turn.answer_id,
    )


async def respond(
    request: Request,
    turn: Turn,
    *,
    llm: Model,
    database: Database,
    in_flight: InFlight,
    stumped: bool = False,
) -> Response:
    """The answer as JSON, or as events; `stumped` (the learner said they are lost)
    goes on the `done` event, for the web app to offer the way back."""
    answer = _answer(turn, llm=llm, database=database, in_flight=in_flight)
    answer.open(turn.call)
    with answer.writing():
        if wants_event_stream(request):
            return await _streamed(request, answer, turn, stumped=stumped)
        try:
            message = await answer.whole(cut=in_flight.grace_over())
        except LLMFailure as failure:
            raise _retryable(failure, turn) from None
    envelope = MessageEnvelope(message=MessageOut.of(message))
    return JSONResponse(envelope.model_dump(mode="json"))


async def _streamed(
    request: Request, answer: Answer[Message], turn: Turn, *, stumped: bool
) -> Response:
    """An event stream, once the model has started or 5 seconds have passed; a failure
    before either is an ordinary error response."""
    try:
        started = await answer.started(within=_START_STREAMING_AFTER_SECONDS)
    except LLMFailure as failure:
        raise _retryable(failure, turn) from None
    return _event_stream(request, answer, turn, waited=not started, stumped=stumped)


def _event_stream(
    request: Request, answer: Answer[Message], turn: Turn, *, waited: bool, stumped: bool
) -> _AnswerEventStream:
    settings: Settings = request.app.state.settings
    metrics: Metrics = request.app.state.metrics
    stopping = anyio.Event()
    grace_over = _grace_over(stopping, settings.shutdown_grace_seconds)
    events = _events(
        answer, turn, grace_over=grace_over, scope=request.scope, waited=waited, stumped=stumped
    )
    return _AnswerEventStream(
        events,
        stopping=stopping,
        shutdown_grace_seconds=settings.shutdown_grace_seconds,
        metrics=metrics,
    )


async def _grace_over(stopping: anyio.Event, grace_seconds: float) -> None:
    await stopping.wait()
    await anyio.sleep(grace_seconds)


async def _events(
    answer: Answer[Message],
    turn: Turn,
    *,
    grace_over: Coroutine[None, None, None],
    scope: Scope,
    waited: bool,
    stumped: bool,
) -> AsyncIterator[ServerSentEvent | bytes]:
    cut = asyncio.ensure_future(grace_over)
    with answer.writing():
        try:
            if waited:
                yield _WAITING_COMMENT
            try:
                async for piece in answer.pieces(cut=cut):
                    yield _delta(piece)
            except LLMFailure as failure:
                failure = _retryable(failure, turn)
                # Under a 200: the request is marked, so the metrics count it anyway.
                mark_error(scope, failure.code)
                error = {"code": failure.code, "message": failure.message}
                payload = {"error": error, "message_id": str(turn.answer_id)}
                yield ServerSentEvent(event="error", data=json.dumps(payload))
                return
            envelope = MessageEnvelope(message=MessageOut.of(answer.kept))
            yield ServerSentEvent(event="done", data=_done(envelope, stumped=stumped))
        finally:
            grace_ran_out = cut.done() and not cut.cancelled()
            cut.cancel()
            if not answer.ended:
                # Cut short: the client went away, or the server's last moments ran out.
                why = Interruption.server_stopped if grace_ran_out else Interruption.client_gone
                await answer.interrupt(why)


def _done(envelope: MessageEnvelope, *, stumped: bool) -> str:
    if not stumped:
        return envelope.model_dump_json()
    return json.dumps({**envelope.model_dump(mode="json"), "stumped": True})


def _delta(piece: str) -> bytes:
    # One event per piece of text, so many of them: encoded here, without an event
    # object, as sse-starlette would (JSON has no line breaks: the data is one line).
    return b"event: delta\r\ndata: " + json.dumps({"text": piece}).encode() + b"\r\n\r\n"
