"""``FakeLLM``: the object tests hold. It starts and stops the server, queues the script,
and records what the handlers saw so that tests can assert on it or wait for it.

Besides the settings listed in the package docstring (``fakellm``), a test can set
``fake.responder``: a function of the ``RecordedRequest`` consulted for each chat-completion
request before the scripted queue. What it returns is the answer; None falls through to
the queue, then to ``fake.default``. It runs on a handler thread, so it must be
thread-safe; ``fakellm.recording.Recording.responder`` is one.
"""

from __future__ import annotations

import itertools
import threading
from collections import deque
from collections.abc import Callable
from types import TracebackType
from typing import Any, Self

from .script import RecordedRequest, Scripted
from .server import Server


class FakeLLM:
    """The server and its script; see the package docstring (``fakellm``)."""

    def __init__(self, *, model: str = "fake-model") -> None:
        self.model = model  # what GET /v1/models lists
        self.default: Scripted | None = None
        self.responder: Callable[[RecordedRequest], Scripted | None] | None = None
        self.reject_response_formats: set[str] = set()
        # Behaviours of real servers, off by default (see the package docstring).
        self.refuse_max_tokens = False
        self.refuse_streaming = False
        self.context_tokens: int | None = None
        self.props: dict[str, Any] | None = None
        self.model_fields: dict[str, Any] = {}
        self.ollama_show: dict[str, Any] | None = None
        # One lock for all shared state; a Condition so tests can wait for handler events.
        self._lock = threading.Condition()
        self._queue: deque[Scripted] = deque()
        self._requests: list[RecordedRequest] = []
        self._other_requests: list[RecordedRequest] = []
        self._disconnects = 0
        self._completed_streams = 0
        self._connections = 0
        self._stopping = threading.Event()
        self._ids = itertools.count(1)
        # The request each handler thread is answering: the handler records it before it
        # asks for a response, and the responder needs to see it.
        self._handling = threading.local()
        self._server: Server | None = None
        self._thread: threading.Thread | None = None

    # lifecycle

    def start(self) -> Self:
        if self._server is not None:
            raise RuntimeError("fakellm: already started")
        self._stopping.clear()  # a stopped fake may be started again
        self._server = Server(self)
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

    def reset(self) -> None:
        """Forgets the script, the default and what was recorded: a fresh fake, same port."""
        with self._lock:
            self._queue.clear()
            self._requests.clear()
            self._other_requests.clear()
            self._disconnects = 0
            self._completed_streams = 0
            self.default = None
            self.responder = None
            self.reject_response_formats = set()
            self.refuse_max_tokens = False
            self.refuse_streaming = False
            self.context_tokens = None
            self.props = None
            self.model_fields = {}
            self.ollama_show = None

    @property
    def pending(self) -> int:
        """Scripted responses not consumed yet."""
        with self._lock:
            return len(self._queue)

    # what happened

    @property
    def requests(self) -> list[RecordedRequest]:
        """The chat-completion requests: the model calls."""
        with self._lock:
            return list(self._requests)

    @property
    def other_requests(self) -> list[RecordedRequest]:
        """Every other request: a client asking what the server is (/props, /v1/models)."""
        with self._lock:
            return list(self._other_requests)

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

    @property
    def connections(self) -> int:
        """TCP connections clients have opened: a client that keeps its connection
        alive sends many requests over one."""
        with self._lock:
            return self._connections

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
        self._handling.request = request
        with self._lock:
            if request.method == "POST" and request.path == "/v1/chat/completions":
                self._requests.append(request)
            else:
                self._other_requests.append(request)
            self._lock.notify_all()

    def _next_response(self) -> Scripted | None:
        responder = self.responder
        request: RecordedRequest | None = getattr(self._handling, "request", None)
        # Outside the lock: the responder is the test's code and may take its own locks.
        if responder is not None and request is not None:
            answer = responder(request)
            if answer is not None:
                return answer
        with self._lock:
            return self._queue.popleft() if self._queue else self.default

    def _record_disconnect(self) -> None:
        with self._lock:
            self._disconnects += 1
            self._lock.notify_all()

    def _record_connection(self) -> None:
        with self._lock:
            self._connections += 1

    def _record_completed_stream(self) -> None:
        with self._lock:
            self._completed_streams += 1
            self._lock.notify_all()

    def _next_id(self) -> str:
        with self._lock:
            return f"chatcmpl-fake{next(self._ids)}"
