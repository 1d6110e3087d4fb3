"""What a model server's refusal (a 4xx answer) says about the request Tutor sent.

Servers word their refusals differently, and a refusal of one thing must not be read as
another's: a prompt too long for the context is not a refused JSON format, and a
refused `max_tokens` is neither. Shapes seen in the wild:

- OpenAI: `{"error": {"message", "type", "param", "code"}}`, e.g. `param: "max_tokens",
  code: "unsupported_parameter"`, or `code: "context_length_exceeded"`;
- llama.cpp: the same, plus `"type": "exceed_context_size_error", "n_ctx": 8192`;
- vLLM: `{"object": "error", "message": "This model's maximum context length is 4096
  tokens. …", "type": "BadRequestError"}`;
- Ollama: `{"error": "…"}` or the OpenAI shape.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

_CONTEXT_WORDS = re.compile(
    r"context (?:length|size|window)|maximum context|too many tokens|exceeds the available",
    re.I,
)
_CONTEXT_LIMIT = re.compile(
    r"(?:maximum context length is|context (?:size|window|length)(?: is| of)?|n_ctx[ =:]+)"
    r"\s*\(?(\d+)",
    re.I,
)
_FORMAT_WORDS = re.compile(r"response_format|json_schema|json_object|schema|grammar", re.I)


@dataclass(frozen=True)
class ErrorBody:
    message: str
    param: str | None
    code: str | None
    type: str | None
    context_limit: int | None  # the server's context, when the refusal names it

    @classmethod
    def of(cls, body: object) -> ErrorBody:
        error: Any = body.get("error", body) if isinstance(body, dict) else body
        if isinstance(error, str):
            error = {"message": error}
        if not isinstance(error, dict):
            error = {}
        message = _text(error.get("message")) or ""
        n_ctx = error.get("n_ctx")
        limit = n_ctx if isinstance(n_ctx, int) and n_ctx > 0 else _limit_in(message)
        return cls(
            message=message,
            param=_text(error.get("param")),
            code=_text(error.get("code")),
            type=_text(error.get("type")),
            context_limit=limit,
        )


@dataclass(frozen=True)
class ContextOverflow:
    limit: int | None


@dataclass(frozen=True)
class ParameterRefused:
    name: str  # the refused one: max_tokens or max_completion_tokens


@dataclass(frozen=True)
class StreamingRefused:
    """OpenAI streams some models only for verified organisations."""


@dataclass(frozen=True)
class FormatRefusal:
    pass


@dataclass(frozen=True)
class OtherRefusal:
    pass


Refusal = ContextOverflow | ParameterRefused | StreamingRefused | FormatRefusal | OtherRefusal


def classify(body: ErrorBody, *, sent_token_param: str) -> Refusal:
    """What the refusal is about; the context first, since its message may name the
    token limit too ("max_tokens is too large: … maximum context length is 4096")."""
    if (
        body.code == "context_length_exceeded"
        or body.type == "exceed_context_size_error"
        or _CONTEXT_WORDS.search(body.message)
    ):
        return ContextOverflow(body.context_limit)
    if body.param == sent_token_param or (
        sent_token_param in body.message
        and re.search(r"unsupported|not supported|unrecognized|unknown|extra", body.message, re.I)
    ):
        return ParameterRefused(sent_token_param)
    if body.param == "stream" or re.search(r"\bto stream\b|\bstreaming is not", body.message, re.I):
        return StreamingRefused()
    if body.param == "response_format" or _FORMAT_WORDS.search(body.message):
        return FormatRefusal()
    return OtherRefusal()


def _text(value: object) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, int):
        return str(value)
    return None


def _limit_in(message: str) -> int | None:
    match = _CONTEXT_LIMIT.search(message)
    return int(match.group(1)) if match else None
