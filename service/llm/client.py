"""The one place that talks to the model: stream text, complete text, structured output.

One AsyncOpenAI client per process, built from settings at start-up, with an explicit
timeout and retry count. The openai client retries connection errors, 429 and 5xx
answers before a response starts; a stream is never retried once its first token is
out, because the learner has already seen it.

Every call is written to `llm_calls` when it ends, however it ends.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, replace
from typing import Annotated, Any, Generic, get_args

import aiohttp
import httpx2
import openai
from fastapi import Depends, Request
from openai import AsyncOpenAI
from pydantic import BaseModel
from sqlalchemy import insert

from prompts import Prompt
from service.config import LLMSettings, Purpose
from service.db import Database, table_of
from service.llm.chunks import ChunkError, read_chunks
from service.llm.errors import (
    LLMBadOutput,
    LLMError,
    LLMFailure,
    LLMInterrupted,
    LLMRateLimited,
    LLMTimeout,
    LLMUnavailable,
)
from service.llm.models import LLMCall
from service.llm.structured import (
    FALLBACK_ORDER,
    Model,
    OutputInvalid,
    StructuredMode,
    parse_output,
    repair_messages,
    response_format,
    schema_instruction,
)
from service.llm.tokens import ChatMessage, count_chat, count_text, encoding_for
from service.metrics.registry import Metrics

log = logging.getLogger(__name__)

_INSERT_CALL = insert(table_of(LLMCall))


@dataclass(frozen=True)
class Call:
    """What a model call is for, and what it sends."""

    learner_id: uuid.UUID
    purpose: Purpose
    prompt: Prompt
    messages: Sequence[ChatMessage]


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


def _timed_out(exc: Exception) -> bool:
    """Whether a timeout error is one. The SDK's aiohttp transport reports every broken
    connection that is not a refusal (a server that hangs up without answering) as a
    connect timeout; the aiohttp error it was raised from tells them apart."""
    cause: BaseException = exc
    while cause.__cause__ is not None:
        cause = cause.__cause__
    return isinstance(cause, TimeoutError) or not isinstance(cause, aiohttp.ClientConnectionError)


def _stream_failure(exc: Exception, settings: LLMSettings, *, started: bool) -> LLMFailure:
    """A failure while reading a stream: a timeout, or the answer breaking off."""
    if isinstance(exc, httpx2.TimeoutException) and _timed_out(exc):
        failure: LLMFailure = LLMTimeout(
            f"The model stopped sending for {settings.timeout:g} seconds."
        )
    elif isinstance(exc, ChunkError):
        failure = LLMError(str(exc))
    elif isinstance(exc, httpx2.TransportError):
        failure = LLMError("The connection to the model endpoint broke.")
    else:
        failure = translate_error(exc, settings)
    if started and not isinstance(failure, LLMTimeout):
        failure = LLMInterrupted(f"The answer stream broke off: {failure.message}")
    return failure


def translate_error(exc: Exception, settings: LLMSettings) -> LLMFailure:
    """An openai exception as the error Tutor's clients see."""
    if isinstance(exc, LLMFailure):
        return exc
    if isinstance(exc, openai.APITimeoutError) and _timed_out(exc):
        return LLMTimeout(f"The model did not answer within {settings.timeout:g} seconds.")
    if isinstance(exc, openai.RateLimitError):
        retry_after = exc.response.headers.get("retry-after")
        return LLMRateLimited(
            "The model endpoint is rate limiting requests; try again shortly.",
            headers={"Retry-After": retry_after} if retry_after else None,
        )
    if isinstance(exc, openai.APIConnectionError):
        return LLMError(f"Could not reach the model endpoint at {settings.base_url or 'OpenAI'}.")
    if isinstance(exc, openai.APIStatusError):
        return LLMError(f"The model endpoint answered {exc.status_code}: {exc.message}")
    return LLMError(f"The model call failed: {type(exc).__name__}.")


