"""The model behind an OpenAI-compatible endpoint: OpenAI, Ollama, vLLM, llama.cpp, LM Studio.

One AsyncOpenAI client per process, built from settings at start-up. Every call is a
streamed chat completion, answered or not to a learner as it arrives: one way to send
(service/llm/sending.py: deadline, retries, refusals), one way to read
(service/llm/openai_stream.py), and one rule for when an answer is complete (the server
said why it finished). What the server is — its context, its token parameter, the JSON
forms it takes — is learnt per model (service/llm/endpoint.py).

Every call is told to the listeners when it ends, however it ends (service/llm/record.py).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import replace
from typing import Any, get_args

import openai
from openai import AsyncOpenAI
from pydantic import BaseModel

from service.config import LLMSettings, Purpose
from service.llm.budget import Budget
from service.llm.endpoint import Endpoint, Endpoints
from service.llm.errors import FormatRefused, LLMBadOutput, LLMFailure, LLMUnavailable
from service.llm.model import Call, Completion, Structured
from service.llm.openai_stream import OpenAIAnswerStream, elapsed_ms
from service.llm.probe import Unreachable, read_context
from service.llm.record import CallListener, CallRecord, notify
from service.llm.sending import ChatRequest, open_stream
from service.llm.structured import (
    OutputInvalid,
    Schema,
    StructuredMode,
    parse_output,
    repair_messages,
    response_format,
    schema_instruction,
)
from service.llm.tokens import ChatMessage, counts_exactly, encoding_for

log = logging.getLogger(__name__)

# How long what a server said of its context holds; a server that did not answer the
# question is asked again sooner.
_PROBE_SECONDS = 300.0
_PROBE_AGAIN_UNREACHABLE_SECONDS = 15.0
_PROBE_TIMEOUT_SECONDS = 3.0  # one question
_PROBE_TOTAL_SECONDS = 5.0  # all of them: the learner is waiting


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


class OpenAICompatibleModel:
    """The Model (service/llm/model.py) over the Chat Completions API. Built once per
    process; `listeners` hear of every finished call (none: `tutor doctor`)."""

    def __init__(self, settings: LLMSettings, *, listeners: Sequence[CallListener] = ()) -> None:
        self.settings = settings
        self._listeners = tuple(listeners)
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

    async def stream(self, call: Call) -> OpenAIAnswerStream:
        """Open the stream: failures before the first token raise here, as LLMFailure."""
        return await self._open(call, json_format=None)

    async def complete(self, call: Call) -> Completion:
        """The whole answer. Streamed underneath, so a slow model is waited for as long as
        it keeps writing, and one timeout means the same thing for every call."""
        return await self._complete(call, json_format=None)

    async def _open(self, call: Call, *, json_format: dict[str, Any] | None) -> OpenAIAnswerStream:
        client, endpoint = self._ready(call.purpose)
        request = self._request(call, endpoint, json_format)
        started = time.monotonic()
        try:
            upstream = await open_stream(client, endpoint, self.settings, request)
        except LLMFailure as failure:
            record = CallRecord.of(
                call,
                model=endpoint.model,
                usage=None,
                first_token_ms=None,
                duration_ms=elapsed_ms(started),
                outcome=failure.outcome,
                error=failure.message,
            )
            await notify(self._listeners, record)
            raise
        return OpenAIAnswerStream(
            settings=self.settings,
            listeners=self._listeners,
            call=call,
            endpoint=endpoint,
            upstream=upstream,
            started=started,
            output_tokens=request.output_tokens,
        )

    async def _complete(self, call: Call, *, json_format: dict[str, Any] | None) -> Completion:
        stream = await self._open(call, json_format=json_format)
        async for _ in stream:
            pass
        return Completion(text=stream.text, truncated=stream.truncated, usage=stream.usage)

    async def structured(self, call: Call, schema: type[Schema]) -> Structured[Schema]:
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
            return await self._complete(call, json_format=json_format)
        except FormatRefused:
            shorter = response_format(mode, schema, lengths=False)
            if mode != "json_schema" or shorter == json_format:
                raise
            endpoint.schema_lengths = False
            return await self._complete(call, json_format=shorter)
