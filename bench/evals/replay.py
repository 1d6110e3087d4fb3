"""Record a model server's replies for the evaluation once, and replay them where no model
can be reached (CI).

    .venv/bin/python -m bench.evals.replay record RECORDING --upstream URL -- COMMAND...
    .venv/bin/python -m bench.evals.replay play RECORDING -- COMMAND...

Run them from the repository root: the fake model server `play` uses is the test suite's
(`tests.fakellm`).

`record` puts a proxy on loopback in front of the upstream server (an OpenAI-compatible
base URL such as llama-server's http://127.0.0.1:8080/v1), runs COMMAND with
TUTOR_LLM_BASE_URL pointing at the proxy, and saves every chat-completion reply under the
fingerprint of its request (``fakellm.recording``), merged into RECORDING if it exists,
with what the server said of itself (GET /props, GET /v1/models). The client sees the
upstream's answers byte for byte, streams as they arrive.

`play` serves RECORDING from a ``FakeLLM`` on loopback and runs COMMAND against it. It exits
with the command's code, or with 3 when any request had no recorded reply: the recording
is stale and must be made again, even if the command coped with the errors.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from tests.fakellm import FakeLLM
from tests.fakellm.recording import RecordedReply, Recording, fingerprint
from tests.fakellm.wire import LAST_CHUNK, http_chunk

EXIT_STALE_RECORDING = 3
EXIT_COMMAND_NOT_FOUND = 127
# Headers about one hop's connection or framing: the proxy frames its own answers, and
# asks the upstream for an uncompressed body so that it can read what it records.
_HOP_HEADERS = frozenset(
    {
        "accept-encoding",
        "connection",
        "content-encoding",
        "content-length",
        "host",
        "keep-alive",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)
# A local model can think for minutes before its first token; the command under test has
# its own timeouts, and the proxy must not be stricter than they are.
_UPSTREAM_TIMEOUT = httpx.Timeout(None, connect=10.0)


# --- what a reply says ---------------------------------------------------------------------


def reply_from_body(body: bytes, content_type: str) -> RecordedReply | None:
    """The reply in a chat-completion answer, or None when it is incomplete."""
    if content_type.startswith("text/event-stream"):
        return _reply_from_stream(body)
    try:
        payload = json.loads(body)
    except ValueError:
        return None
    choices = payload.get("choices") if isinstance(payload, dict) else None
    if not choices or not isinstance(choices[0], dict):
        return None
    message = choices[0].get("message") or {}
    # reasoning_content is the model's thinking, never the answer: not kept.
    return RecordedReply(
        str(message.get("content") or ""),
        choices[0].get("finish_reason"),
        *_tokens(payload.get("usage")),
    )


def _reply_from_stream(body: bytes) -> RecordedReply | None:
    parts: list[str] = []
    finish_reason: str | None = None
    tokens: tuple[int | None, int | None] = (None, None)
    done = False
    for line in body.decode("utf-8", errors="replace").splitlines():
        if not line.startswith("data:"):
            continue  # blank separators, comments, event names
        data = line.removeprefix("data:").strip()
        if data == "[DONE]":
            done = True
            continue
        try:
            chunk = json.loads(data)
        except ValueError:
            return None  # a garbled stream: the client failed on it too
        if not isinstance(chunk, dict):
            return None
        for choice in chunk.get("choices") or ():
            content = (choice.get("delta") or {}).get("content")
            if isinstance(content, str):
                parts.append(content)
            finish_reason = choice.get("finish_reason") or finish_reason
        if isinstance(chunk.get("usage"), dict):
            tokens = _tokens(chunk["usage"])
    # A stream that neither said why it finished nor ended with [DONE] was cut.
    if finish_reason is None and not done:
        return None
    return RecordedReply("".join(parts), finish_reason, *tokens)


def _tokens(usage: object) -> tuple[int | None, int | None]:
    if not isinstance(usage, dict):
        return None, None
    return usage.get("prompt_tokens"), usage.get("completion_tokens")


# --- the recording proxy -------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    """An upstream answer that got through to the client in full."""

    status: int
    content_type: str
    body: bytes


class RecordingProxy(ThreadingHTTPServer):
    """Forwards every request to the upstream server and records what it answers."""

    daemon_threads = True
    block_on_close = False

    def __init__(self, upstream: str) -> None:
        parts = urlsplit(upstream)
        self.upstream = upstream
        self.upstream_origin = f"{parts.scheme}://{parts.netloc}"
        self.path_prefix = parts.path.rstrip("/")  # /v1: the client's base URL keeps it
        self.recording = Recording(meta={"upstream": upstream})
        self.http = httpx.Client(timeout=_UPSTREAM_TIMEOUT, follow_redirects=False)
        self._lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), ProxyHandler)

    @property
    def base_url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}{self.path_prefix}"

    @contextlib.contextmanager
    def running(self) -> Iterator[RecordingProxy]:
        # A short poll interval keeps shutdown() quick: it waits for the next poll.
        serving = threading.Thread(
            target=self.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )
        serving.start()
        try:
            yield self
        finally:
            self.shutdown()
            self.server_close()
            self.http.close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hangs up mid-answer is what a cancelled run looks like; anything
        # else is a bug in the proxy and should stay visible.
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)

    def remember(self, method: str, path: str, request: bytes, answer: Answer) -> None:
        """Keeps what a complete 200 answer teaches: a reply, or the server's self-description."""
        route = path.split("?", 1)[0]
        if answer.status != 200:
            return
        if method == "POST" and route.endswith("/chat/completions"):
            self._remember_reply(request, answer)
        elif method == "GET" and route == "/props":
            self._remember_description("props", answer)
        elif method == "GET" and route in {f"{self.path_prefix}/models", "/v1/models", "/models"}:
            self._remember_description("models", answer)

    def _remember_reply(self, request: bytes, answer: Answer) -> None:
        try:
            body = json.loads(request)
        except ValueError:
            return  # a server that answered it anyway: there is no request to key it by
        reply = reply_from_body(answer.body, answer.content_type)
        if not isinstance(body, dict) or reply is None:
            return
        with self._lock:
            self.recording.replies[fingerprint(body)] = reply
            # The name the command asked for; what the server runs is in its description.
            self.recording.meta["model"] = body.get("model")

    def _remember_description(self, name: str, answer: Answer) -> None:
        with contextlib.suppress(ValueError):  # not JSON: nothing a client could read either
            description = json.loads(answer.body)
            with self._lock:
                self.recording.server[name] = description


class ProxyHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive and chunked answers, as the upstream gives
    disable_nagle_algorithm = True  # one SSE event per write must leave at once
    server: RecordingProxy

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the command's own output is what the person running it reads

    def do_GET(self) -> None:
        self._forward()

    def do_POST(self) -> None:
        self._forward()

    def do_PUT(self) -> None:
        self._forward()

    def do_PATCH(self) -> None:
        self._forward()

    def do_DELETE(self) -> None:
        self._forward()

    def _forward(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        request = self.rfile.read(length) if length else b""
        upstream = self.server.http.build_request(
            self.command,
            self.server.upstream_origin + self.path,
            headers=self._upstream_headers(),
            content=request,
        )
        try:
            answer = self.server.http.send(upstream, stream=True)
        except httpx.HTTPError as error:
            self._send_unreachable(error)
            return
        with contextlib.closing(answer):
            body = self._relay(answer)
        if body is None:
            return
        content_type = answer.headers.get("content-type", "")
        complete = Answer(answer.status_code, content_type, body)
        # Kept before the client sees the answer end: whoever acts on an answer (the
        # command finishing, the recording then saved) finds its reply recorded.
        self.server.remember(self.command, self.path, request, complete)
        try:
            self.wfile.write(LAST_CHUNK)
        except OSError:
            self.close_connection = True  # the client left; the upstream's answer was whole

    def _upstream_headers(self) -> dict[str, str]:
        headers = {
            name: value for name, value in self.headers.items() if name.lower() not in _HOP_HEADERS
        }
        return {**headers, "Accept-Encoding": "identity"}

    def _relay(self, answer: httpx.Response) -> bytes | None:
        """Passes the answer on as it arrives, all but its last chunk; its body, or None
        when it did not all get through."""
        received: list[bytes] = []
        try:
            self.send_response_only(answer.status_code, answer.reason_phrase)
            for name, value in answer.headers.multi_items():
                if name.lower() not in _HOP_HEADERS:
                    self.send_header(name, value)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for data in answer.iter_bytes():
                received.append(data)
                self.wfile.write(http_chunk(data))
        except (httpx.HTTPError, OSError):
            # The upstream cut its answer (the client must see a cut too: no last chunk),
            # or the client left. Either way the reply is incomplete: nothing to record.
            self.close_connection = True
            return None
        return b"".join(received)

    def _send_unreachable(self, error: httpx.HTTPError) -> None:
        message = f"replay proxy: the upstream {self.server.upstream} did not answer: {error}"
        body = json.dumps({"error": {"message": message, "type": "upstream_unreachable"}})
        self.send_response(502)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body.encode())))
        self.end_headers()
        self.wfile.write(body.encode())