class TextStream:
    """An answer arriving in pieces. Iterate for text; `close()` stops it upstream at once."""

    def __init__(
        self, llm: LLM, call: Call, model: str, upstream: httpx2.Response, started: float
    ) -> None:
        self._llm = llm
        self._call = call
        self._model = model
        self._upstream = upstream
        self._started = started
        self._first_token_ms: int | None = None
        self._server_usage: Usage | None = None
        self._recorded = False
        self.text = ""
        self.truncated = False

    async def __aiter__(self) -> AsyncIterator[str]:
        try:
            async for chunk in read_chunks(self._upstream.aiter_bytes()):
                if chunk.usage is not None:
                    self._server_usage = Usage(*chunk.usage, estimated=False)
                if chunk.finish_reason == "length":
                    self.truncated = True
                if chunk.text:
                    if self._first_token_ms is None:
                        self._first_token_ms = _elapsed_ms(self._started)
                    self.text += chunk.text
                    yield chunk.text
        except Exception as exc:
            failure = _stream_failure(exc, self._llm.settings, started=bool(self.text))
            await self._finish(failure.outcome, error=failure.message)
            raise failure from exc
        finally:
            await self._upstream.aclose()
        await self._finish("truncated" if self.truncated else "ok")

    @property
    def usage(self) -> Usage:
        if self._server_usage is not None:
            return self._server_usage
        return Usage(
            prompt_tokens=count_chat(self._call.messages),
            completion_tokens=count_text(self.text, model=self._model),
            estimated=True,
        )

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
            model=self._model,
            usage=self.usage,
            first_token_ms=self._first_token_ms,
            duration_ms=_elapsed_ms(self._started),
            outcome=outcome,
            error=error,
        )


