"""Cloze parsing and the quality flags of flashcard drafts, on real cards from ML papers."""

from __future__ import annotations

import pytest

from service.cards.cloze import Deletion, deletions, hide, plain, reveal
from service.cards.quality import (
    ALL_FLAGS,
    ANSWER_TOO_LONG,
    CLOZE_DELETIONS,
    EMPTY_SIDE,
    FRONT_CONTAINS_BACK,
    MAX_ANSWER_WORDS,
    YES_NO_QUESTION,
    count_words,
    is_skippable,
    quality_flags,
)

SCALING_FRONT = "What does the √d_k scaling in scaled dot-product attention prevent?"
SCALING_BACK = "Softmax saturation and vanishing gradients"
ROPE_CLOZE = "RoPE encodes position by {{c1::rotating}} query and key pairs"

# --- cloze parsing ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (ROPE_CLOZE, [Deletion(1, "rotating", None, 25, 41)]),
        (
            "Attention scales logits by {{c1::$\\frac{1}{\\sqrt{d_k}}$}} before the softmax",
            [Deletion(1, "$\\frac{1}{\\sqrt{d_k}}$", None, 27, 57)],
        ),
        (
            "PPO clips the ratio to {{c1::$[1-\\epsilon, 1+\\epsilon]$::an interval}}",
            [Deletion(1, "$[1-\\epsilon, 1+\\epsilon]$", "an interval", 23, 70)],
        ),
        (
            "{{c1::GQA}} shares each key/value head among a {{c2::group of query heads}}",
            [
                Deletion(1, "GQA", None, 0, 11),
                Deletion(2, "group of query heads", None, 47, 75),
            ],
        ),
        (
            # A hint may itself contain braces; `::` inside them does not split.
            "Set notation: {{c1::$\\{x : x > 0\\}$::$\\{\\cdot\\}$}}",
            [Deletion(1, "$\\{x : x > 0\\}$", "$\\{\\cdot\\}$", 14, 50)],
        ),
    ],
)
def test_deletions_are_parsed_with_positions(text: str, expected: list[Deletion]) -> None:
    found = deletions(text)
    assert found == expected
    for deletion in found:
        assert text[deletion.start : deletion.end].startswith(f"{{{{c{deletion.number}::")
        assert text[deletion.start : deletion.end].endswith("}}")


@pytest.mark.parametrize(
    ("text", "answers"),
    [
        # Balanced braces: the first `}}` (closing \sqrt{d_k}) does not end the deletion.
        ("{{c1::$\\frac{1}{\\sqrt{d_k}}$}}", ["$\\frac{1}{\\sqrt{d_k}}$"]),
        ("{{c1::\\mathbf{W}_{\\text{Q}}}} projects queries", ["\\mathbf{W}_{\\text{Q}}"]),
        # Escaped LaTeX braces are literal and do not count.
        ("{{c1::$\\{q_i\\}_{i=1}^{n}$}}", ["$\\{q_i\\}_{i=1}^{n}$"]),
        # A stray `{` never balances: fall back to Anki's first `}}`.
        ("{{c1::a { b}} and {{c2::c}}", ["a { b", "c"]),
        # A lone `}` outside any group is answer text.
        ("{{c1::x } y}}", ["x } y"]),
        # A nested deletion is part of the outer answer.
        ("{{c1::multi-{{c2::query}} attention}}", ["multi-{{c2::query}} attention"]),
        ("{{c12::twelve}}", ["twelve"]),
    ],
)
def test_deletion_answers(text: str, answers: list[str]) -> None:
    assert [deletion.answer for deletion in deletions(text)] == answers


@pytest.mark.parametrize(
    "text",
    [
        "No deletions in this sentence about LayerNorm.",
        "{{c0::zero is not a valid number}}",
        "{{c1::never closed",
        "{{C1::upper-case c is not Anki syntax}}",
        "{c1::single braces}",
        "{{c::no number}}",
        "$\\frac{a}{b}$ is math, not a cloze",
        "",
    ],
)
def test_text_without_deletions(text: str) -> None:
    assert deletions(text) == []
    assert hide(text) == reveal(text) == plain(text) == text


def test_hint_rules() -> None:
    assert [d.hint for d in deletions("{{c1::PPO::algorithm}} {{c2::KL::  }} {{c3::β}}")] == [
        "algorithm",
        None,  # a blank hint is no hint, as in Anki
        None,
    ]
    # Only the first top-level `::` separates; the hint keeps later ones.
    assert deletions("{{c1::a::b::c}}")[0].hint == "b::c"


