"""A fake OpenAI-compatible model for load: asyncio, one process, precise timing.

tests/fakellm is threaded and polls its sockets every 20 ms (it is built to fail on
purpose, not to be fast), so hundreds of streams on it would measure the fake. This one
only streams: every POST /v1/chat/completions gets the same reply, its first token
`first_token_ms` after the request and one token every `token_interval_ms` after that,
on a schedule (sleeping until each token is due, so slow rounds do not add up).

Run it as its own process, from the repository root: `python -m bench.upstream --port 8100`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

_HEADERS = (
    b"HTTP/1.1 200 OK\r\n"
    b"Content-Type: text/event-stream\r\n"
    b"Cache-Control: no-cache\r\n"
    b"Transfer-Encoding: chunked\r\n\r\n"
)


@dataclass(frozen=True)
class Pace:
    first_token_ms: float
    tokens: int
    token_interval_ms: float


def _event(payload: object) -> bytes:
    data = b"data: " + (payload if isinstance(payload, bytes) else json.dumps(payload).encode())
    body = data + b"\n\n"
    return b"%x\r\n%s\r\n" % (len(body), body)


def _chunk(delta: dict[str, object], finish_reason: str | None = None) -> dict[str, object]:
    return {
        "id": "chatcmpl-bench",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": "bench",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
        "usage": None,
    }


def _usage(tokens: int) -> dict[str, object]:
    usage = {"prompt_tokens": 100, "completion_tokens": tokens, "total_tokens": 100 + tokens}
    return {**_chunk({}), "choices": [], "usage": usage}


async def _read_request(reader: asyncio.StreamReader) -> bytes | None:
    """The request body, or None when the client closed its keep-alive connection."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, ConnectionError):
        return None
    length = 0
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    return await reader.readexactly(length) if length else b""


async def _stream(writer: asyncio.StreamWriter, pace: Pace, started: float) -> None:
    writer.write(_HEADERS + _event(_chunk({"role": "assistant", "content": ""})))
    loop = asyncio.get_running_loop()
    for index in range(pace.tokens):
        due = started + (pace.first_token_ms + index * pace.token_interval_ms) / 1000
        await asyncio.sleep(max(0.0, due - loop.time()))
        writer.write(_event(_chunk({"content": f"w{index} "})))
    writer.write(_event(_chunk({}, "stop")) + _event(_usage(pace.tokens)) + _event(b"[DONE]"))
    writer.write(b"0\r\n\r\n")
    await writer.drain()


def handler(
    pace: Pace, record: list[bytes] | None = None
) -> Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]:
    """Serves the reply to every request; `record` (if given) keeps the request bodies."""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        loop = asyncio.get_running_loop()
        try:
            while (body := await _read_request(reader)) is not None:
                if record is not None:
                    record.append(body)
                await _stream(writer, pace, loop.time())
        except ConnectionError:
            pass  # the client went away mid-stream: that is its right
        finally:
            writer.close()

    return serve


async def main(port: int, pace: Pace) -> None:
    server = await asyncio.start_server(handler(pace), "127.0.0.1", port, backlog=1024)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--first-token-ms", type=float, default=100)
    parser.add_argument("--tokens", type=int, default=50)
    parser.add_argument("--token-interval-ms", type=float, default=20)
    args = parser.parse_args()
    pace = Pace(args.first_token_ms, args.tokens, args.token_interval_ms)
    try:
        import uvloop
    except ImportError:
        asyncio.run(main(args.port, pace))
    else:
        uvloop.run(main(args.port, pace))