class LLM:
    """The model, as Tutor uses it. Built once per process."""

    def __init__(
        self, settings: LLMSettings, database: Database, *, metrics: Metrics | None = None
    ) -> None:
        self.settings = settings
        self._database = database
        self._metrics = metrics
        self._client: AsyncOpenAI | None = None
        # The response_format the server accepted last, for `structured = auto`.
        self._structured_mode: StructuredMode | None = None
        if settings.configured:
            self._client = AsyncOpenAI(
                base_url=settings.base_url,
                # Local servers take any key; the SDK insists on one.
                api_key=settings.api_key.get_secret_value() if settings.api_key else "none",
                timeout=openai.Timeout(settings.timeout, connect=settings.connect_timeout),
                max_retries=settings.max_retries,
                http_client=openai.DefaultAioHttpClient(),
            )

    def warm_up(self) -> None:
        """Load now what the first call would otherwise wait for (about 0.2 s): the token
        encodings, read from disk, and the SDK's chat resources (the calls that are not
        streamed use them), imported on use."""
        for purpose in get_args(Purpose):
            encoding_for(self.settings.model_for(purpose))
        if self._client is not None:
            _ = self._client.chat.completions

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()

    def _ready(self, purpose: Purpose) -> tuple[AsyncOpenAI, str]:
        model = self.settings.model_for(purpose)
        if self._client is None or model is None:
            raise LLMUnavailable()
        return self._client, model

    async def stream_text(self, call: Call) -> TextStream:
        """Open the stream: failures before the first token raise here, as LLMFailure."""
        client, model = self._ready(call.purpose)
        started = time.monotonic()
        try:
            # The SDK's own request (base URL, key, retries, errors before the first byte)
            # returning the raw response, whose chunks service/llm/chunks.py parses;
            # closed by TextStream (read to the end, failed, or closed early). Not
            # `chat.completions.create`: it walks the messages against their typed
            # definitions before sending, which cost a third of the work before the
            # first token, and changes nothing in plain text messages.
            upstream = await client.post(
                "/chat/completions",
                cast_to=httpx2.Response,
                body={
                    "model": model,
                    "messages": [m.as_openai() for m in call.messages],
                    "max_tokens": self.settings.max_output_tokens,
                    "stream": True,
                    "stream_options": {"include_usage": True},
                },
                stream=True,
            )
        except Exception as exc:
            failure = translate_error(exc, self.settings)
            await self._record_failure(call, model, started, failure)
            raise failure from exc
        return TextStream(self, call, model, upstream, started)

    async def complete_text(self, call: Call) -> Completion:
        client, model = self._ready(call.purpose)
        try:
            return await self._complete(client, model, call)
        except Exception as exc:
            raise translate_error(exc, self.settings) from exc

    async def complete_structured(self, call: Call, schema: type[Model]) -> Structured[Model]:
        """A validated `schema` instance, after at most one repair round."""
        client, model = self._ready(call.purpose)
        call = replace(call, messages=_with_schema_instruction(call.messages, schema))
        first = await self._complete_json(client, model, call, schema)
        try:
            return Structured(parse_output(first.text, schema), first.usage)
        except OutputInvalid as problem:
            log.info("structured output invalid (%s); asking for a repair", problem)
            retry = replace(call, messages=repair_messages(call.messages, first.text, str(problem)))
            second = await self._complete_json(client, model, retry, schema)
        usage = first.usage + second.usage
        try:
            return Structured(parse_output(second.text, schema), usage)
        except OutputInvalid as problem:
            raise LLMBadOutput(
                f"The model's answer did not have the expected structure, twice: {problem}",
                details={"usage": usage.__dict__},
            ) from None

    async def _complete_json(
        self, client: AsyncOpenAI, model: str, call: Call, schema: type[BaseModel]
    ) -> Completion:
        """Ask for JSON in the first form the server accepts; remember which one that is."""
        configured = self.settings.structured
        modes = FALLBACK_ORDER if configured == "auto" else (configured,)
        start = modes.index(self._structured_mode) if self._structured_mode in modes else 0
        for mode in modes[start:]:
            try:
                completion = await self._complete(
                    client, model, call, json_format=response_format(mode, schema)
                )
            except openai.BadRequestError as exc:
                if mode == modes[-1]:
                    raise translate_error(exc, self.settings) from exc
                log.warning("the model endpoint refused response_format %s; trying the next", mode)
                continue
            except Exception as exc:
                raise translate_error(exc, self.settings) from exc
            self._structured_mode = mode
            return completion
        raise AssertionError("unreachable: the last mode returns or raises")

    async def _complete(
        self,
        client: AsyncOpenAI,
        model: str,
        call: Call,
        *,
        json_format: dict[str, Any] | None = None,
    ) -> Completion:
        """One non-streaming call, recorded; raises the openai exception on failure."""
        started = time.monotonic()
        extra: dict[str, Any] = {"response_format": json_format} if json_format else {}
        try:
            response = await client.chat.completions.create(
                model=model,
                messages=[m.as_openai() for m in call.messages],
                max_tokens=self.settings.max_output_tokens,
                **extra,
            )
            choice = response.choices[0]
            text = choice.message.content or ""
        except Exception as exc:
            await self._record_failure(call, model, started, translate_error(exc, self.settings))
            raise
        truncated = choice.finish_reason == "length"
        if response.usage is not None:
            usage = Usage(response.usage.prompt_tokens, response.usage.completion_tokens, False)
        else:
            usage = Usage(count_chat(call.messages), count_text(text, model=model), True)
        duration = _elapsed_ms(started)
        await self.record(
            call,
            model=model,
            usage=usage,
            first_token_ms=duration,
            duration_ms=duration,
            outcome="truncated" if truncated else "ok",
        )
        return Completion(text=text, truncated=truncated, usage=usage)

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
        # Its own transaction: the call is logged even when the request's work is rolled
        # back. A Core insert: the ORM's flush cost more than the rest of logging a call.
        row = {
            "learner_id": call.learner_id,
            "purpose": call.purpose,
            "prompt_name": call.prompt.name,
            "prompt_version": call.prompt.version,
            "model": model,
            "prompt_tokens": usage.prompt_tokens if usage else None,
            "completion_tokens": usage.completion_tokens if usage else None,
            "usage_estimated": usage.estimated if usage else False,
            "time_to_first_token_ms": first_token_ms,
            "duration_ms": duration_ms,
            "outcome": outcome,
            "error": error,
        }
        try:
            async with self._database.engine.begin() as connection:
                await connection.execute(_INSERT_CALL, row)
        except Exception:
            # Losing a log row must never cost the learner their answer.
            log.exception("could not record an LLM call")


async def get_llm(request: Request) -> LLM:  # async: no worker thread per request
    llm: LLM = request.app.state.llm
    return llm


LLMDep = Annotated[LLM, Depends(get_llm)]