# --- the two commands ----------------------------------------------------------------------


def run_command(command: Sequence[str], environment: dict[str, str]) -> int:
    """Runs `command` with its output on ours; its exit code."""
    try:
        return subprocess.run(command, env=environment, check=False).returncode  # noqa: S603
    except FileNotFoundError:
        print(f"replay: no such command: {command[0]}", file=sys.stderr)
        return EXIT_COMMAND_NOT_FOUND


def play(recording_path: Path, command: Sequence[str], *, prune: bool = False) -> int:
    recording = Recording.load(recording_path)
    with FakeLLM() as fake:
        recording.apply_server(fake)
        fake.responder = recording.responder()
        environment = {**os.environ, "TUTOR_LLM_BASE_URL": fake.base_url}
        # The client wants some key; Tutor reads an empty one as none.
        if not environment.get("TUTOR_LLM_API_KEY", "").strip():
            environment["TUTOR_LLM_API_KEY"] = "replay"
        code = run_command(command, environment)
    if recording.misses:
        print(
            f"replay: {recording.misses} requests had no recorded reply: "
            "re-record with `replay.py record`",
            file=sys.stderr,
        )
        return EXIT_STALE_RECORDING
    if prune and code == 0:
        dropped = recording.prune()
        recording.save(recording_path)
        print(f"replay: dropped {dropped} replies no request asked for", file=sys.stderr)
    return code


def record(recording_path: Path, upstream: str, command: Sequence[str]) -> int:
    with RecordingProxy(upstream).running() as proxy:
        code = run_command(command, {**os.environ, "TUTOR_LLM_BASE_URL": proxy.base_url})
    fresh = proxy.recording
    fresh.meta["recorded_at"] = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    recording = Recording.load(recording_path) if recording_path.exists() else Recording()
    recording.merge(fresh)
    recording.save(recording_path)
    print(
        f"replay: recorded {len(fresh.replies)} replies into {recording_path} "
        f"({len(recording.replies)} in all)",
        file=sys.stderr,
    )
    return code


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    commands = parser.add_subparsers(dest="action", required=True)
    play_parser = commands.add_parser(
        "play", help="run COMMAND against a recording", usage="%(prog)s RECORDING -- COMMAND..."
    )
    record_parser = commands.add_parser(
        "record",
        help="run COMMAND and record the replies",
        usage="%(prog)s RECORDING --upstream URL -- COMMAND...",
    )
    record_parser.add_argument(
        "--upstream",
        default=os.environ.get("TUTOR_LLM_BASE_URL"),
        required="TUTOR_LLM_BASE_URL" not in os.environ,
        help="the real server's base URL, e.g. http://127.0.0.1:8080/v1 "
        "(default: TUTOR_LLM_BASE_URL)",
    )
    play_parser.add_argument(
        "--prune",
        action="store_true",
        help="after a run that asked for every request it needed (exit 0), drop the "
        "replies it did not ask for (left behind by re-recording after a prompt change)",
    )
    for subparser in (play_parser, record_parser):
        subparser.add_argument("recording", type=Path, help="the recording's JSON file")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    # Everything after `--` is the command's own: argparse must not read its options.
    split = arguments.index("--") if "--" in arguments else len(arguments)
    parser = _parser()
    options = parser.parse_args(arguments[:split])
    command = arguments[split + 1 :]
    if not command:
        parser.error("no command to run: add -- COMMAND...")
    if options.action == "play":
        if not options.recording.is_file():
            parser.error(f"no recording at {options.recording}: make one with `replay.py record`")
        return play(options.recording, command, prune=options.prune)
    return record(options.recording, options.upstream, command)


if __name__ == "__main__":
    sys.exit(main())
