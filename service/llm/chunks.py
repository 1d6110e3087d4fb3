"""The chunks of a streamed chat completion, read straight off the wire.

The openai SDK builds a pydantic model for every chunk, about a token each; relaying an
answer to many learners at once spent most of its CPU there. The request still goes
through the SDK (base URL, key, retries, errors before the first byte); only the body
is read here: server-sent events whose `data` is a JSON chunk, ending with `[DONE]`.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import json
import re
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


# SSE ends a line with CRLF, LF or CR. Not str.splitlines: it also breaks on characters
# such as U+2028, which JSON may carry inside a string.
_LINE_END = re.compile(r"\r\n|\r|\n")
# A server that keeps the body open after `[DONE]` is not waited for longer than this.
_AFTER_DONE_SECONDS = 0.5


async def read_chunks(reads: AsyncIterator[bytes]) -> AsyncIterator[Chunk]:
    """The chunks of the stream, those that arrived in the same network read as one.

    A busy server falls behind and finds several tokens waiting at once; relaying them
    as one piece costs one event instead of one per token, and the learner sees the same
    text. An error in the stream is raised after the text that came before it.
    """
    events_per_read = _events_per_read(reads)
    async for events in events_per_read:
        arrived, failure, done = _parse_all(events)
        if arrived:
            yield _merge(arrived)
        if failure is not None:
            raise failure
        if done:
            await _read_to_the_end(events_per_read)
            return


async def _read_to_the_end(rest: AsyncIterator[object]) -> None:
    """Read what follows `[DONE]` (the end of the body, at once from any real server):
    a connection whose response was not read to the end is closed, not used again, and
    the next answer would wait for a new one."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(_AFTER_DONE_SECONDS):
            async for _ in rest:
                pass


async def _events_per_read(reads: AsyncIterator[bytes]) -> AsyncIterator[list[str]]:
    lines = _Lines()
    async for read in reads:
        yield lines.feed(read)
    yield lines.end()


def _parse_all(events: list[str]) -> tuple[list[Chunk], ChunkError | None, bool]:
    """The chunks of these events up to `[DONE]` or a bad one; the error; whether done."""
    chunks: list[Chunk] = []
    for data in events:
        if data.startswith("[DONE]"):
            return chunks, None, True
        try:
            chunks.append(parse_chunk(data))
        except ChunkError as error:
            return chunks, error, False
    return chunks, None, False


def _merge(chunks: list[Chunk]) -> Chunk:
    finish_reasons = [c.finish_reason for c in chunks if c.finish_reason is not None]
    usages = [c.usage for c in chunks if c.usage is not None]
    return Chunk(
        "".join(c.text for c in chunks),
        finish_reasons[-1] if finish_reasons else None,
        usages[-1] if usages else None,
    )


class _Lines:
    """Bytes in, the `data` of each complete event out; data lines joined, as SSE says."""

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")()
        self._partial = ""  # a line not ended yet
        self._data: list[str] = []

    def feed(self, read: bytes) -> list[str]:
        text = self._partial + self._decoder.decode(read)
        # A CR at the very end may be the first half of a CRLF: wait for the next read.
        carried = "\r" if text.endswith("\r") else ""
        *ended, partial = _LINE_END.split(text[: len(text) - len(carried)])
        self._partial = partial + carried
        return [data for line in ended if (data := self._line(line)) is not None]

    def end(self) -> list[str]:
        """What is left when the stream closes: a last line or event never ended."""
        return self.feed(b"\n\n")

    def _line(self, line: str) -> str | None:
        if not line:
            if not self._data:
                return None
            data, self._data = "\n".join(self._data), []
            return data
        if line.startswith("data:"):
            value = line[5:]
            self._data.append(value[1:] if value.startswith(" ") else value)
        # Comments (":"), `event:`, `id:` and `retry:` lines carry nothing for us.
        return None


async def read_whole(reads: AsyncIterator[bytes]) -> AsyncIterator[Chunk]:
    """A completion that was not streamed (a server that may not stream this model, or
    that ignores `stream`): the whole answer as one chunk."""
    completion = _json_object(b"".join([read async for read in reads]), "an answer")
    choice = (completion.get("choices") or [{}])[0]
    message = choice.get("message") if isinstance(choice, dict) else None
    content = message.get("content") if isinstance(message, dict) else None
    yield Chunk(
        content if isinstance(content, str) else "",
        choice.get("finish_reason") if isinstance(choice, dict) else None,
        _usage(completion.get("usage")),
    )


def parse_chunk(data: str) -> Chunk:
    chunk = _json_object(data, "a chunk")
    text: list[str] = []
    finish_reason = None
    for choice in chunk.get("choices") or ():
        delta = choice.get("delta") or {}
        if isinstance(content := delta.get("content"), str):
            text.append(content)
        finish_reason = choice.get("finish_reason") or finish_reason
    return Chunk("".join(text), finish_reason, _usage(chunk.get("usage")))


def _json_object(data: str | bytes, what: str) -> dict[str, Any]:
    """The JSON object the server sent as `what`, or ChunkError (an error it reported)."""
    try:
        value = json.loads(data)
    except ValueError:
        raise ChunkError(f"The model endpoint sent {what} that is not JSON.") from None
    if not isinstance(value, dict):
        raise ChunkError(f"The model endpoint sent {what} that is not a JSON object.")
    if value.get("error"):
        raise ChunkError(f"The model endpoint reported an error: {_error_message(value)}")
    return value


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
