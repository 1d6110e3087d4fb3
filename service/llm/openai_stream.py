"""Reading an answer from an OpenAI-compatible server's stream, as an AnswerStream.

One way to read (chunks, with the thinking and copied markers filtered out), and one
rule for when an answer is complete: the server said why it finished. The listeners
hear of the call once, when the stream ends, however it ends.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Sequence

import httpx2
import openai

from service.config import LLMSettings
from service.llm.answer_filter import AnswerFilter, without_orphan_thinking
from service.llm.chunks import Chunk, ChunkError, read_chunks, read_whole
from service.llm.endpoint import Endpoint
from service.llm.errors import LLMError, LLMFailure, LLMInterrupted, LLMTimeout
from service.llm.model import Call, Usage
from service.llm.record import CallListener, CallRecord, notify
from service.llm.tokens import count_chat, count_text


def elapsed_ms(since: float) -> int:
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


class OpenAIAnswerStream:
    """An answer arriving in pieces. Iterate for text; `close()` stops it upstream at once.

    The answer is complete only when the server says why it finished (`finish_reason`);
    a stream that just ends was cut, and raises LLMInterrupted with what it had.
    """

    def __init__(
        self,
        *,
        settings: LLMSettings,
        listeners: Sequence[CallListener],
        call: Call,
        endpoint: Endpoint,
        upstream: httpx2.Response,
        started: float,
        output_tokens: int,
    ) -> None:
        self._settings = settings
        self._listeners = listeners
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
                exc, self._settings, started=bool(self.text)
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
                self._first_token_ms = elapsed_ms(self._started)
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

    async def close(self) -> None:
        """Stop reading and close the upstream connection (no tokens paid for nobody)."""
        await self._upstream.aclose()
        await self._finish("interrupted", error="closed before the answer was complete")

    async def _finish(self, outcome: str, *, error: str | None = None) -> None:
        if self._recorded:
            return
        self._recorded = True
        record = CallRecord.of(
            self._call,
            model=self._endpoint.model,
            usage=self.usage,
            first_token_ms=self._first_token_ms,
            duration_ms=elapsed_ms(self._started),
            outcome=outcome,
            error=error,
        )
        await notify(self._listeners, record)
