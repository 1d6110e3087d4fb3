"""The answer filter: thinking and copied block markers out, everything else in, however
the text is split into pieces as it streams."""

from __future__ import annotations

import pytest

from service.llm.answer_filter import AnswerFilter, without_orphan_thinking

CASES = [
    # (what the model wrote, the answer)
    ("Plain answer.", "Plain answer."),
    (
        "<think>I should explain scaling.</think>\n\nScaling keeps softmax soft.",
        "Scaling keeps softmax soft.",
    ),
    ("\n  <thinking>hmm</thinking>The answer.", "The answer."),
    ("<think>never closed, the budget ran out", ""),
    ("Scaling helps.\n<<<END QUESTION 0a1b2c3d4e5f>>>\n", "Scaling helps.\n"),
    (
        "<<<PASSAGE 0a1b2c3d4e5f>>>\nquoted\n<<<END PASSAGE 0a1b2c3d4e5f>>>\nAnswer",
        "quoted\nAnswer",
    ),
    ("<<<END PASSAGE>>>Answer", "Answer"),  # copied without its nonce
    ("Answer.\n<<<END PASSAGE 67a1af24fe50>>\n", "Answer.\n"),  # or with a bracket short
    # Not reasoning, not markers: kept as written.
    ("R1 writes `<think>` first, then `</think>`.", "R1 writes `<think>` first, then `</think>`."),
    (
        "kernel<<<blocks, threads>>>(x) and a < b and <b>bold</b>",
        "kernel<<<blocks, threads>>>(x) and a < b and <b>bold</b>",
    ),
    ("<<<NOT A BLOCK 1234>>> stays", "<<<NOT A BLOCK 1234>>> stays"),
]


def _filtered(text: str, size: int) -> str:
    answer_filter = AnswerFilter()
    pieces = [answer_filter.feed(text[i : i + size]) for i in range(0, len(text), size)]
    return "".join(pieces) + answer_filter.end()


@pytest.mark.parametrize(("written", "answer"), CASES)
@pytest.mark.parametrize("size", [1, 2, 3, 7, 1000])
def test_the_answer_is_the_same_however_it_is_split(written: str, answer: str, size: int) -> None:
    assert _filtered(written, size) == answer


def test_text_is_released_as_soon_as_it_cannot_be_a_tag() -> None:
    answer_filter = AnswerFilter()
    assert answer_filter.feed("Hel") == "Hel"
    assert answer_filter.feed("lo <") == "lo "  # "<" may begin a marker: held
    assert answer_filter.feed("3") == "<3"


@pytest.mark.parametrize(
    ("text", "answer"),
    [
        ("thinking, its tag in the prompt\n</think>\n\nThe answer.", "The answer."),
        (
            "<think>a</think>\nThe answer, then\n</think>\n",
            "<think>a</think>\nThe answer, then\n</think>\n",
        ),
        ("No thinking at all.", "No thinking at all."),
    ],
)
def test_a_lone_closing_tag_ends_the_thinking_before_it(text: str, answer: str) -> None:
    assert without_orphan_thinking(text) == answer
