"""Offline token counting and fitting a chat into its budget."""

from __future__ import annotations

import pytest

from service.llm.tokens import (
    DROP_STEP,
    OFFLINE_ENCODING,
    ChatMessage,
    PromptTooLong,
    count_chat,
    count_text,
    encoding_for,
    fit_history,
)


def test_counts_offline_with_the_bundled_encoding(
    monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path))  # an empty cache
    encoding_for.cache_clear()
    try:
        assert encoding_for("gpt-4o").name == OFFLINE_ENCODING
        assert encoding_for("llama3.1:8b").name == OFFLINE_ENCODING
        assert encoding_for(None).name == OFFLINE_ENCODING
    finally:
        encoding_for.cache_clear()
    assert count_text("hello world") == 2
    assert count_text("") == 0


def test_special_tokens_in_learner_text_are_plain_text() -> None:
    # encode() would raise on this; a passage may well quote it.
    assert count_text("GPT-2 ends documents with <|endoftext|>.") > 5


def test_chat_framing_costs_three_per_message_and_three_for_the_reply() -> None:
    messages = [ChatMessage.of("system", "hello world"), ChatMessage.of("user", "hi")]
    assert count_chat(messages) == (2 + 3) + (1 + 3) + 3


def _turn(role: str, tokens: int, label: str) -> ChatMessage:
    return ChatMessage(role=role, content=label, tokens=tokens)


def test_everything_fits() -> None:
    head = [_turn("system", 10, "system")]
    history = [_turn("user", 10, "q1"), _turn("assistant", 10, "a1")]
    tail = [_turn("user", 10, "q2")]
    fitted = fit_history(pinned_head=head, history=history, pinned_tail=tail, budget=1000)
    assert [m.content for m in fitted] == ["system", "q1", "a1", "q2"]


def _exchanges(count: int, *, question: int = 50, answer: int = 200) -> list[ChatMessage]:
    turns = []
    for n in range(1, count + 1):
        turns += [_turn("user", question, f"q{n}"), _turn("assistant", answer, f"a{n}")]
    return turns


def test_oldest_turns_leave_first_and_no_answer_keeps_its_question_missing() -> None:
    head = [_turn("system", 100, "system")]
    history = [_turn("user", 100, "passage"), *_exchanges(4)]
    tail = [_turn("user", 50, "q5")]
    # passage, q1..q4 and a1..a4 cost 1124 with framing; 1024 must go: q1, a1, q2, a2
    # would do (521), but turns leave DROP_STEP at a time: a2 also leaves with q2, and
    # then q3's answer needs its question, so the step is the first four turns exactly.
    assert DROP_STEP == 4
    fitted = fit_history(pinned_head=head, history=history, pinned_tail=tail, budget=1000, keep=0)
    assert [m.content for m in fitted] == ["system", "passage", "q3", "a3", "q4", "a4", "q5"]
    assert count_chat(fitted) <= 1000


def test_an_answer_never_stands_without_its_question() -> None:
    head = [_turn("system", 100, "system")]
    # Dropping one turn (q1) is enough, and a step of four takes q1, a1, q2, a2; with
    # the passage kept, a step that ended on a question would leave its answer first.
    history = [_turn("user", 100, "passage"), _turn("user", 50, "q1"), *_exchanges(3)[1:]]
    tail = [_turn("user", 50, "q4")]
    fitted = fit_history(pinned_head=head, history=history, pinned_tail=tail, budget=700, keep=0)
    contents = [m.content for m in fitted]
    assert contents[:2] == ["system", "passage"]
    assert contents[2].startswith("q")
    assert contents[-1] == "q4"


def test_the_cut_holds_still_while_the_session_grows() -> None:
    """A prompt cache reuses the longest common prefix: with one turn more, the prompt
    must keep the same first turns (not drop one more each turn)."""
    head = [_turn("system", 100, "system")]
    budget = 1500
    cuts = []
    for exchanges in range(4, 12):
        history = [_turn("user", 100, "passage"), *_exchanges(exchanges)]
        fitted = fit_history(
            pinned_head=head,
            history=history,
            pinned_tail=[_turn("user", 50, "q")],
            budget=budget,
            keep=0,
        )
        assert count_chat(fitted) <= budget
        cuts.append(fitted[2].content)  # the first turn after the passage
    # The cut moves in steps of two exchanges, not at every turn.
    assert len(set(cuts)) <= len(cuts) // 2 + 1


def test_the_pinned_parts_alone_too_big() -> None:
    with pytest.raises(PromptTooLong) as caught:
        fit_history(
            pinned_head=[_turn("system", 500, "s")],
            history=[],
            pinned_tail=[_turn("user", 600, "q")],
            budget=1000,
        )
    assert caught.value.needed == 500 + 600 + 3 + 3 + 3
