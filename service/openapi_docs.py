"""What the OpenAPI document says beyond what FastAPI reads off the routes: above all,
how an operation's error answers appear in it.

Each route lists the refusals it can answer with (`Refusal`: a status, the `error.code`
it carries, and what it means) and `error_responses` turns them into its `responses=`:
one response per status in the shared error shape (service/errors.py), whose
description lists every code with its meaning, and an example body per code, so that a
client (or a client generator) knows what to expect and what to do. The refusals every
route shares, or every route of one kind (a JSON body, a model call), are here; a
domain's own sit next to its routes. tests/api/core/test_openapi.py checks the lists
against what the code can raise. Also here: the API's description and its tags.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, cast

from service.body_limit import DEFAULT_MAX_BODY_BYTES
from service.dbfaults import Fault
from service.errors import ErrorResponse, TutorError, Unauthorized
from service.llm.errors import (
    ContextTooLong,
    LLMBadOutput,
    LLMError,
    LLMInterrupted,
    LLMRateLimited,
    LLMTimeout,
    LLMUnavailable,
    LLMUnreachable,
    ServerStopping,
)
from service.pagination import InvalidCursor

Responses = dict[int | str, dict[str, Any]]

# Statuses whose answers say when to come back.
_RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before sending the request again (absent when no "
        "one can know, as for `too_many_streams`).",
        "schema": {"type": "integer", "minimum": 1},
    }
}
_HEADERS: dict[int, dict[str, Any]] = {
    401: {
        "WWW-Authenticate": {
            "description": "`Bearer`: the scheme the API key goes in.",
            "schema": {"type": "string"},
        }
    },
    429: _RETRY_AFTER,
    503: _RETRY_AFTER,
}


@dataclass(frozen=True)
class Refusal:
    """One error answer an operation can give: its status, its `error.code`, and when."""

    status: int
    code: str
    meaning: str

    @classmethod
    def of(cls, error: type[TutorError], meaning: str | None = None) -> Refusal:
        """The refusal `error` stands for; without `meaning`, the error's own message (for
        an error that takes no arguments), so the schema says what the server says."""
        if meaning is None:
            meaning = cast(Callable[[], TutorError], error)().message
        return cls(error.status_code, error.code, meaning)


def error_responses(*refusals: Refusal | Iterable[Refusal]) -> Responses:
    """The `responses=` of a route that can answer with these refusals (or groups of
    them), one response per status."""
    by_status: dict[int, dict[str, Refusal]] = {}
    for refusal in _flat(refusals):
        codes = by_status.setdefault(refusal.status, {})
        known = codes.get(refusal.code)
        if known is not None and refusal.meaning not in known.meaning:
            # One code, two causes (a schema's and a service's `validation_error`).
            refusal = Refusal(refusal.status, refusal.code, f"{known.meaning} {refusal.meaning}")
        codes[refusal.code] = refusal
    return {
        status: _response(status, list(codes.values()))
        for status, codes in sorted(by_status.items())
    }


def _flat(refusals: Iterable[Refusal | Iterable[Refusal]]) -> Iterable[Refusal]:
    for item in refusals:
        if isinstance(item, Refusal):
            yield item
        else:
            yield from item


def _response(status: int, refusals: list[Refusal]) -> dict[str, Any]:
    codes = "\n".join(f"- `{refusal.code}`: {refusal.meaning}" for refusal in refusals)
    examples = {
        refusal.code: {
            "summary": refusal.code,
            "value": {"error": {"code": refusal.code, "message": refusal.meaning}},
        }
        for refusal in refusals
    }
    response: dict[str, Any] = {
        "model": ErrorResponse,
        "description": f"In the shared error shape; `error.code` says why:\n\n{codes}",
        "content": {"application/json": {"examples": examples}},
    }
    if status in _HEADERS:
        response["headers"] = _HEADERS[status]
    return response


# --- every route under /v1 ----------------------------------------------------------

UNAUTHORIZED = Refusal.of(
    Unauthorized,
    "The API key is missing, malformed, unknown or revoked: send "
    "`Authorization: Bearer <key>` with a key from `tutor learner add`.",
)
DATABASE_FAULTS = tuple(
    Refusal(503, fault.value[0], f"{fault.value[1]} Nothing is half-written; send it again.")
    for fault in Fault
)
SIGNED_IN = (UNAUTHORIZED, *DATABASE_FAULTS)

# --- what a request carries ---------------------------------------------------------

BODY_TOO_LARGE = Refusal(
    413,
    "body_too_large",
    f"The request body is over {DEFAULT_MAX_BODY_BYTES // (1024 * 1024)} MiB (the uploads "
    "have their own, larger limits).",
)
VALIDATION_ERROR = Refusal(
    422,
    "validation_error",
    "A parameter or a field of the body is not valid: `error.details` lists each "
    "(`field`, `message`, `type`).",
)
INVALID_JSON = Refusal(422, "invalid_json", "The request body is not valid JSON.")
INVALID_TEXT = Refusal(
    422,
    "invalid_text",
    "The text contains a NUL character, which the database cannot store.",
)
INVALID_CURSOR = Refusal.of(InvalidCursor)
# Parameters in the path or the query string.
PARAMETERS = (VALIDATION_ERROR,)
# Text in the query string, which reaches the database.
TEXT_PARAMETERS = (VALIDATION_ERROR, INVALID_TEXT)
PAGED = (VALIDATION_ERROR, INVALID_CURSOR)
JSON_BODY = (BODY_TOO_LARGE, VALIDATION_ERROR, INVALID_JSON, INVALID_TEXT)

# --- the model ----------------------------------------------------------------------

# The learner's limits (service/limits/errors.py), checked before the model is called:
# nothing of the request is stored yet. The core cannot import them; the tests check
# these against the errors themselves.
LIMITS = (
    Refusal(
        429,
        "rate_limited",
        "Over the learner's requests to the model a minute; nothing was stored, send it "
        "again after `Retry-After`.",
    ),
    Refusal(
        429,
        "quota_exceeded",
        "Today's token quota is used up; nothing was stored. `error.details.resets_at` "
        "says when it resets.",
    ),
    Refusal(
        503,
        "limits_unavailable",
        "The limits store (Redis) does not answer; nothing was stored.",
    ),
)
TOO_MANY_STREAMS = Refusal(
    429,
    "too_many_streams",
    "The learner has as many answers streaming as allowed; wait for one to end, or ask "
    "for JSON. Nothing was stored.",
)
_KEPT = (
    "What the learner sent is kept, and `error.details.message_id` names the answer to "
    "retry, where there is one."
)
MODEL_FAILURES = (
    Refusal.of(
        ContextTooLong,
        "The model's context is smaller than the prompt; the message names the setting to lower.",
    ),
    Refusal.of(LLMRateLimited, "The model endpoint is rate limiting; `Retry-After` says when."),
    Refusal.of(LLMUnreachable, f"The model endpoint cannot be reached. {_KEPT}"),
    Refusal.of(LLMError, f"The model endpoint answered with an error. {_KEPT}"),
    Refusal.of(LLMInterrupted, f"The model broke off its answer. {_KEPT}"),
    Refusal.of(LLMBadOutput, f"The model's answer had the wrong structure twice. {_KEPT}"),
    Refusal.of(LLMUnavailable, "No model is configured (TUTOR_LLM_MODEL and its endpoint)."),
    Refusal.of(ServerStopping, f"The server stopped before the answer ended. {_KEPT}"),
    Refusal.of(LLMTimeout, f"The model did not answer in time. {_KEPT}"),
)
# A route that calls the model for the learner: the limits, then the model; its own 503
# replaces the one every route shares, so the database's faults are named again.
MODEL_CALL = (*LIMITS, *MODEL_FAILURES, *DATABASE_FAULTS)

# --- the document as a whole --------------------------------------------------------

API_DESCRIPTION = """\
Tutor explains passages of machine-learning papers, critiques your explanations of them,
turns what you learnt into cards, and schedules their reviews (SM-2 or FSRS).

