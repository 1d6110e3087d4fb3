"""The chunks of a streamed chat completion, read straight off the wire.

The openai SDK builds a pydantic model for every chunk, about a token each; relaying an
answer to many learners at once spent most of its CPU there. The request still goes
through the SDK (base URL, key, retries, errors before the first byte); only the body
is read here: server-sent events whose `data` is a JSON chunk, ending with `[DONE]`.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any


class ChunkError(Exception):
    """The server put an error into the stream, or sent something that is not a chunk."""


@dataclass(frozen=True)
class Chunk:
    text: str
    finish_reason: str | None
    # (prompt, completion) tokens, in the last chunk when `include_usage` was asked for.
    usage: tuple[int, int] | None


async def read_chunks(lines: AsyncIterator[str]) -> AsyncIterator[Chunk]:
    async for data in _event_data(lines):
        if data.startswith("[DONE]"):
            return
        yield parse_chunk(data)


async def _event_data(lines: AsyncIterator[str]) -> AsyncIterator[str]:
    """The `data` of each event; an event's data lines are joined, as SSE defines."""
    data: list[str] = []
    async for line in lines:
        if not line:
            if data:
                yield "\n".join(data)
                data = []
        elif line.startswith("data:"):
            value = line[5:]
            data.append(value[1:] if value.startswith(" ") else value)
        # Comments (":"), `event:`, `id:` and `retry:` lines carry nothing for us.
    if data:
        yield "\n".join(data)


def parse_chunk(data: str) -> Chunk:
    try:
        chunk = json.loads(data)
    except ValueError:
        raise ChunkError("The model endpoint sent a chunk that is not JSON.") from None
    if not isinstance(chunk, dict):
        raise ChunkError("The model endpoint sent a chunk that is not a JSON object.")
    if chunk.get("error"):
        raise ChunkError(f"The model endpoint reported an error: {_error_message(chunk)}")
    text: list[str] = []
    finish_reason = None
    for choice in chunk.get("choices") or ():
        delta = choice.get("delta") or {}
        if isinstance(content := delta.get("content"), str):
            text.append(content)
        finish_reason = choice.get("finish_reason") or finish_reason
    return Chunk("".join(text), finish_reason, _usage(chunk.get("usage")))


def _usage(usage: Any) -> tuple[int, int] | None:
    if not isinstance(usage, dict):
        return None
    prompt, completion = usage.get("prompt_tokens"), usage.get("completion_tokens")
    if isinstance(prompt, int) and isinstance(completion, int):
        return prompt, completion
    return None


def _error_message(chunk: dict[str, Any]) -> str:
    error = chunk["error"]
    message = error.get("message") if isinstance(error, dict) else error
    return message if isinstance(message, str) and message else "no message"