@pytest.mark.parametrize(
    ("text", "hidden", "revealed", "bare"),
    [
        (
            ROPE_CLOZE,
            "RoPE encodes position by […] query and key pairs",
            "RoPE encodes position by **rotating** query and key pairs",
            "RoPE encodes position by rotating query and key pairs",
        ),
        (
            "DPO replaces the reward model with {{c1::the policy's log-ratio::a ratio}}.",
            "DPO replaces the reward model with [a ratio].",
            "DPO replaces the reward model with **the policy's log-ratio**.",
            "DPO replaces the reward model with the policy's log-ratio.",
        ),
        (
            "Scores are divided by {{c1::$\\sqrt{d_k}$}} where {{c2::$d_k$::a dimension}}",
            "Scores are divided by […] where [a dimension]",
            "Scores are divided by **$\\sqrt{d_k}$** where **$d_k$**",
            "Scores are divided by $\\sqrt{d_k}$ where $d_k$",
        ),
        (
            # Inside a formula the answer is shown as it is: `**` would be literal there.
            "Attention is $\\mathrm{softmax}(QK^T/{{c1::\\sqrt{d_k}}})V$, cost {{c2::$O(n^2)$}}",
            "Attention is $\\mathrm{softmax}(QK^T/[…])V$, cost […]",
            "Attention is $\\mathrm{softmax}(QK^T/\\sqrt{d_k})V$, cost **$O(n^2)$**",
            "Attention is $\\mathrm{softmax}(QK^T/\\sqrt{d_k})V$, cost $O(n^2)$",
        ),
        (
            "Escaped \\$5 and {{c1::$$x^2$$}} then $a$ {{c2::b}}",
            "Escaped \\$5 and […] then $a$ […]",
            "Escaped \\$5 and **$$x^2$$** then $a$ **b**",
            "Escaped \\$5 and $$x^2$$ then $a$ b",
        ),
        (
            # Spaces stay outside the bold markers, or Markdown would not bold.
            "Llama uses{{c1:: SwiGLU }}in its MLP",
            "Llama uses[…]in its MLP",
            "Llama uses **SwiGLU** in its MLP",
            "Llama uses SwiGLU in its MLP",
        ),
        (
            "{{c1::multi-{{c2::query}} attention}} shares K and V",
            "[…] shares K and V",
            "**multi-query attention** shares K and V",
            "multi-query attention shares K and V",
        ),
    ],
)
def test_hide_reveal_plain(text: str, hidden: str, revealed: str, bare: str) -> None:
    assert hide(text) == hidden
    assert reveal(text) == revealed
    assert plain(text) == bare


def test_deeply_nested_deletions_do_not_recurse() -> None:
    depth = 3000
    text = "{{c1::" * depth + "core" + "}}" * depth
    assert plain(text) == "core"
    assert quality_flags(text, "", "cloze") == [CLOZE_DELETIONS]


# --- flags: empty_side ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("front", "back", "kind", "empty"),
    [
        (SCALING_FRONT, SCALING_BACK, "basic", False),
        ("", SCALING_BACK, "basic", True),
        (SCALING_FRONT, "   \n", "basic", True),
        ("  ", "\t", "basic", True),
        (ROPE_CLOZE, "", "cloze", False),  # a cloze's back is optional extra
        (ROPE_CLOZE, "Su et al., 2021", "cloze", False),
        (" \n ", "extra", "cloze", True),
        ("Attention is {{c1::  }} all you need", "", "cloze", True),  # hides nothing
    ],
)
def test_empty_side(front: str, back: str, kind: str, empty: bool) -> None:
    flags = quality_flags(front, back, kind)
    assert (EMPTY_SIDE in flags) is empty
    assert is_skippable(flags) is empty


# --- flags: yes_no_question -------------------------------------------------------------


@pytest.mark.parametrize(
    "front",
    [
        "Is LayerNorm applied before the attention sublayer in GPT-2?",
        "Does BERT use a causal attention mask?",
        "Can DPO be trained without a reward model?",
        "Are the key and value projections shared across heads in MQA?",
        "Was RoPE introduced in the RoFormer paper?",
        "Do transformers need positional encodings?",
        "Should the KL penalty coefficient be tuned per task in PPO?",
        "Has the original Transformer got learned positional embeddings?",
        "Would removing the √d_k scaling hurt training?",
        "Will the softmax saturate for large logits?",
        "Must the reward model be frozen during PPO?",
        "Might LoRA underfit when the rank is too small?",
        "Could a decoder-only model do translation?",
        "does the KV cache grow linearly with sequence length?",
        "  **Is** dropout applied at inference time?",
        "*Does GQA reduce the KV-cache size?*",
        "Isn't the attention matrix always symmetric?",
        "Doesn't weight tying couple the embedding and output layers?",
        "Can't a single head learn every pattern?",
        "Q: Is the reference model updated during DPO training?",
        "In PPO, the policy is clipped. Is the value function clipped too?",
        "Consider Llama 2's GQA: does it share queries across heads?",
        "Is the model trained with teacher forcing, or not?",
        "True or false: RoPE is applied to the value vectors.",
        "True/false — SwiGLU has three weight matrices",
    ],
)
def test_yes_no_fronts_are_flagged(front: str) -> None:
    assert YES_NO_QUESTION in quality_flags(front, "An explanation of the mechanism.", "basic")


