"""The HTTP side: a threading server on loopback and the handler that plays the script.

The handler turns one scripted response into bytes on the socket, pausing and hanging up
as told, and reports back to its ``FakeLLM`` what it saw. Bodies and framing come from
``fakellm.wire``.
"""

from __future__ import annotations

import contextlib
import json
import select
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from .script import CutStream, Failure, Garbage, RecordedRequest, Reply, Scripted, Stall
from .wire import (
    LAST_CHUNK,
    MAX_TOKENS_REFUSAL,
    STREAMING_REFUSAL,
    Call,
    context_overflow,
    count_prompt_words,
    error_body,
    http_chunk,
    models_list,
    response_format_type,
    split_text,
    sse_event,
)

if TYPE_CHECKING:
    # Only for annotations: fakellm.fake imports this module to start the server.
    from .fake import FakeLLM

# How often waiting handlers look at their socket; bounds disconnect-detection latency.
_POLL_SECONDS = 0.02


class _ClientGone(Exception):
    """The client closed its end while we were still answering."""


class _Stopping(Exception):
    """The fake is shutting down; abandon the answer quietly."""


class Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # a stalled handler must never hold up stop()

    def __init__(self, fake: FakeLLM) -> None:
        self.fake = fake
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        self.fake._record_connection()
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


class Handler(BaseHTTPRequestHandler):
    # HTTP/1.1 for keep-alive and chunked streams, as real servers do.
    protocol_version = "HTTP/1.1"
    # Small writes (headers, then body; one SSE event at a time) must leave at once:
    # with Nagle on, each waits for the client's delayed ACK, ~40 ms a response.
    disable_nagle_algorithm = True
    server: Server

    def log_message(self, format: str, *args: Any) -> None:
        pass  # tests read fake.requests; stderr noise helps nobody

    @property
    def _fake(self) -> FakeLLM:
        return self.server.fake

    def _dispatch(self) -> None:
        request = self._read_request()
        self._fake._record(request)
        try:
            route = (request.method, request.path)
            if route == ("POST", "/v1/chat/completions"):
                self._chat_completion(request)
            elif route == ("GET", "/v1/models"):
                self._send_json(200, models_list(self._fake.model, self._fake.model_fields))
            elif route == ("GET", "/props") and self._fake.props is not None:
                self._send_json(200, self._fake.props)
            elif route == ("POST", "/api/show") and self._fake.ollama_show is not None:
                self._send_json(200, self._fake.ollama_show)
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

    # chat completions

    def _chat_completion(self, request: RecordedRequest) -> None:
        body = request.json
        if not isinstance(body, dict):
            self._send_error(400, "fakellm: body is not a JSON object", "invalid_request_error")
            return
        # Refusals are checked before the queue, so the scripted answer is left for the retry.
        if self._fake.refuse_max_tokens and "max_tokens" in body:
            self._send_json(400, MAX_TOKENS_REFUSAL)
            return
        if self._fake.refuse_streaming and body.get("stream"):
            self._send_json(400, STREAMING_REFUSAL)
            return
        rejected = response_format_type(body)
        if rejected is not None and rejected in self._fake.reject_response_formats:
            message = f"response_format {rejected} is not supported"
            self._send_error(400, message, "invalid_request_error", param="response_format")
            return
        context = self._fake.context_tokens
        prompt_words = count_prompt_words(body.get("messages"))
        if context is not None and prompt_words > context:
            self._send_json(400, context_overflow(prompt_words, context))
            return
        response = self._fake._next_response()
        if response is None:
            self._send_error(500, "fakellm: no scripted response", "fakellm_error")
            return
        self._answer(Call.of(body, self._fake._next_id()), response)

    def _answer(self, call: Call, response: Scripted) -> None:
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
            self._pause(response.headers_delay)
            self._stream_reply(call, response)
        else:
            self._pause(response.headers_delay + response.first_token_delay)
            self._send_json(200, call.completion(response))

    def _stream_reply(self, call: Call, reply: Reply) -> None:
        null_usage = call.include_usage and reply.usage
        self._start_stream()
        self._pause(reply.first_token_delay)
        self._send_event(call.chunk({"role": "assistant", "content": ""}, null_usage=null_usage))
        for piece in split_text(reply.reasoning, reply.chunk_size):
            self._send_event(call.chunk({"reasoning_content": piece}, null_usage=null_usage))
        for index, piece in enumerate(split_text(reply.text, reply.chunk_size)):
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

    def _send_cut(self, call: Call, cut: CutStream) -> None:
        pieces = split_text(cut.text, cut.chunk_size)[: cut.after_chunks]
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
        self._pause(cut.hang_up_after)
        self._hang_up()

    def _send_garbage(self, call: Call, garbage: Garbage) -> None:
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
        body = error_body(message, error_type, code=code, param=param)
        self._send_json(status, body, headers)

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
        self._write(http_chunk(sse_event(text)))

    def _end_stream(self) -> None:
        self._write(LAST_CHUNK)

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
