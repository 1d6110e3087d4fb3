"""A real OpenAI-compatible HTTP server on loopback, scripted per test.

Tests talk to it with the real ``openai.AsyncOpenAI`` client, so everything between our
code and the socket (request building, SSE parsing, error mapping, timeouts) is the
library's own. The server runs in daemon threads, independent of the test's event loop,
so a handler that sleeps never blocks the code under test.

Usage::

    with FakeLLM() as fake:
        fake.script(Reply("Attention is a weighted average."), Failure(429, retry_after=2))
        client = openai.AsyncOpenAI(base_url=fake.base_url, api_key="test", max_retries=0)
        ...  # the code under test calls the model through `client`
        assert fake.last_request.json["model"] == "gpt-test"
        assert await asyncio.to_thread(fake.wait_for_disconnect, 1.0)

Each chat-completion request consumes one scripted response, first in first out; when
the queue is empty ``fake.default`` answers, and without a default the fake answers 500
("fakellm: no scripted response") so that a forgotten script fails loudly. A request whose
``response_format.type`` is in ``fake.reject_response_formats`` gets a 400 instead and
consumes nothing. The ``wait_for_*`` methods block: call them from async tests through
``asyncio.to_thread`` so the event loop keeps serving the code under test.

What the openai client (3.54, HTTP layer ``httpx2``) raises for the failure scripts --
code that calls the model must handle these:

* ``Failure(429, ...)`` -> ``openai.RateLimitError``; ``Failure(500)`` ->
  ``openai.InternalServerError`` (other statuses map to the usual ``APIStatusError``
  subclasses). Retry-After is honoured by the client's retries up to 120 s.
* ``CutStream`` while iterating a stream -> ``openai.APIConnectionError`` (its
  ``__cause__`` is ``httpx2.RemoteProtocolError``: incomplete chunked read). On a
  non-streaming request the same cut raises ``openai.APIConnectionError`` from ``create``.
* ``Garbage`` on a non-streaming request -> ``json.JSONDecodeError`` from ``create``
  (a ``ValueError``, *not* an ``openai.OpenAIError``); on a stream the same
  ``json.JSONDecodeError`` comes out of the iteration.
* ``Stall`` longer than the client's timeout -> ``openai.APITimeoutError``.

Streams use chunked transfer encoding, so a cut connection is visibly incomplete to the
client instead of looking like a clean end of body.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import select
import socket
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self, TypeAlias

# How often waiting handlers look at their socket; bounds disconnect-detection latency.
_POLL_SECONDS = 0.02


# --- the script ------------------------------------------------------------------------


@dataclass(frozen=True)
class Reply:
    """A successful answer, as JSON or as an SSE stream depending on the request."""

    text: str
    chunk_size: int = 4  # characters per streamed content delta
    first_token_delay: float = 0.0  # streams: after the headers, before the first chunk
    delay_between_chunks: float = 0.0
    finish_reason: str = "stop"
    usage: bool = True  # False: a server that never reports usage, even when asked
    prompt_tokens: int | None = None  # None: words in the request's messages
    completion_tokens: int | None = None  # None: words in `text`

    def __post_init__(self) -> None:
        if self.chunk_size < 1:
            raise ValueError("chunk_size must be at least 1")


@dataclass(frozen=True)
class Failure:
    """An HTTP error with an OpenAI-style body ``{"error": {message, type, param, code}}``."""

    status: int
    message: str = "fakellm: scripted failure"
    retry_after: float | None = None  # seconds, sent as the Retry-After header
    error_type: str = "api_error"
    code: str | None = None


@dataclass(frozen=True)
class CutStream:
    """Sends `after_chunks` content deltas, then drops the connection mid-body."""

    text: str
    after_chunks: int
    chunk_size: int = 4
    delay_between_chunks: float = 0.0


@dataclass(frozen=True)
class Garbage:
    """A 200 whose body (or, for a stream, whose first ``data:`` line) is not JSON."""

    body: str = "this is not json {"


@dataclass(frozen=True)
class Stall:
    """Reads the request, sends nothing for `seconds`, then closes the connection."""

    seconds: float


Scripted: TypeAlias = Reply | Failure | CutStream | Garbage | Stall


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]  # lower-case names
    body: bytes
    json: Any  # the parsed body, or None when it is not JSON


# --- the fake --------------------------------------------------------------------------


class FakeLLM:
    """The server and its script; see the module docstring."""

    def __init__(self, *, model: str = "fake-model") -> None:
        self.model = model  # what GET /v1/models lists
        self.default: Scripted | None = None
        self.reject_response_formats: set[str] = set()
        # One lock for all shared state; a Condition so tests can wait for handler events.
        self._lock = threading.Condition()
        self._queue: deque[Scripted] = deque()
        self._requests: list[RecordedRequest] = []
        self._disconnects = 0
        self._completed_streams = 0
        self._stopping = threading.Event()
        self._ids = itertools.count(1)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # lifecycle

    def start(self) -> Self:
        if self._server is not None:
            raise RuntimeError("fakellm: already started")
        self._stopping.clear()  # a stopped fake may be started again
        self._server = _Server(self)
        # A short poll interval keeps stop() fast: shutdown() waits for the next poll.
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.01},
            name="fakellm",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping.set()  # wakes handlers that are sleeping through a delay or Stall
        server.shutdown()
        server.server_close()
        server.close_connections()
        if self._thread is not None:
            self._thread.join(timeout=2)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("fakellm: not started")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    # scripting

    def script(self, *responses: Scripted) -> None:
        with self._lock:
            self._queue.extend(responses)

    @property
    def pending(self) -> int:
        """Scripted responses not consumed yet."""
        with self._lock:
            return len(self._queue)

    # what happened

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    @property
    def last_request(self) -> RecordedRequest:
        with self._lock:
            if not self._requests:
                raise LookupError("fakellm: no request received yet")
            return self._requests[-1]

    @property
    def disconnects(self) -> int:
        """Clients that went away before their response was complete.

        That includes a client timing out during a `Stall` or a slow first token.
        """
        with self._lock:
            return self._disconnects

    @property
    def completed_streams(self) -> int:
        """Streams sent in full, up to ``data: [DONE]``."""
        with self._lock:
            return self._completed_streams

    def wait_for_requests(self, timeout: float, *, count: int = 1) -> bool:
        """Wait until `count` requests in all have arrived; False on timeout."""
        with self._lock:
            return self._lock.wait_for(lambda: len(self._requests) >= count, timeout)

    def wait_for_disconnect(self, timeout: float, *, count: int = 1) -> bool:
        """Wait until `count` disconnects in all have been seen; False on timeout."""
        with self._lock:
            return self._lock.wait_for(lambda: self._disconnects >= count, timeout)

    def wait_for_completed_stream(self, timeout: float, *, count: int = 1) -> bool:
        """Wait until `count` streams in all were sent in full; False on timeout.

        The client can see ``[DONE]`` a moment before the handler thread counts it.
        """
        with self._lock:
            return self._lock.wait_for(lambda: self._completed_streams >= count, timeout)

    # used by the handler threads

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(request)
            self._lock.notify_all()

    def _next_response(self) -> Scripted | None:
        with self._lock:
            return self._queue.popleft() if self._queue else self.default

    def _record_disconnect(self) -> None:
        with self._lock:
            self._disconnects += 1
            self._lock.notify_all()

    def _record_completed_stream(self) -> None:
        with self._lock:
            self._completed_streams += 1
            self._lock.notify_all()

    def _next_id(self) -> str:
        with self._lock:
            return f"chatcmpl-fake{next(self._ids)}"


# --- HTTP --------------------------------------------------------------------------------


class _ClientGone(Exception):
    """The client closed its end while we were still answering."""


class _Stopping(Exception):
    """The fake is shutting down; abandon the answer quietly."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # a stalled handler must never hold up stop()

    def __init__(self, fake: FakeLLM) -> None:
        self.fake = fake
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """Unblock handler threads parked on keep-alive connections."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):  # already closed by the client or handler
                connection.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Sockets dying under us is expected (that is what half the scripts are for);
        # anything else is a bug in the fake and should stay visible.
        if isinstance(sys.exc_info()[1], OSError):
            return
        super().handle_error(request, client_address)


@dataclass(frozen=True)
class _Call:
    """One chat-completion request, and what every response chunk repeats from it."""

    id: str
    created: int
    model: str
    stream: bool
    include_usage: bool
    prompt_words: int

    @classmethod
    def of(cls, body: dict[str, Any], completion_id: str) -> _Call:
        options = body.get("stream_options")
        return cls(
            id=completion_id,
            created=int(time.time()),
            model=str(body.get("model", "")),
            stream=body.get("stream") is True,
            include_usage=isinstance(options, dict) and options.get("include_usage") is True,
            prompt_words=_prompt_words(body.get("messages")),
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
        message = {"role": "assistant", "content": reply.text, "refusal": None}
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


class _Handler(BaseHTTPRequestHandler):
    # HTTP/1.1 for keep-alive and chunked streams, as real servers do.
    protocol_version = "HTTP/1.1"
    # Small writes (headers, then body; one SSE event at a time) must leave at once:
    # with Nagle on, each waits for the client's delayed ACK, ~40 ms a response.
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass  # tests read fake.requests; stderr noise helps nobody

    @property
    def _fake(self) -> FakeLLM:
        return self.server.fake

    def _dispatch(self) -> None:
        request = self._read_request()
        self._fake._record(request)
        try:
            if request.method == "POST" and request.path == "/v1/chat/completions":
                self._chat_completion(request)
            elif request.method == "GET" and request.path == "/v1/models":
                self._send_json(200, self._models())
            else:
                message = f"fakellm: no route for {request.method} {request.path}"
                self._send_error(404, message, "invalid_request_error", code="not_found")
        except _ClientGone:
            # stop() closes sockets too; that is not the client leaving.
            if not self._fake._stopping.is_set():
                self._fake._record_disconnect()
            self.close_connection = True
        except _Stopping:
            self.close_connection = True

    # http.server looks handlers up by method name; every method gets a JSON answer.
    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def do_PATCH(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def _read_request(self) -> RecordedRequest:
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        try:
            parsed = json.loads(body) if body else None
        except ValueError:
            parsed = None
        return RecordedRequest(
            method=self.command,
            path=self.path.split("?", 1)[0],
            headers={name.lower(): value for name, value in self.headers.items()},
            body=body,
            json=parsed,
        )

    def _models(self) -> dict[str, Any]:
        model = {"id": self._fake.model, "object": "model", "created": 0, "owned_by": "fakellm"}
        return {"object": "list", "data": [model]}

    # chat completions

    def _chat_completion(self, request: RecordedRequest) -> None:
        body = request.json
        if not isinstance(body, dict):
            self._send_error(400, "fakellm: body is not a JSON object", "invalid_request_error")
            return
        rejected = _response_format_type(body)
        if rejected is not None and rejected in self._fake.reject_response_formats:
            # Checked before the queue so the scripted answer is left for the retry.
            message = f"response_format {rejected} is not supported"
            self._send_error(400, message, "invalid_request_error", param="response_format")
            return
        response = self._fake._next_response()
        if response is None:
            self._send_error(500, "fakellm: no scripted response", "fakellm_error")
            return
        self._answer(_Call.of(body, self._fake._next_id()), response)

    def _answer(self, call: _Call, response: Scripted) -> None:
        if isinstance(response, Failure):
            self._send_failure(response)
        elif isinstance(response, Stall):
            self._pause(response.seconds)
            self._hang_up()
        elif isinstance(response, Garbage):
            self._send_garbage(call, response)
        elif isinstance(response, CutStream):
            self._send_cut(call, response)
        elif call.stream:
            self._stream_reply(call, response)
        else:
            self._pause(response.first_token_delay)
            self._send_json(200, call.completion(response))

    def _stream_reply(self, call: _Call, reply: Reply) -> None:
        null_usage = call.include_usage and reply.usage
        self._start_stream()
        self._pause(reply.first_token_delay)
        self._send_event(call.chunk({"role": "assistant", "content": ""}, null_usage=null_usage))
        for index, piece in enumerate(_pieces(reply.text, reply.chunk_size)):
            if index:
                self._pause(reply.delay_between_chunks)
            self._send_event(call.chunk({"content": piece}, null_usage=null_usage))
        finish = call.chunk({}, finish_reason=reply.finish_reason, null_usage=null_usage)
        self._send_event(finish)
        if null_usage:
            self._send_event(call.usage_chunk(reply))
        self._send_event("[DONE]")
        self._end_stream()
        self._fake._record_completed_stream()

    def _send_cut(self, call: _Call, cut: CutStream) -> None:
        pieces = _pieces(cut.text, cut.chunk_size)[: cut.after_chunks]
        if not call.stream:
            # The non-streaming equivalent: headers promise a body that never fully arrives.
            body = json.dumps(call.completion(Reply(cut.text))).encode()
            self._send_head(200, "application/json", {"Content-Length": str(len(body))})
            self._write(body[: len(body) // 2])
            self._hang_up()
            return
        self._start_stream()
        self._send_event(call.chunk({"role": "assistant", "content": ""}))
        for index, piece in enumerate(pieces):
            if index:
                self._pause(cut.delay_between_chunks)
            self._send_event(call.chunk({"content": piece}))
        self._hang_up()

    def _send_garbage(self, call: _Call, garbage: Garbage) -> None:
        if call.stream:
            self._start_stream()
            self._send_event(garbage.body)
            self._end_stream()
            return
        # Labelled JSON on purpose: with another content type the client would hand back
        # the raw text instead of failing.
        body = garbage.body.encode()
        self._send_head(200, "application/json", {"Content-Length": str(len(body))})
        self._write(body)

    def _send_failure(self, failure: Failure) -> None:
        headers = {}
        if failure.retry_after is not None:
            headers["Retry-After"] = f"{failure.retry_after:g}"
        self._send_error(
            failure.status, failure.message, failure.error_type, code=failure.code, **headers
        )

    # the wire

    def _send_error(
        self,
        status: int,
        message: str,
        error_type: str,
        *,
        code: str | None = None,
        param: str | None = None,
        **headers: str,
    ) -> None:
        error = {"message": message, "type": error_type, "param": param, "code": code}
        self._send_json(status, {"error": error}, headers)

    def _send_json(
        self, status: int, payload: object, headers: dict[str, str] | None = None
    ) -> None:
        body = json.dumps(payload).encode()
        all_headers = {"Content-Length": str(len(body)), **(headers or {})}
        self._send_head(status, "application/json", all_headers)
        self._write(body)

    def _send_head(self, status: int, content_type: str, headers: dict[str, str]) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        for name, value in headers.items():
            self.send_header(name, value)
        try:
            self.end_headers()  # this is where the header bytes hit the socket
        except ConnectionError as error:
            raise _ClientGone from error

    def _start_stream(self) -> None:
        headers = {"Cache-Control": "no-cache", "Transfer-Encoding": "chunked"}
        self._send_head(200, "text/event-stream; charset=utf-8", headers)

    def _send_event(self, data: dict[str, Any] | str) -> None:
        text = data if isinstance(data, str) else json.dumps(data)
        self._write_chunk(f"data: {text}\n\n".encode())

    def _write_chunk(self, data: bytes) -> None:
        self._write(b"%x\r\n%s\r\n" % (len(data), data))

    def _end_stream(self) -> None:
        self._write(b"0\r\n\r\n")

    def _write(self, data: bytes) -> None:
        # One write and flush per event, so a dead socket fails on the next event rather
        # than after a buffer's worth of them.
        try:
            self.wfile.write(data)
            self.wfile.flush()
        except ConnectionError as error:
            raise _ClientGone from error

    def _hang_up(self) -> None:
        """Close without finishing the response; the client sees a truncated body."""
        self.close_connection = True
        with contextlib.suppress(OSError):  # the client beat us to it
            self.connection.shutdown(socket.SHUT_RDWR)

    def _pause(self, seconds: float) -> None:
        """Sleep, but notice at once when the client hangs up or the fake stops."""
        deadline = time.monotonic() + seconds
        while (remaining := deadline - time.monotonic()) > 0:
            if self._fake._stopping.is_set():
                raise _Stopping
            readable, _, _ = select.select([self.connection], [], [], min(remaining, _POLL_SECONDS))
            if readable and self._peer_closed():
                raise _ClientGone
            if readable:
                # The client sent more bytes (pipelining); we cannot poll without spinning.
                if self._fake._stopping.wait(remaining):
                    raise _Stopping
                return

    def _peer_closed(self) -> bool:
        try:
            peeked: bytes = self.connection.recv(1, socket.MSG_PEEK)
        except ConnectionError:
            return True
        return peeked == b""


# --- helpers -----------------------------------------------------------------------------


def _pieces(text: str, size: int) -> list[str]:
    return [text[start : start + size] for start in range(0, len(text), size)]


def _prompt_words(messages: object) -> int:
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


def _response_format_type(body: dict[str, Any]) -> str | None:
    response_format = body.get("response_format")
    if isinstance(response_format, dict):
        kind = response_format.get("type")
        return kind if isinstance(kind, str) else None
    return None


__all__ = [
    "CutStream",
    "Failure",
    "FakeLLM",
    "Garbage",
    "RecordedRequest",
    "Reply",
    "Scripted",
    "Stall",
]
