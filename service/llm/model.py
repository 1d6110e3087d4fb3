"""The model as the rest of Tutor sees it: three calls and a token budget.

Callers ask for a streamed answer, a whole one, or an object validated by a pydantic
model, and for the token limits of a purpose. How the model is reached (the
OpenAI-compatible HTTP API: service/llm/openai_compatible.py), and what is done with a
finished call (the call log, the metrics: listeners, service/llm/record.py), are not
their concern. Tests put an in-process fake behind the same protocol (tests/fakemodel.py).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Annotated, Generic, Protocol

from fastapi import Depends, Request

from prompts import Prompt
from service.config import Purpose
from service.llm.budget import Budget
from service.llm.errors import LLMFailure
from service.llm.structured import Schema
from service.llm.tokens import ChatMessage


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
    estimated: bool  # the server said nothing: our own count

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.prompt_tokens + other.prompt_tokens,
            self.completion_tokens + other.completion_tokens,
            self.estimated or other.estimated,
        )


@dataclass(frozen=True)
class Completion:
    text: str
    truncated: bool
    usage: Usage


@dataclass(frozen=True)
class Structured(Generic[Schema]):
    """A validated object and what it cost (both rounds, when a repair was needed)."""

    value: Schema
    usage: Usage


class AnswerStream(Protocol):
    """An answer arriving in pieces. Iterating gives the text; a failure while it streams
    raises an LLMFailure (LLMInterrupted when it broke off), with `text` kept."""

    @property
    def text(self) -> str:
        """The answer so far."""
        ...

    @property
    def truncated(self) -> bool:
        """Whether the answer stopped at its token limit (known once it has ended)."""
        ...

    @property
    def usage(self) -> Usage: ...

    def __aiter__(self) -> AsyncIterator[str]: ...

    def stop(self, failure: LLMFailure) -> None:
        """End the answer from outside (the server is stopping): the reading loop raises
        `failure`, with the text so far kept."""
        ...

    async def close(self) -> None:
        """Stop reading now (the client went away); the call ends as interrupted."""
        ...


class Model(Protocol):
    """The model, as Tutor's features use it. Failures are LLMFailure subclasses."""

    async def budget(self, purpose: Purpose) -> Budget:
        """The token limits of a call for `purpose`, as the model's context allows."""
        ...

    async def stream(self, call: Call) -> AnswerStream:
        """Open the answer: failures before its first token raise here."""
        ...

    async def complete(self, call: Call) -> Completion:
        """The whole answer."""
        ...

    async def structured(self, call: Call, schema: type[Schema]) -> Structured[Schema]:
        """A validated `schema` instance; LLMBadOutput when the model cannot give one."""
        ...


async def get_model(request: Request) -> Model:  # async: no worker thread per request
    model: Model = request.app.state.llm
    return model


LLMDep = Annotated[Model, Depends(get_model)]