@pytest.mark.parametrize(
    "front",
    [
        SCALING_FRONT,
        "What is the purpose of the KL penalty in RLHF?",
        "Why does the Transformer divide attention logits by √d_k?",
        "How does GQA reduce the size of the KV cache?",
        "Which sublayer does Pre-LN normalise before?",
        "What does DPO optimise instead of a learned reward?",
        "Isolation forests: what does path length measure?",  # "Is" must be a whole word
        "Cancellation in float16: when does it happen?",
        "Does LayerNorm normalise over the batch or the feature dimension?",  # alternatives
        "Is the causal mask applied before or after the softmax?",
        "Is attention permutation-equivariant? Why?",
        "Explain why RoPE is relative: is it the rotation angle difference",  # no "?"
        "Name the two losses in the InstructGPT recipe.",
        "Do: derive the gradient of softmax cross-entropy.",
    ],
)
def test_open_fronts_are_not_flagged(front: str) -> None:
    assert YES_NO_QUESTION not in quality_flags(front, "An explanation.", "basic")


@pytest.mark.parametrize(
    ("back", "flagged"),
    [
        ("Yes", True),
        ("yes.", True),
        ("No", True),
        ("No, because the mask is applied after scaling.", True),
        ("**False** — RoPE rotates only queries and keys.", True),
        ("True (for the decoder-only variant)", True),
        ("Yes\nThe reward model is frozen.", True),
        ("No - the reference model is frozen", True),
        ("No free lunch: every inductive bias helps some tasks and hurts others", False),
        ("Nothing: the gradient is zero there", False),
        ("True positives divided by all predicted positives", False),
        ("Not necessarily; it depends on the rank", False),
        ("No-op: the residual branch passes the input through", False),
        (SCALING_BACK, False),
    ],
)
def test_yes_no_backs(back: str, flagged: bool) -> None:
    front = "What happens to the gradient through a saturated softmax?"
    assert (YES_NO_QUESTION in quality_flags(front, back, "basic")) is flagged


def test_yes_no_is_not_checked_on_cloze_cards() -> None:
    assert quality_flags("Is {{c1::dropout}} used at inference?", "No", "cloze") == []


# --- flags: answer_too_long -------------------------------------------------------------


def _words(count: int) -> str:
    return " ".join(f"word{index}" for index in range(count))


@pytest.mark.parametrize(
    ("text", "words"),
    [
        (SCALING_BACK, 5),
        ("The scaled scores $\\frac{QK^\\top}{\\sqrt{d_k}}$ keep unit variance", 7),
        ("$$\\mathrm{softmax}(x)_i = \\frac{e^{x_i}}{\\sum_j e^{x_j}}$$ stays finite", 3),
        ("- bullet one\n- bullet two — with a dash | and a bar", 10),
        ("It costs $5 and $10 per run", 7),  # dollar amounts are not math
        ("dot-product attention", 2),
        ("{{c1::rotating}} pairs", 2),
        ("", 0),
    ],
)
def test_count_words(text: str, words: int) -> None:
    assert count_words(text) == words


@pytest.mark.parametrize(
    ("front", "back", "kind", "too_long"),
    [
        (SCALING_FRONT, _words(MAX_ANSWER_WORDS), "basic", False),
        (SCALING_FRONT, _words(MAX_ANSWER_WORDS + 1), "basic", True),
        # Forty-one formulas are forty-one words, however long each one is.
        (SCALING_FRONT, " ".join(["$\\sqrt{d_k}$"] * 41), "basic", True),
        (SCALING_FRONT, " ".join(["$\\frac{1}{\\sqrt{d_k}}$ scales"] * 20), "basic", False),
        # Cloze: the deleted answer counts; the text around it and the back do not.
        (f"{_words(60)} {{{{c1::rotation}}}}", _words(60), "cloze", False),
        (f"RoPE: {{{{c1::{_words(MAX_ANSWER_WORDS + 1)}}}}}", "", "cloze", True),
        # Two deletions together are over the limit, though each is under it.
        (f"{{{{c1::{_words(30)}}}}} and {{{{c2::{_words(11)}}}}}", "", "cloze", True),
    ],
)
def test_answer_too_long(front: str, back: str, kind: str, too_long: bool) -> None:
    assert (ANSWER_TOO_LONG in quality_flags(front, back, kind)) is too_long


