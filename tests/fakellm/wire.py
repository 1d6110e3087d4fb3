"""What goes on the wire: Chat Completions bodies, SSE events and chunked framing.

Pure functions and values, no sockets: the handler in ``fakellm.server`` writes them out.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from .script import Reply

# The terminating chunk of a chunked body.
LAST_CHUNK = b"0\r\n\r\n"


@dataclass(frozen=True)
class Call:
    """One chat-completion request, and what every response chunk repeats from it."""

    id: str
    created: int
    model: str
    stream: bool
    include_usage: bool
    prompt_words: int

    @classmethod
    def of(cls, body: dict[str, Any], completion_id: str) -> Call:
        options = body.get("stream_options")
        return cls(
            id=completion_id,
            created=int(time.time()),
            model=str(body.get("model", "")),
            stream=body.get("stream") is True,
            include_usage=isinstance(options, dict) and options.get("include_usage") is True,
            prompt_words=count_prompt_words(body.get("messages")),
        )

    def usage(self, reply: Reply) -> dict[str, int]:
        prompt = self.prompt_words if reply.prompt_tokens is None else reply.prompt_tokens
        completion = (
            len(reply.text.split()) if reply.completion_tokens is None else reply.completion_tokens
        )
        return {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
        }

    def _envelope(self, kind: str, choices: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": kind,
            "created": self.created,
            "model": self.model,
            "choices": choices,
        }

    def completion(self, reply: Reply) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": reply.text, "refusal": None}
        if reply.reasoning:
            message["reasoning_content"] = reply.reasoning
        choice = {"index": 0, "message": message, "finish_reason": reply.finish_reason}
        payload = self._envelope("chat.completion", [choice])
        if reply.usage:
            payload["usage"] = self.usage(reply)
        return payload

    def chunk(
        self, delta: dict[str, Any], *, finish_reason: str | None = None, null_usage: bool = False
    ) -> dict[str, Any]:
        choice = {"index": 0, "delta": delta, "finish_reason": finish_reason}
        payload = self._envelope("chat.completion.chunk", [choice])
        # OpenAI puts "usage": null on every chunk once include_usage is asked for.
        if null_usage:
            payload["usage"] = None
        return payload

    def usage_chunk(self, reply: Reply) -> dict[str, Any]:
        return {**self._envelope("chat.completion.chunk", []), "usage": self.usage(reply)}


def error_body(
    message: str, error_type: str, *, code: str | None = None, param: str | None = None
) -> dict[str, Any]:
    """An OpenAI-style error body: ``{"error": {message, type, param, code}}``."""
    return {"error": {"message": message, "type": error_type, "param": param, "code": code}}


def models_list(model: str, extra: dict[str, Any]) -> dict[str, Any]:
    entry = {"id": model, "object": "model", "created": 0, "owned_by": "fakellm", **extra}
    return {"object": "list", "data": [entry]}


# OpenAI's answer to `max_tokens` from a model that takes only `max_completion_tokens`
# (the o-series and gpt-5 families), word for word.
MAX_TOKENS_REFUSAL = error_body(
    "Unsupported parameter: 'max_tokens' is not supported with this model. "
    "Use 'max_completion_tokens' instead.",
    "invalid_request_error",
    code="unsupported_parameter",
    param="max_tokens",
)


# OpenAI's answer to `stream: true` for a model it streams only to verified organisations.
STREAMING_REFUSAL = error_body(
    "Your organization must be verified to stream this model. Please go to: "
    "https://platform.openai.com/settings/organization/general and click on Verify "
    "Organization. If you just verified, it can take up to 15 minutes for access to propagate.",
    "invalid_request_error",
    code="unsupported_value",
    param="stream",
)


def context_overflow(prompt_tokens: int, context_tokens: int) -> dict[str, Any]:
    """llama-server's answer to a prompt longer than its context, with its extra fields."""
    body = error_body(
        f"request ({prompt_tokens} tokens) exceeds the available context size "
        f"({context_tokens} tokens), try increasing it",
        "exceed_context_size_error",
    )
    body["error"] |= {"code": 400, "n_prompt_tokens": prompt_tokens, "n_ctx": context_tokens}
    return body


def sse_event(text: str) -> bytes:
    return f"data: {text}\n\n".encode()


def http_chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


def split_text(text: str, size: int) -> list[str]:
    return [text[start : start + size] for start in range(0, len(text), size)]


def count_prompt_words(messages: object) -> int:
    """A deterministic stand-in for prompt tokens: words across all message contents."""
    if not isinstance(messages, list):
        return 0
    words = 0
    for message in messages:
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, str):
            words += len(content.split())
        elif isinstance(content, list):
            words += sum(
                len(str(part.get("text", "")).split()) for part in content if isinstance(part, dict)
            )
    return words


def response_format_type(body: dict[str, Any]) -> str | None:
    response_format = body.get("response_format")
    if isinstance(response_format, dict):
        kind = response_format.get("type")
        return kind if isinstance(kind, str) else None
    return None
