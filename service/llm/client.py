"""The one place that talks to the model: stream text, complete text, structured output.

One AsyncOpenAI client per process, built from settings at start-up. Every call is a
streamed chat completion, answered or not to a learner as it arrives: one way to send
(service/llm/sending.py: deadline, retries, refusals), one way to read (chunks, with the
thinking and copied markers filtered out), and one rule for when an answer is complete
(the server said why it finished). What the server is — its context, its token
parameter, the JSON forms it takes — is learnt per model (service/llm/endpoint.py).

Every call is written to `llm_calls` when it ends, however it ends.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, replace
from typing import Annotated, Any, Generic, get_args

import httpx2
import openai
from fastapi import Depends, Request
from openai import AsyncOpenAI
from pydantic import BaseModel
from sqlalchemy import insert

import prompts
from prompts import Prompt
from service.config import LLMSettings, Purpose
from service.db import Database, table_of
from service.dbfaults import retried
from service.llm.answer_filter import AnswerFilter, without_orphan_thinking
from service.llm.budget import Budget
from service.llm.chunks import Chunk, ChunkError, read_chunks, read_whole
from service.llm.endpoint import Endpoint, Endpoints
from service.llm.errors import (
    FormatRefused,
    LLMBadOutput,
    LLMError,
    LLMFailure,
    LLMInterrupted,
    LLMTimeout,
    LLMUnavailable,
)
from service.llm.models import LLMCall
from service.llm.probe import Unreachable, read_context
from service.llm.sending import ChatRequest, open_stream
from service.llm.structured import (
    Model,
    OutputInvalid,
    StructuredMode,
    parse_output,
    repair_messages,
    response_format,
    schema_instruction,
)
from service.llm.tokens import ChatMessage, count_chat, count_text, counts_exactly, encoding_for
from service.metrics.registry import Metrics

log = logging.getLogger(__name__)

_INSERT_CALL = insert(table_of(LLMCall))
# How long what a server said of its context holds; a server that did not answer the
# question is asked again sooner.
_PROBE_SECONDS = 300.0
_PROBE_AGAIN_UNREACHABLE_SECONDS = 15.0
_PROBE_TIMEOUT_SECONDS = 3.0  # one question
_PROBE_TOTAL_SECONDS = 5.0  # all of them: the learner is waiting


@dataclass(frozen=True)
class Call:
    """What a model call is for, and what it sends."""

    learner_id: uuid.UUID
    purpose: Purpose
    prompt: Prompt
    messages: Sequence[ChatMessage]
    # The other prompt files whose text is in `messages` (a turn's instruction, the level
    # guides of every turn in the history): the call log names them all, so an
    # evaluation's numbers map to the exact prompt versions that produced them.
    also_used: tuple[Prompt, ...] = ()


@dataclass(frozen=True)
class Usage:
    prompt_tokens: int
    completion_tokens: int
    estimated: bool

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.prompt_tokens + other.prompt_tokens,
            self.completion_tokens + other.completion_tokens,
            self.estimated or other.estimated,
        )


@dataclass(frozen=True)
class Structured(Generic[Model]):
    """A validated object and what it cost (both rounds, when a repair was needed)."""

    value: Model
    usage: Usage


@dataclass(frozen=True)
class Completion:
    text: str
    truncated: bool
    usage: Usage


def _with_schema_instruction(
    messages: Sequence[ChatMessage], schema: type[BaseModel]
) -> list[ChatMessage]:
    # Into the first system message: some chat templates allow only one, and only first.
    instruction = schema_instruction(schema)
    if messages and messages[0].role == "system":
        first = messages[0]
        merged = ChatMessage.of("system", f"{first.content}\n\n{instruction.content}")
        return [merged, *messages[1:]]
    return [instruction, *messages]


def _elapsed_ms(since: float) -> int:
    return round((time.monotonic() - since) * 1000)


def _read_failure(exc: Exception, settings: LLMSettings, *, started: bool) -> LLMFailure:
    """A failure while reading a stream: a silence too long, or the answer breaking off."""
    if isinstance(exc, LLMFailure):
        failure = exc
    elif isinstance(exc, httpx2.ReadTimeout | TimeoutError):
        failure = LLMTimeout(f"The model stopped sending for {settings.timeout:g} seconds.")
    elif isinstance(exc, ChunkError):
        failure = LLMError(str(exc))
    elif isinstance(exc, httpx2.TransportError | openai.APIConnectionError):
        failure = LLMError("The connection to the model endpoint broke.")
    else:
        failure = LLMError(f"The model call failed: {type(exc).__name__}.")
    if started and not isinstance(failure, LLMTimeout | LLMInterrupted):
        failure = LLMInterrupted(f"The answer stream broke off: {failure.message}")
    return failure


class TextStream:
    """An answer arriving in pieces. Iterate for text; `close()` stops it upstream at once.

    The answer is complete only when the server says why it finished (`finish_reason`);
    a stream that just ends was cut, and raises LLMInterrupted with what it had.
    """

    def __init__(
        self,
        llm: LLM,
        call: Call,
        endpoint: Endpoint,
        upstream: httpx2.Response,
        started: float,
        output_tokens: int,
    ) -> None:
        self._llm = llm
        self._call = call
        self._endpoint = endpoint
        self._upstream = upstream
        self._started = started
        self._output_tokens = output_tokens
        self._filter = AnswerFilter()
        self._first_token_ms: int | None = None
        self._server_usage: Usage | None = None
        self._recorded = False
        self._stopped_by: LLMFailure | None = None
        self._closing: asyncio.Future[None] | None = None
        self.text = ""
        self.truncated = False

    async def __aiter__(self) -> AsyncIterator[str]:
        finish_reason = None
        try:
            async for chunk in self._chunks():
                if chunk.usage is not None:
                    self._server_usage = Usage(*chunk.usage, estimated=False)
                finish_reason = chunk.finish_reason or finish_reason
                if piece := self._take(self._filter.feed(chunk.text)):
                    yield piece
            if piece := self._take(self._filter.end()):
                yield piece
            self.text = without_orphan_thinking(self.text)
            self._check_ended(finish_reason)
        except Exception as exc:
            failure = self._stopped_by or _read_failure(
                exc, self._llm.settings, started=bool(self.text)
            )
            await self._finish(failure.outcome, error=failure.message)
            raise failure from exc
        finally:
            await self._upstream.aclose()
        self.truncated = finish_reason == "length"
        self._learn_ratio()
        await self._finish("truncated" if self.truncated else "ok")

    def _chunks(self) -> AsyncIterator[Chunk]:
        reads = self._upstream.aiter_bytes()
        if self._upstream.headers.get("content-type", "").startswith("application/json"):
            return read_whole(reads)  # not streamed after all
        return read_chunks(reads)

    def _take(self, piece: str) -> str:
        if piece:
            if self._first_token_ms is None:
                self._first_token_ms = _elapsed_ms(self._started)
            self.text += piece
        return piece

    def _check_ended(self, finish_reason: str | None) -> None:
        if finish_reason is None:
            raise LLMInterrupted(
                "The model's answer stream ended before the model said it had finished."
            )
        if not self.text.strip() and finish_reason == "length":
            raise LLMError(
                f"The model used its whole answer budget ({self._output_tokens} tokens) "
                "before it began to answer (a reasoning model thinking at length?): raise "
                "TUTOR_LLM_MAX_OUTPUT_TOKENS."
            )
        if not self.text.strip():
            raise LLMError("The model's answer was empty.")

    def _learn_ratio(self) -> None:
        if self._server_usage is not None:
            self._endpoint.observe_usage(
                counted=count_chat(self._call.messages), reported=self._server_usage.prompt_tokens
            )

    @property
    def usage(self) -> Usage:
        if self._server_usage is not None:
            return self._server_usage
        return Usage(
            prompt_tokens=count_chat(self._call.messages),
            completion_tokens=count_text(self.text, model=self._endpoint.model),
            estimated=True,
        )

    def stop(self, failure: LLMFailure) -> None:
        """End the answer from outside (the server is stopping): the reading loop raises
        `failure`, with the text so far kept."""
        self._stopped_by = failure
        self._closing = asyncio.ensure_future(self._upstream.aclose())

    async def close(self, *, outcome: str = "interrupted") -> None:
        """Stop reading and close the upstream connection (no tokens paid for nobody)."""
        await self._upstream.aclose()
        await self._finish(outcome, error="closed before the answer was complete")

    async def _finish(self, outcome: str, *, error: str | None = None) -> None:
        if self._recorded:
            return
        self._recorded = True
        await self._llm.record(
            self._call,
            model=self._endpoint.model,
            usage=self.usage,
            first_token_ms=self._first_token_ms,
            duration_ms=_elapsed_ms(self._started),
            outcome=outcome,
            error=error,
        )


class LLM:
    """The model, as Tutor uses it. Built once per process.

    `database` is where calls are logged; None logs nothing (`tutor doctor`).
    """

    def __init__(
        self,
        settings: LLMSettings,
        database: Database | None,
        *,
        metrics: Metrics | None = None,
    ) -> None:
        self.settings = settings
        self._database = database
        self._metrics = metrics
        self._client: AsyncOpenAI | None = None
        self._endpoints = Endpoints(settings.base_url, settings.token_param)
        self._probe_lock = asyncio.Lock()
        if settings.configured:
            self._client = AsyncOpenAI(
                base_url=settings.base_url,
                # Local servers take any key; the SDK insists on one.
                api_key=settings.api_key.get_secret_value() if settings.api_key else "none",
                timeout=openai.Timeout(settings.timeout, connect=settings.connect_timeout),
                # Retries are ours (service/llm/sending.py), inside TUTOR_LLM_TIMEOUT.
                max_retries=0,
                http_client=openai.DefaultAioHttpClient(),
            )

    @property
    def client(self) -> AsyncOpenAI | None:
        return self._client

    def warm_up(self) -> None:
        """Load now what the first call would otherwise wait for: the token encodings,
        read from disk on first use."""
        for purpose in get_args(Purpose):
            encoding_for(self.settings.model_for(purpose))

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()

    def endpoint(self, purpose: Purpose) -> Endpoint | None:
        """What is known of the model for `purpose` (None when none is configured)."""
        model = self.settings.model_for(purpose)
        if self._client is None or model is None:
            return None
        return self._endpoints.of(model, counts_exact=counts_exactly(model))

    async def budget(self, purpose: Purpose) -> Budget:
        """The token limits for a call for `purpose`, after asking the server its context
        (once every few minutes). Never fails: a server that does not answer leaves the
        settings in force, and the call itself will say what is wrong."""
        endpoint = self.endpoint(purpose)
        if endpoint is not None:
            await self._probe(endpoint)
        return Budget.of(self.settings, endpoint)

    async def _probe(self, endpoint: Endpoint) -> None:
        if not self._worth_probing(endpoint):
            return
        async with self._probe_lock:
            if not self._worth_probing(endpoint):
                return  # another request asked while this one waited
            assert self._client is not None
            endpoint.probed_at = time.monotonic()
            try:
                async with asyncio.timeout(_PROBE_TOTAL_SECONDS):
                    found = await read_context(
                        self._client, endpoint.model, seconds=_PROBE_TIMEOUT_SECONDS
                    )
            except (Unreachable, TimeoutError) as exc:
                log.info("the model server did not say its context size: %s", exc)
                endpoint.probed_at -= _PROBE_SECONDS - _PROBE_AGAIN_UNREACHABLE_SECONDS
                return
            if found is not None:
                endpoint.learn_context(found.tokens, found.source)

    def _worth_probing(self, endpoint: Endpoint) -> bool:
        if self.settings.base_url is None:
            return False  # OpenAI says nothing of its contexts, and they are large
        return endpoint.probed_at is None or time.monotonic() - endpoint.probed_at > _PROBE_SECONDS

    def _ready(self, purpose: Purpose) -> tuple[AsyncOpenAI, Endpoint]:
        endpoint = self.endpoint(purpose)
        if self._client is None or endpoint is None:
            raise LLMUnavailable()
        return self._client, endpoint

    def _request(
        self, call: Call, endpoint: Endpoint, json_format: dict[str, Any] | None
    ) -> ChatRequest:
        body: dict[str, Any] = {
            "model": endpoint.model,
            "messages": [m.as_openai() for m in call.messages],
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        if json_format is not None:
            body["response_format"] = json_format
        if self.settings.reasoning_effort is not None:
            body["reasoning_effort"] = self.settings.reasoning_effort
        return ChatRequest(body, Budget.of(self.settings, endpoint).output)

    async def stream_text(
        self, call: Call, *, json_format: dict[str, Any] | None = None
    ) -> TextStream:
        """Open the stream: failures before the first token raise here, as LLMFailure."""
        client, endpoint = self._ready(call.purpose)
        request = self._request(call, endpoint, json_format)
        started = time.monotonic()
        try:
            upstream = await open_stream(client, endpoint, self.settings, request)
        except LLMFailure as failure:
            await self._record_failure(call, endpoint.model, started, failure)
            raise
        return TextStream(self, call, endpoint, upstream, started, request.output_tokens)

    async def complete_text(
        self, call: Call, *, json_format: dict[str, Any] | None = None
    ) -> Completion:
        """The whole answer. Streamed underneath, so a slow model is waited for as long as
        it keeps writing, and one timeout means the same thing for every call."""
        stream = await self.stream_text(call, json_format=json_format)
        async for _ in stream:
            pass
        return Completion(text=stream.text, truncated=stream.truncated, usage=stream.usage)

    async def complete_structured(self, call: Call, schema: type[Model]) -> Structured[Model]:
        """A validated `schema` instance, after at most one repair round."""
        _, endpoint = self._ready(call.purpose)
        call = replace(call, messages=_with_schema_instruction(call.messages, schema))
        first = await self._complete_json(endpoint, call, schema)
        try:
            return Structured(parse_output(first.text, schema), first.usage)
        except OutputInvalid as problem:
            log.info("structured output invalid (%s); asking again", problem)
            # A reply cut at the token limit has nothing to repair: the same question
            # again is a fresh chance, and shorter than the question plus the cut reply.
            retry = call
            if not first.truncated:
                retry = replace(
                    call, messages=repair_messages(call.messages, first.text, str(problem))
                )
            second = await self._complete_json(endpoint, retry, schema)
        usage = first.usage + second.usage
        try:
            return Structured(parse_output(second.text, schema), usage)
        except OutputInvalid as problem:
            why = f"the expected structure, twice: {problem}"
            if second.truncated:
                budget = Budget.of(self.settings, endpoint)
                why = (
                    f"an end: it was cut at its token limit ({budget.output} tokens) before its "
                    "JSON was complete, twice. Raise TUTOR_LLM_MAX_OUTPUT_TOKENS, or ask for less"
                )
            raise LLMBadOutput(
                f"The model's answer did not have {why}.", details={"usage": usage.__dict__}
            ) from None

    async def _complete_json(
        self, endpoint: Endpoint, call: Call, schema: type[BaseModel]
    ) -> Completion:
        """Ask for JSON in the strongest form this model's server accepts."""
        modes = endpoint.structured_modes(self.settings.structured)
        for mode in modes:
            try:
                completion = await self._complete_in(mode, endpoint, call, schema)
            except FormatRefused:
                if mode == modes[-1]:
                    raise
                log.warning("%s refused response_format %s; trying the next", endpoint.model, mode)
                endpoint.structured_refused(mode)
                continue
            endpoint.structured_worked(mode)
            return completion
        raise AssertionError("unreachable: the last mode returns or raises")

    async def _complete_in(
        self, mode: StructuredMode, endpoint: Endpoint, call: Call, schema: type[BaseModel]
    ) -> Completion:
        """One form; a schema refused for its string lengths is sent again without them."""
        json_format = response_format(mode, schema, lengths=endpoint.schema_lengths)
        try:
            return await self.complete_text(call, json_format=json_format)
        except FormatRefused:
            shorter = response_format(mode, schema, lengths=False)
            if mode != "json_schema" or shorter == json_format:
                raise
            endpoint.schema_lengths = False
            return await self.complete_text(call, json_format=shorter)

    async def _record_failure(
        self, call: Call, model: str, started: float, failure: LLMFailure
    ) -> None:
        await self.record(
            call,
            model=model,
            usage=None,
            first_token_ms=None,
            duration_ms=_elapsed_ms(started),
            outcome=failure.outcome,
            error=failure.message,
        )

    async def record(
        self,
        call: Call,
        *,
        model: str,
        usage: Usage | None,
        first_token_ms: int | None,
        duration_ms: int,
        outcome: str,
        error: str | None = None,
    ) -> None:
        if self._metrics is not None:
            self._metrics.model_call(
                purpose=call.purpose,
                model=model,
                outcome=outcome,
                prompt_tokens=usage.prompt_tokens if usage else None,
                completion_tokens=usage.completion_tokens if usage else None,
                first_token_ms=first_token_ms,
                duration_ms=duration_ms,
            )
        if self._database is None:
            return
        # Its own transaction: the call is logged even when the request's work is rolled
        # back. A Core insert: the ORM's flush cost more than the rest of logging a call.
        row = {
            "learner_id": call.learner_id,
            "purpose": call.purpose,
            "prompt_name": call.prompt.name,
            "prompt_version": call.prompt.version,
            "prompt_versions": prompts.versions((call.prompt, *call.also_used)),
            "model": model,
            "prompt_tokens": usage.prompt_tokens if usage else None,
            "completion_tokens": usage.completion_tokens if usage else None,
            "usage_estimated": usage.estimated if usage else False,
            "time_to_first_token_ms": first_token_ms,
            "duration_ms": duration_ms,
            "outcome": outcome,
            "error": error,
        }
        database = self._database

        async def insert() -> None:
            async with database.engine.begin() as connection:
                await connection.execute(_INSERT_CALL, row)

        try:
            # The daily quota counts these rows: a passing fault must not lose one.
            await retried(insert, what="logging a model call")
        except Exception as exc:
            # Losing a log row must never cost the learner their answer. The exception's
            # name only: its text could quote the statement.
            log.error("could not record an LLM call: %s", type(exc).__name__)


async def get_llm(request: Request) -> LLM:  # async: no worker thread per request
    llm: LLM = request.app.state.llm
    return llm


LLMDep = Annotated[LLM, Depends(get_llm)]