# --- flags: cloze_deletions -------------------------------------------------------------


@pytest.mark.parametrize(
    ("front", "back", "kind", "flagged"),
    [
        (ROPE_CLOZE, "", "cloze", False),
        ("Attention scales logits by {{c1::$\\frac{1}{\\sqrt{d_k}}$}}", "", "cloze", False),
        ("RoPE encodes position by rotating query and key pairs", "", "cloze", True),
        ("{{c1::GQA}} groups {{c2::query heads}}", "", "cloze", True),
        ("{{c1::GQA}} groups {{c1::query heads}}", "", "cloze", True),  # same number twice
        ("{{c1::multi-{{c2::query}} attention}}", "", "cloze", True),  # nested
        (SCALING_FRONT, SCALING_BACK, "basic", False),
        ("What does {{c1::RoPE}} rotate?", "Query and key pairs", "basic", True),
        ("What does RoPE rotate?", "{{c1::Query and key pairs}}", "basic", True),
        ("What is {c1::x} in set-builder notation?", "A set", "basic", False),
    ],
)
def test_cloze_deletions(front: str, back: str, kind: str, flagged: bool) -> None:
    assert (CLOZE_DELETIONS in quality_flags(front, back, kind)) is flagged


# --- flags: front_contains_back ---------------------------------------------------------


@pytest.mark.parametrize(
    ("front", "back", "flagged"),
    [
        (SCALING_FRONT, SCALING_BACK, False),
        ("Why does layer normalisation stabilise training?", "Layer normalisation.", True),
        ("What does the KL penalty in RLHF keep close?", "the KL penalty", True),
        ("Which model, RoPE or ALiBi, rotates keys?", "  RoPE!  ", True),
        ("What does scaled dot-product attention compute?", "Dot product attention", True),
        ("What did Europe's AI Act regulate?", "RoPE", False),  # whole words only
        ("What does the Q in QKV stand for?", "Q", False),  # too short to mean anything
        ("What does DPO remove from RLHF?", "no", False),
        ("What is $\\sqrt{d_k}$ used for?", "Scaling by $\\sqrt{d_k}$", False),
    ],
)
def test_front_contains_back(front: str, back: str, flagged: bool) -> None:
    assert (FRONT_CONTAINS_BACK in quality_flags(front, back, "basic")) is flagged


def test_a_cloze_without_a_deletion_asks_nothing() -> None:
    """Small models write cloze cards with no deletion; Anki makes no card of them."""
    flags = quality_flags("RoPE encodes position by rotating query and key pairs", "", "cloze")
    assert flags == [EMPTY_SIDE, CLOZE_DELETIONS]


def test_front_contains_back_is_not_checked_on_cloze_cards() -> None:
    assert quality_flags(ROPE_CLOZE, "RoPE", "cloze") == []


# --- the flag list as a whole -----------------------------------------------------------


def test_flag_codes_are_stable() -> None:
    assert ALL_FLAGS == (
        "empty_side",
        "yes_no_question",
        "answer_too_long",
        "cloze_deletions",
        "front_contains_back",
    )


def test_several_flags_come_in_fixed_order() -> None:
    front = "Is {{c1::layer normalisation}} applied before attention?"
    back = f"Yes, layer normalisation {_words(MAX_ANSWER_WORDS)}"
    assert quality_flags(front, back, "basic") == [
        YES_NO_QUESTION,
        ANSWER_TOO_LONG,
        CLOZE_DELETIONS,
    ]
    assert quality_flags("Is {{c1::LoRA}} low-rank?", "Yes", "basic") == [
        YES_NO_QUESTION,
        CLOZE_DELETIONS,
    ]
    assert quality_flags("", "", "basic") == [EMPTY_SIDE]


def test_a_good_card_has_no_flags() -> None:
    assert quality_flags(SCALING_FRONT, SCALING_BACK, "basic") == []
    assert quality_flags(ROPE_CLOZE, "From RoFormer (Su et al., 2021).", "cloze") == []


@pytest.mark.parametrize(
    ("flags", "skippable"),
    [
        ([], False),
        ([EMPTY_SIDE], True),
        ([EMPTY_SIDE, CLOZE_DELETIONS], True),
        ([YES_NO_QUESTION, ANSWER_TOO_LONG, CLOZE_DELETIONS, FRONT_CONTAINS_BACK], False),
    ],
)
def test_only_an_empty_side_is_skippable(flags: list[str], skippable: bool) -> None:
    assert is_skippable(flags) is skippable


def test_unknown_kind_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown card kind"):
        quality_flags(SCALING_FRONT, SCALING_BACK, "reversed")
