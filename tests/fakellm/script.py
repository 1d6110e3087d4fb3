"""What a test scripts (one response per chat-completion request) and what the fake records."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeAlias


@dataclass(frozen=True)
class Reply:
    """A successful answer, as JSON or as an SSE stream depending on the request."""

    text: str
    chunk_size: int = 4  # characters per streamed content delta
    first_token_delay: float = 0.0  # streams: after the headers, before the first chunk
    # Before the headers: a server that reads the whole prompt before it answers at all.
    headers_delay: float = 0.0
    delay_between_chunks: float = 0.0
    # None: a stream that ends with [DONE] but never says why it finished.
    finish_reason: str | None = "stop"
    # A reasoning model's thinking, sent apart from the answer as `reasoning_content`
    # (DeepSeek's API, vLLM and llama.cpp with a reasoning parser); before the text.
    reasoning: str = ""
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
    # A server dies between two tokens, not in the instant it sent one: a client that
    # reads a moment late must still find the text that came before the hang-up.
    hang_up_after: float = 0.05


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
