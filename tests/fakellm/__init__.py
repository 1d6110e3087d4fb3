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
consumes nothing.

What real servers do, off by default, each a 400 that consumes nothing:
``fake.refuse_max_tokens`` (OpenAI's reasoning models, word for word),
``fake.refuse_streaming`` (OpenAI, for an organisation not verified to stream a model),
``fake.context_tokens`` (a prompt with more words than that: llama.cpp's refusal, with
its ``n_ctx``). What servers say of themselves: ``fake.props`` (llama.cpp's ``GET
/props``), ``fake.model_fields`` (extra fields of the ``/v1/models`` entry, such as
vLLM's ``max_model_len``), ``fake.ollama_show`` (``POST /api/show``). ``fake.requests``
holds the chat completions; ``fake.other_requests`` everything else. The ``wait_for_*``
methods block: call them from async tests through
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

The package, one concept per module: ``script`` (what a test scripts, and what the fake
records), ``wire`` (Chat Completions bodies, SSE events and chunked framing, as bytes and
dicts), ``server`` (the HTTP server and handler that put them on the socket) and ``fake``
(``FakeLLM``: lifecycle, the queue, and what tests observe).
"""

from .fake import FakeLLM
from .script import (
    CutStream,
    Failure,
    Garbage,
    RecordedRequest,
    Reply,
    Scripted,
    Stall,
)

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
