"""What is said of a finished model call, and to whom.

A model tells its listeners once per call, however the call ends (answered, cut at its
token limit, failed before its first token, broken off, closed by the client). What
they do with it, the call log and the metrics, lives outside the model boundary:
service/calls/recorder.py and service/metrics/calls.py.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import prompts
from service.config import Purpose
from service.llm.model import Call, Usage

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CallRecord:
    """One finished call to the model."""

    learner_id: uuid.UUID
    purpose: Purpose
    prompt_name: str
    prompt_version: int
    # Every prompt file the call was built from, "tutor@2 turn@1 level-rigorous@3".
    prompt_versions: str
    model: str
    usage: Usage | None  # None: the call failed before the model answered
    first_token_ms: int | None
    duration_ms: int
    # ok | truncated, or the failure's outcome (service/llm/errors.py)
    outcome: str
    error: str | None = None

    @classmethod
    def of(
        cls,
        call: Call,
        *,
        model: str,
        usage: Usage | None,
        first_token_ms: int | None,
        duration_ms: int,
        outcome: str,
        error: str | None = None,
    ) -> CallRecord:
        return cls(
            learner_id=call.learner_id,
            purpose=call.purpose,
            prompt_name=call.prompt.name,
            prompt_version=call.prompt.version,
            prompt_versions=prompts.versions((call.prompt, *call.also_used)),
            model=model,
            usage=usage,
            first_token_ms=first_token_ms,
            duration_ms=duration_ms,
            outcome=outcome,
            error=error,
        )


CallListener = Callable[[CallRecord], Awaitable[None]]


async def notify(listeners: Sequence[CallListener], record: CallRecord) -> None:
    """Tell every listener, in order. A listener that fails is logged and the others
    still hear: losing a log row must never cost the learner their answer."""
    for listener in listeners:
        try:
            await listener(record)
        except Exception as exc:
            # The exception's name only: its text could quote a statement and its data.
            log.error("could not record an LLM call: %s", type(exc).__name__)
