"""Reading a streamed chat completion off the wire (service/llm/chunks.py)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest

from service.llm.chunks import Chunk, ChunkError, read_chunks


async def reads_of(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


async def chunks_of(*parts: bytes) -> list[Chunk]:
    return [chunk async for chunk in read_chunks(reads_of(*parts))]


async def chunks(text: str) -> list[Chunk]:
    """Each line in a network read of its own: no two events arrive together."""
    return await chunks_of(*(line.encode() for line in text.splitlines(keepends=True)))


def event(data: object) -> str:
    return f"data: {json.dumps(data)}\n\n"


def delta(content: str | None, finish_reason: str | None = None) -> dict:
    choice = {"index": 0, "delta": {"content": content}, "finish_reason": finish_reason}
    return {"choices": [choice]}


async def test_deltas_then_usage_then_done() -> None:
    usage = {"choices": [], "usage": {"prompt_tokens": 12, "completion_tokens": 3}}
    stream = (
        event(delta("Soft"))
        + event(delta("max"))
        + event(delta(None, "stop"))
        + event(usage)
        + "data: [DONE]\n\n"
        + event(delta("after the end"))
    )
    assert await chunks(stream) == [
        Chunk("Soft", None, None),
        Chunk("max", None, None),
        Chunk("", "stop", None),
        Chunk("", None, (12, 3)),
    ]


async def test_comments_other_fields_and_missing_space_are_tolerated() -> None:
    stream = (
        ": keep-alive\n\n"
        + "event: message\nid: 7\n"
        + f"data:{json.dumps(delta('a'))}\n\n"
        + "retry: 1000\n\n"
    )
    assert await chunks(stream) == [Chunk("a", None, None)]


async def test_data_over_several_lines_is_one_event() -> None:
    body = json.dumps(delta("x"), indent=1).split("\n")
    stream = "".join(f"data: {line}\n" for line in body) + "\n"
    assert await chunks(stream) == [Chunk("x", None, None)]


async def test_a_stream_without_done_ends_with_its_last_event() -> None:
    assert await chunks(f"data: {json.dumps(delta('end', 'length'))}") == [
        Chunk("end", "length", None)
    ]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("this is not json {", "not JSON"),
        ("[1, 2]", "not a JSON object"),
        (json.dumps({"error": {"message": "overloaded"}}), "reported an error: overloaded"),
        (json.dumps({"error": "quota"}), "reported an error: quota"),
    ],
)
async def test_what_is_not_a_chunk_is_an_error(data: str, message: str) -> None:
    with pytest.raises(ChunkError, match=message):
        await chunks(event(delta("ok")) + f"data: {data}\n\n")


async def test_events_that_arrive_together_are_one_chunk() -> None:
    usage = {"choices": [], "usage": {"prompt_tokens": 12, "completion_tokens": 3}}
    together = (event(delta("Soft")) + event(delta("max"))).encode()
    ending = (event(delta(" is", "stop")) + event(usage) + "data: [DONE]\n\n").encode()
    assert await chunks_of(together, ending) == [
        Chunk("Softmax", None, None),
        Chunk(" is", "stop", (12, 3)),
    ]


async def test_a_read_may_end_anywhere_even_inside_a_character_or_a_crlf() -> None:
    wire = (event(delta("θ → 2π")) + event(delta("!"))).replace("\n", "\r\n").encode()
    for cut in range(1, len(wire)):
        pieces = await chunks_of(wire[:cut], wire[cut:])
        assert "".join(piece.text for piece in pieces) == "θ → 2π!", cut


async def test_cr_and_lf_alone_end_lines_but_unicode_line_separators_do_not() -> None:
    text = "one\u2028two"  # JSON may carry U+2028 unescaped
    wire = "data: " + json.dumps(delta(text), ensure_ascii=False) + "\r\r"
    wire += "data: " + json.dumps(delta("!")) + "\n\n"
    assert await chunks_of(wire.encode()) == [Chunk(text + "!", None, None)]


async def test_the_text_before_an_error_in_the_same_read_is_kept() -> None:
    failing = event(delta("partial")) + event({"error": {"message": "overloaded"}})
    reader = read_chunks(reads_of(failing.encode()))
    assert await anext(reader) == Chunk("partial", None, None)
    with pytest.raises(ChunkError, match="overloaded"):
        await anext(reader)
