"""Sending one request to the model: inside one time limit, retried where that is safe,
and adapted to what the server refuses.

`TUTOR_LLM_TIMEOUT` bounds the whole wait for the answer to start, retries and
Retry-After waits included: a Retry-After longer than what is left is answered with 429
at once, with that Retry-After, instead of holding the learner for it. What is retried:
a connection refused or dropped before any byte, and 429 or 5xx answers. A timeout is
never retried (it has spent the time), nor is a refusal; but a refused token parameter
(`max_tokens` on OpenAI's reasoning models) is switched and the request sent again at
once, and the endpoint remembers the switch.
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

import aiohttp
import httpx2
import openai
from openai import AsyncOpenAI

from service.config import LLMSettings
from service.llm.endpoint import COMMON_LIMIT, OPENAI_LIMIT, Endpoint, TokenParam
from service.llm.errors import (
    ContextTooLong,
    FormatRefused,
    LLMError,
    LLMFailure,
    LLMRateLimited,
    LLMTimeout,
    LLMUnreachable,
)
from service.llm.refusals import (
    ContextOverflow,
    ErrorBody,
    FormatRefusal,
    ParameterRefused,
    StreamingRefused,
    classify,
)

RETRYABLE_STATUS = frozenset({408, 409, 429, 500, 502, 503, 504})
_FIRST_BACKOFF_SECONDS = 0.25
_LONGEST_BACKOFF_SECONDS = 4.0


@dataclass(frozen=True)
class ChatRequest:
    """A chat-completion body, less the output-token limit (its name is the server's)."""

    body: dict[str, Any]
    output_tokens: int

    def for_endpoint(self, endpoint: Endpoint) -> dict[str, Any]:
        body = {**self.body, endpoint.token_param: self.output_tokens}
        if not endpoint.streams:
            del body["stream"], body["stream_options"]
        return body


def describe_endpoint(settings: LLMSettings) -> str:
    return settings.base_url or "OpenAI (https://api.openai.com/v1)"


async def open_stream(
    client: AsyncOpenAI, endpoint: Endpoint, settings: LLMSettings, request: ChatRequest
) -> httpx2.Response:
    """The streamed response, its headers read; any failure as an LLMFailure."""
    deadline = time.monotonic() + settings.timeout
    retries = 0
    switched_token_param = switched_streaming = False
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise _not_started(settings)
        try:
            async with asyncio.timeout(remaining):
                return await _post(client, settings, request.for_endpoint(endpoint), remaining)
        except TimeoutError:
            raise _not_started(settings) from None
        except openai.APIStatusError as exc:
            status = exc.status_code
            if status not in RETRYABLE_STATUS:
                refusal = classify(ErrorBody.of(exc.body), sent_token_param=endpoint.token_param)
                if (
                    isinstance(refusal, ParameterRefused)
                    and endpoint.token_param_switchable
                    and not switched_token_param
                ):
                    endpoint.token_param = _other_token_param(refusal.name)
                    switched_token_param = True
                    continue
                if isinstance(refusal, StreamingRefused) and not switched_streaming:
                    endpoint.streams = False
                    switched_streaming = True
                    continue
                raise _refused(exc, refusal, endpoint, request) from exc
            wait = _retry_after(exc.response) or _backoff(retries)
            if retries >= settings.max_retries or wait > deadline - time.monotonic():
                raise _status_failure(exc, wait) from exc
            await asyncio.sleep(wait)
        except openai.APIConnectionError as exc:
            if _timed_out(exc):
                raise _not_started(settings) from exc
            wait = _backoff(retries)
            if retries >= settings.max_retries or wait > deadline - time.monotonic():
                raise _unreachable(exc, settings) from exc
            await asyncio.sleep(wait)
        retries += 1


async def _post(
    client: AsyncOpenAI, settings: LLMSettings, body: dict[str, Any], remaining: float
) -> httpx2.Response:
    # The SDK's own request (base URL, key, errors as exceptions) returning the raw
    # response, whose chunks service/llm/chunks.py reads. Not `chat.completions.create`:
    # it walks the messages against their typed definitions first, a third of the work
    # before the first token. Its retries are off: they would not respect the deadline.
    options: Any = {
        "max_retries": 0,
        # read: the longest silence once the answer streams (OpenAIAnswerStream relies on it).
        "timeout": openai.Timeout(
            settings.timeout, connect=min(settings.connect_timeout, remaining)
        ),
    }
    response: httpx2.Response = await client.post(
        "/chat/completions", cast_to=httpx2.Response, body=body, stream=True, options=options
    )
    return response


def _other_token_param(refused: str) -> TokenParam:
    return COMMON_LIMIT if refused == OPENAI_LIMIT else OPENAI_LIMIT


def _refused(
    exc: openai.APIStatusError,
    refusal: object,
    endpoint: Endpoint,
    request: ChatRequest,
) -> LLMFailure:
    body = ErrorBody.of(exc.body)
    said = body.message or exc.message
    if isinstance(refusal, ContextOverflow):
        if refusal.limit is not None:
            endpoint.learn_context(refusal.limit, "the server's refusal")
        size = f" of {refusal.limit} tokens" if refusal.limit else ""
        return ContextTooLong(
            f"The prompt and the answer do not fit the model's context{size}: {said} "
            "Tutor now budgets for that size: retry, or shorten the passage. If it "
            "happens again, set TUTOR_LLM_CONTEXT_TOKENS below the server's context size."
        )
    if isinstance(refusal, FormatRefusal) and "response_format" in request.body:
        return FormatRefused(f"The model endpoint refused the JSON format it was sent: {said}")
    return LLMError(f"The model endpoint answered {exc.status_code}: {said}")


def _status_failure(exc: openai.APIStatusError, wait: float) -> LLMFailure:
    said = ErrorBody.of(exc.body).message or exc.message
    if exc.status_code == 429:
        return LLMRateLimited(
            "The model endpoint is rate limiting requests; try again in "
            f"{math.ceil(wait)} seconds.",
            headers={"Retry-After": str(math.ceil(wait))},
        )
    return LLMError(f"The model endpoint answered {exc.status_code}: {said}")


def _not_started(settings: LLMSettings) -> LLMTimeout:
    return LLMTimeout(
        f"The model did not start answering within {settings.timeout:g} seconds "
        "(TUTOR_LLM_TIMEOUT)."
    )


def _unreachable(exc: openai.APIConnectionError, settings: LLMSettings) -> LLMUnreachable:
    return LLMUnreachable(
        f"Could not reach the model endpoint at {describe_endpoint(settings)}: "
        f"{_connection_problem(exc)}. Is the model server running?"
    )


def _connection_problem(exc: BaseException) -> str:
    cause = _root_cause(exc)
    if isinstance(cause, ConnectionRefusedError):
        return "the connection was refused"
    if isinstance(cause, aiohttp.ServerDisconnectedError | ConnectionResetError):
        return "the server closed the connection without answering"
    if isinstance(cause, aiohttp.ClientConnectorDNSError):
        return "its host name does not resolve"
    return str(cause) or type(cause).__name__


def _root_cause(exc: BaseException) -> BaseException:
    *_, root = exc, *_causes(exc)
    return root


def _timed_out(exc: BaseException) -> bool:
    """Whether a connection error is a timeout. The SDK's aiohttp transport reports a
    refused connection, and a server that hangs up without answering, as a connect
    timeout; the errors it was raised from tell them apart."""
    if not isinstance(exc, openai.APITimeoutError | httpx2.TimeoutException):
        return False
    causes = list(_causes(exc))
    if any(isinstance(cause, TimeoutError) for cause in causes):
        return True
    return not any(isinstance(cause, aiohttp.ClientError | OSError) for cause in causes)


def _causes(exc: BaseException) -> Iterator[BaseException]:
    cause: BaseException | None = exc.__cause__
    while cause is not None:
        yield cause
        cause = cause.__cause__


def _retry_after(response: httpx2.Response) -> float | None:
    """The server's Retry-After (seconds or an HTTP date; OpenAI's retry-after-ms)."""
    headers: httpx2.Headers = response.headers
    try:
        if "retry-after-ms" in headers:
            return max(0.0, float(headers["retry-after-ms"]) / 1000)
        value: str | None = headers.get("retry-after")
        if value is None:
            return None
        try:
            return max(0.0, float(value))
        except ValueError:
            retry_at: float = parsedate_to_datetime(value).timestamp()
            return max(0.0, retry_at - time.time())
    except (TypeError, ValueError):
        return None


def _backoff(retries: int) -> float:
    base = min(math.ldexp(_FIRST_BACKOFF_SECONDS, retries), _LONGEST_BACKOFF_SECONDS)
    return base * random.uniform(0.75, 1.25)  # noqa: S311 - jitter, not a secret
