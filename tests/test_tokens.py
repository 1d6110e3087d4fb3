"""Offline token counting and fitting a chat into its budget."""

from __future__ import annotations

import pytest

from service.llm.tokens import (
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


def test_oldest_turns_leave_first_and_no_answer_keeps_its_question_missing() -> None:
    head = [_turn("system", 100, "system"), _turn("user", 100, "passage")]
    history = [
        _turn("user", 50, "q1"),
        _turn("assistant", 200, "a1"),
        _turn("user", 50, "q2"),
        _turn("assistant", 200, "a2"),
    ]
    tail = [_turn("user", 50, "q3")]
    # head + tail = 250 + 9 framing; a2 and q2 fit (+256), a1 would not.
    fitted = fit_history(pinned_head=head, history=history, pinned_tail=tail, budget=540)
    assert [m.content for m in fitted] == ["system", "passage", "q2", "a2", "q3"]
    assert count_chat(fitted) <= 540
    # With room for a1 but not q1, a1 goes too rather than standing without its question.
    fitted = fit_history(pinned_head=head, history=history, pinned_tail=tail, budget=760)
    assert [m.content for m in fitted] == ["system", "passage", "q2", "a2", "q3"]


def test_the_pinned_parts_alone_too_big() -> None:
    with pytest.raises(PromptTooLong) as caught:
        fit_history(
            pinned_head=[_turn("system", 500, "s")],
            history=[],
            pinned_tail=[_turn("user", 600, "q")],
            budget=1000,
        )
    assert caught.value.needed == 500 + 600 + 3 + 3 + 3
