"""A recording of a model's replies, keyed by a fingerprint of the request that got them.

The evaluation records a real server's replies once (``bench/evals/replay.py record``) and
replays them in CI, where no model can be reached, through a ``FakeLLM`` whose responder
looks each request up here. A request must therefore fingerprint the same on every run:
the fingerprint keeps what decides the answer (the messages, the kind of structured output
asked for) and leaves out what varies between runs without changing the answer: the
random nonce of the fenced blocks (one per session), whether the reply is streamed, and
sampling options.

The file is committed next to the scenarios, so it is written with sorted keys and
indentation: re-recording one scenario changes only that scenario's lines.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .fake import FakeLLM
from .script import Failure, RecordedRequest, Reply, Scripted
from .wire import response_format_type

FORMAT_VERSION = 1
FINGERPRINT_LENGTH = 16
# `<<<PASSAGE 8f3a2c1d9e4b>>>`, `<<<END EXPLANATION ATTEMPT 8f3a2c1d9e4b>>>`
_FENCE_NONCE = re.compile(r"(<<<[A-Z]+(?: [A-Z]+)* )[0-9a-f]{6,32}(>>>)")


def fingerprint(body: dict[str, Any]) -> str:
    """What identifies a chat-completion request across runs: see the module docstring."""
    messages = body.get("messages")
    essence = {
        "messages": [
            [message.get("role"), _mask_nonces(message.get("content"))]
            for message in (messages if isinstance(messages, list) else [])
            if isinstance(message, dict)
        ],
        "response_format": response_format_type(body),
    }
    canonical = json.dumps(essence, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()[:FINGERPRINT_LENGTH]


def _mask_nonces(content: object) -> object:
    # Content is a string, or a list of parts ({"type": "text", "text": ...}).
    if isinstance(content, str):
        return _FENCE_NONCE.sub(r"\1NONCE\2", content)
    if isinstance(content, list):
        return [_mask_nonces(part) for part in content]
    if isinstance(content, dict):
        return {key: _mask_nonces(value) for key, value in content.items()}
    return content


@dataclass(frozen=True)
class RecordedReply:
    text: str
    finish_reason: str | None
    # None when the server did not report usage; the replay then reports none either.
    prompt_tokens: int | None = None
    completion_tokens: int | None = None

    def as_reply(self) -> Reply:
        reported = self.prompt_tokens is not None and self.completion_tokens is not None
        return Reply(
            self.text,
            finish_reason=self.finish_reason,
            usage=reported,
            prompt_tokens=self.prompt_tokens,
            completion_tokens=self.completion_tokens,
        )


@dataclass
class Recording:
    replies: dict[str, RecordedReply] = field(default_factory=dict)
    # What the server said of itself, as JSON bodies: "props" (llama.cpp's GET /props) and
    # "models" (GET /v1/models); the client under test reads its context size there.
    server: dict[str, Any] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)  # free-form: when, which model
    _misses: int = field(default=0, init=False, repr=False, compare=False)
    _used: set[str] = field(default_factory=set, init=False, repr=False, compare=False)
    _lock: threading.Lock = field(
        default_factory=threading.Lock, init=False, repr=False, compare=False
    )

    @property
    def misses(self) -> int:
        """Requests answered with a 500 because nothing was recorded for them."""
        with self._lock:
            return self._misses

    # the file

    @classmethod
    def load(cls, path: Path) -> Recording:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("format") != FORMAT_VERSION:
            raise ValueError(f"{path}: not a recording of format {FORMAT_VERSION}")
        replies = {key: RecordedReply(**entry) for key, entry in data["replies"].items()}
        return cls(replies=replies, server=data.get("server", {}), meta=data.get("meta", {}))

    def save(self, path: Path) -> None:
        data = {
            "format": FORMAT_VERSION,
            "meta": self.meta,
            "server": self.server,
            "replies": {key: asdict(reply) for key, reply in self.replies.items()},
        }
        text = json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
        # Through a temporary file: an interrupted save must not destroy the committed one.
        partial = path.with_name(path.name + ".partial")
        partial.write_text(text, encoding="utf-8")
        partial.replace(path)

    def merge(self, newer: Recording) -> None:
        """Takes in a newer recording: its replies win where both have one."""
        self.replies.update(newer.replies)
        self.server.update(newer.server)
        self.meta.update(newer.meta)

    # replaying

    def responder(self) -> Callable[[RecordedRequest], Scripted]:
        """A ``FakeLLM.responder`` that answers each request with its recorded reply."""

        def answer(request: RecordedRequest) -> Scripted:
            body = request.json if isinstance(request.json, dict) else {}
            key = fingerprint(body)
            recorded = self.replies.get(key)
            if recorded is not None:
                with self._lock:
                    self._used.add(key)
                return recorded.as_reply()
            with self._lock:
                self._misses += 1
            return Failure(
                500,
                f"no recorded reply for this request (fingerprint {key}): re-record the evaluation",
                error_type="replay_miss",
            )

        return answer

    def prune(self) -> int:
        """Drops the replies no request asked for since loading (a prompt changed and they
        were recorded again under the new requests); how many were dropped."""
        with self._lock:
            unused = self.replies.keys() - self._used
        for key in unused:
            del self.replies[key]
        return len(unused)

    def apply_server(self, fake: FakeLLM) -> None:
        """Makes `fake` describe itself as the recorded server did (its context size first)."""
        props = self.server.get("props")
        if isinstance(props, dict):
            fake.props = props
        listing = self.server.get("models")
        entries = listing.get("data") if isinstance(listing, dict) else None
        # The fake lists one model; servers that an evaluation records serve one.
        if entries and isinstance(entries[0], dict) and "id" in entries[0]:
            fake.model = str(entries[0]["id"])
            fake.model_fields = {key: value for key, value in entries[0].items() if key != "id"}