- **Authentication**: every `/v1` operation wants `Authorization: Bearer <key>`, with a
  key from `tutor learner add` (the first one is printed when `tutor serve` starts on an
  empty data directory). The probes and `/metrics` want none.
- **Errors** come in one shape, `{"error": {"code", "message", "details"?}}`. Each
  operation lists its statuses, and each status the `error.code` values it carries; a
  client decides on the code, and shows the message.
- **Answers from the model** come as JSON once complete, or, with
  `Accept: text/event-stream`, as Server-Sent Events while they are written (`delta`,
  then `done` or `error`). What you send is saved before the model is called: a failed
  answer is kept, and can be retried.
- **Lists** come a page at a time: pass `next_cursor` back as `cursor`.
- **Operation ids** (`explainPassage`, `gradeCard`, …) are stable: generated clients
  name their functions after them.
"""

TAGS = [
    {"name": "health", "description": "Probes and metrics for operators; no API key."},
    {"name": "learner", "description": "Who you are, and your settings."},
    {"name": "knowledge", "description": "What Tutor knows about you, to read and correct."},
    {"name": "sources", "description": "The reading queue: papers, posts, videos, books."},
    {
        "name": "sessions",
        "description": "Tutoring sessions: explanations, follow-up questions, retries.",
    },
    {"name": "critiques", "description": "Explain a concept back, and have the holes found."},
    {"name": "checks", "description": "Answer the question that ends an explanation."},
    {"name": "cards", "description": "Flashcards: drafts distilled from sessions, and yours."},
    {"name": "import and export", "description": "Anki packages and CSV, both ways."},
    {"name": "reviews", "description": "Today's queue, grading, statistics, the scheduler."},
    {"name": "study log", "description": "The diary Tutor writes each night."},
]

# An operation anyone who reaches the port may call (the probes, the metrics): said in
# so many words, so that no reader (nor linter) takes the missing key for an oversight.
UNAUTHENTICATED: dict[str, Any] = {"security": []}
