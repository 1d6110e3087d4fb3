"""Cloze parsing and the quality flags of flashcard drafts, on real cards from ML papers."""

from __future__ import annotations

import time

import pytest

from service.cards.cloze import Deletion, deletions, hide, plain, reveal
from service.cards.quality import (
    ALL_FLAGS,
    ANSWER_TOO_LONG,
    CLOZE_ANSWER_ELSEWHERE,
    CLOZE_DELETIONS,
    EMPTY_SIDE,
    FRONT_CONTAINS_BACK,
    LIST_ANSWER,
    MAX_ANSWER_WORDS,
    MULTI_PART_QUESTION,
    VAGUE_STEM,
    YES_NO_QUESTION,
    count_words,
    is_skippable,
    lacks_deletion,
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


@pytest.mark.parametrize(
    ("number", "hidden", "revealed"),
    [
        (
            1,
            "[…] scales by $\\sqrt{d_k}$, cost $O(n^2)$",
            "**softmax** scales by $\\sqrt{d_k}$, cost $O(n^2)$",
        ),
        (
            2,
            "softmax scales by $[…]$, cost [big O]",
            "softmax scales by $\\sqrt{d_k}$, cost **$O(n^2)$**",
        ),
        (
            3,
            "softmax scales by $\\sqrt{d_k}$, cost $O(n^2)$",
            "softmax scales by $\\sqrt{d_k}$, cost $O(n^2)$",
        ),
    ],
)
def test_one_number_asked_as_on_ankis_card_for_it(number: int, hidden: str, revealed: str) -> None:
    # An Anki cloze note makes a card per number; the others show their answers plainly.
    text = "{{c1::softmax}} scales by ${{c2::\\sqrt{d_k}}}$, cost {{c2::$O(n^2)$::big O}}"
    assert hide(text, number) == hidden
    assert reveal(text, number) == revealed


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
        # The rule's own number: a phrase, not a paragraph.
        (SCALING_FRONT, _words(25), "basic", False),
        (SCALING_FRONT, _words(26), "basic", True),
        # Twenty-six formulas are twenty-six words, however long each one is.
        (SCALING_FRONT, " ".join(["$\\sqrt{d_k}$"] * (MAX_ANSWER_WORDS + 1)), "basic", True),
        (SCALING_FRONT, " ".join(["$\\frac{1}{\\sqrt{d_k}}$ scales"] * 12), "basic", False),
        # Cloze: the deleted answer counts; the text around it and the back do not.
        (f"{_words(60)} {{{{c1::rotation}}}}", _words(60), "cloze", False),
        (f"RoPE: {{{{c1::{_words(MAX_ANSWER_WORDS + 1)}}}}}", "", "cloze", True),
        # Two deletions together are over the limit, though each is under it.
        (f"{{{{c1::{_words(20)}}}}} and {{{{c2::{_words(6)}}}}}", "", "cloze", True),
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


@pytest.mark.parametrize(
    ("text", "lacks"),
    [
        (ROPE_CLOZE, False),
        ("{{c2::GQA}} shares key/value heads", False),  # any number from 1 will do
        ("{{c1::{{c2::nested}} only}}", False),
        ("Anki's {{c1::answer::hint}} syntax: {{c1::x::}}", False),
        ("RoPE encodes position by rotating query and key pairs", True),
        ("", True),
        ("RoPE encodes position by {{c0::rotating}} pairs", True),  # c0 is no deletion
        ("RoPE encodes position by {{c1::rotating pairs", True),  # never closed
        ("RoPE encodes position by {{c1::}} pairs", True),  # hides nothing
        ("RoPE encodes position by {{c1::  ::a verb}} pairs", True),  # only a hint
        ("RoPE encodes position by {c1::rotating} pairs", True),
    ],
)
def test_lacks_deletion_matches_the_empty_side_of_a_cloze(text: str, lacks: bool) -> None:
    assert lacks_deletion(text) is lacks
    assert (EMPTY_SIDE in quality_flags(text, "", "cloze")) is lacks


def test_front_contains_back_is_not_checked_on_cloze_cards() -> None:
    assert quality_flags(ROPE_CLOZE, "RoPE", "cloze") == []


# --- flags: vague_stem ------------------------------------------------------------------


@pytest.mark.parametrize(
    "front",
    [
        "Explain attention.",
        "explain how the KV cache speeds up decoding",
        "Describe how RoPE encodes position in Llama.",
        "Discuss the trade-offs of MQA versus GQA in Llama 2.",
        "Tell me about RLHF and its three stages.",
        "What do you know about the DPO loss?",
        "Talk about the KV cache during decoding.",
        "**Explain** the role of LayerNorm in GPT-2.",
        # After a leading clause that only sets the context.
        "In PPO, explain the clipped surrogate objective.",
        "Q: describe the value loss in PPO.",
        "For the Transformer paper: discuss positional encodings.",
        # A bare "What is X?", X one or two words.
        "What is attention?",
        "What is a KV cache?",
        "What's RLHF?",
        "What are transformers?",
        "What is multi-head attention?",
        "**What is the softmax?**",
        "What is $\\sqrt{d_k}$?",  # a formula is one word
        # Fewer than four words.
        "Softmax saturation?",
        "Define RoPE.",
        "Why scale attention?",
    ],
)
def test_vague_stems_are_flagged(front: str) -> None:
    assert VAGUE_STEM in quality_flags(front, SCALING_BACK, "basic")


@pytest.mark.parametrize(
    "front",
    [
        SCALING_FRONT,
        "In one phrase, what does the 1/√d_k factor prevent?",
        "What is the role of the value head in PPO?",
        "In GQA, what is shared between query heads?",
        "What is GQA in Llama 2?",  # the context is the qualifier
        "What is attention for?",  # asks for a purpose
        "Explain in one sentence why the softmax saturates for large logits.",  # bounded
        "Describe in three words what RoPE rotates.",
        "Explainability methods: what does a saliency map show?",  # not the word "Explain"
        "Why does PPO clip the ratio?",  # four words
        "Why does the Transformer describe positions with sinusoids?",  # verb not at the start
        "How do the encoder and decoder differ in the Transformer?",
    ],
)
def test_precise_stems_are_not_flagged(front: str) -> None:
    assert VAGUE_STEM not in quality_flags(front, SCALING_BACK, "basic")


def test_vague_stem_is_checked_on_basic_fronts_only() -> None:
    assert quality_flags("", SCALING_BACK, "basic") == [EMPTY_SIDE]  # blank is only empty
    assert VAGUE_STEM not in quality_flags("{{c1::RoPE}} rotates", "", "cloze")
    assert VAGUE_STEM not in quality_flags(SCALING_FRONT, "Explain attention.", "basic")


# --- flags: list_answer -----------------------------------------------------------------

LIST_FRONT = "In the Transformer, what does each attention head project its input into?"


@pytest.mark.parametrize(
    "back",
    [
        "Q, K and V",
        "queries, keys, and values",  # Oxford comma
        "queries, keys or values",
        "RMSNorm; SwiGLU; RoPE",
        "$W_Q$, $W_K$ and $W_V$",  # formulas are one word each
        "$\\mathrm{softmax}(QK^\\top / \\sqrt{d_k})$, $W_O$ and $V$",
        "Pre-training, supervised fine-tuning, reward modelling and PPO",
        "the policy, the reward model and the value head.",
        "- queries\n- keys\n- values",
        "1. SFT\n2. reward model\n3. PPO",
        "* one long item with many words in it\n* another item\n* a third item",
        "2021, 2022 and 2023",
        # Three clauses of two words: a chain of reasoning, better split too.
        "Logits grow, softmax saturates, gradients vanish",
    ],
)
def test_list_answers_are_flagged(back: str) -> None:
    assert LIST_ANSWER in quality_flags(LIST_FRONT, back, "basic")


@pytest.mark.parametrize(
    "back",
    [
        SCALING_BACK,  # "and" joins two items
        "Q, K",  # two items
        "- queries\n- keys",
        "Queries and keys and values",  # no separator to count items by
        # Sentences with commas.
        "Because the dot products grow, the softmax saturates, and gradients vanish",
        "The dot products grow, the softmax saturates, and gradients vanish",
        "Dot products grow, so softmax saturates and gradients vanish",
        "The softmax is saturated, gradients are tiny, and learning stalls",
        "With large d_k, the variance grows, pushing the softmax into saturation",
        "Keys and values, shared per group, which saves memory",
        # Commas that separate nothing.
        "$[1-\\epsilon, 1+\\epsilon]$",
        "$f(x, y, z)$ applied to the scores",
        "softmax(x, y, z)",
        "About 1,000,000 tokens",
        "RoPE (Su et al., 2021, RoFormer)",
    ],
)
def test_answers_that_are_not_lists(back: str) -> None:
    assert LIST_ANSWER not in quality_flags(LIST_FRONT, back, "basic")


def test_list_answer_is_checked_on_basic_cards_only() -> None:
    assert LIST_ANSWER not in quality_flags(ROPE_CLOZE, "Q, K and V", "cloze")
    assert LIST_ANSWER not in quality_flags("Q, K and V", SCALING_BACK, "basic")


# --- flags: multi_part_question ---------------------------------------------------------


@pytest.mark.parametrize(
    "front",
    [
        "Is attention permutation-equivariant? Why?",
        "What does RoPE rotate? What stays fixed?",
        "What does RoPE rotate and why?",
        "How does GQA save memory, and what does it cost?",
        "What is clipped in PPO and how is the bound chosen?",
        "Why and how does PPO clip the ratio?",
        "(a) What is MQA (b) what does GQA change",
        "In PPO: a) what is clipped; b) what bounds it",
        "In RLHF, (i) what is the reward model trained on, (ii) what does PPO optimise",
        "In DPO, (1) what replaces the reward model, (2) what is the loss",
    ],
)
def test_multi_part_questions_are_flagged(front: str) -> None:
    assert MULTI_PART_QUESTION in quality_flags(front, "An answer.", "basic")


@pytest.mark.parametrize(
    "front",
    [
        SCALING_FRONT,
        "How do queries and keys interact in scaled dot-product attention?",
        "What does `?` mean in a regular expression?",  # inside code
        "What does $a ? b : c$ denote in the paper's pseudo-code?",  # inside a formula
        "In Equation (1) and Equation (2), what does $Z$ normalise?",
        "In Eq. (3) and Eq. (4) of the PPO paper, what is $\\hat{A}_t$?",
        "What does softmax(a) return for a vector of logits?",
        "What are the (a) inputs of scaled dot-product attention?",  # one marker
        "What does the KL penalty keep close, and to which model?",
        "What does the encoder hand to the decoder in the Transformer?",
    ],
)
def test_single_questions_are_not_flagged(front: str) -> None:
    assert MULTI_PART_QUESTION not in quality_flags(front, "An answer.", "basic")


def test_multi_part_is_checked_on_basic_cards_only() -> None:
    assert MULTI_PART_QUESTION not in quality_flags("{{c1::RoPE}} rotates? Why?", "", "cloze")


# --- flags: cloze_answer_elsewhere ------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "extra"),
    [
        ("{{c1::Rotating}} pairs: RoPE encodes position by rotating query and key pairs", ""),
        (ROPE_CLOZE, "Rotating pairs keeps the relative angle."),  # in the extra
        ("RoPE encodes position by {{c1::rotating::rotating}} query and key pairs", ""),  # hint
        ("RoPE encodes position by {{c1::ROTATING}} query and key pairs", "It is *rotating*."),
        ("A {{c1::KV cache}} stores past keys and values; the KV-cache grows", ""),
        (
            "Attention is $\\mathrm{softmax}(QK^T/{{c1::\\sqrt{d_k}}})V$",
            "The factor $\\sqrt{d_k}$ keeps the logits small.",
        ),
        # Another deletion shows its answer on this deletion's card.
        ("{{c1::GQA}} shares keys among groups; {{c2::MQA}} is GQA with one group", ""),
    ],
)
def test_cloze_answers_shown_elsewhere_are_flagged(text: str, extra: str) -> None:
    assert CLOZE_ANSWER_ELSEWHERE in quality_flags(text, extra, "cloze")


@pytest.mark.parametrize(
    ("text", "extra"),
    [
        (ROPE_CLOZE, ""),
        (ROPE_CLOZE, "Rotation keeps the relative angle."),  # whole words only
        (ROPE_CLOZE, "Su et al., 2021"),
        ("A {{c1::KV cache}} stores past keys and values", "The cache grows with length."),
        (
            "Attention is $\\mathrm{softmax}(QK^T/{{c1::\\sqrt{d_k}}})V$",
            "where $d_k$ is the key size",
        ),
        ("{{c1::Q}} is compared with K; Q is the query", ""),  # too short to mean anything
        ("Attention is {{c1::  }} all you need", "all"),  # hides nothing: empty_side
    ],
)
def test_cloze_answers_not_shown_elsewhere(text: str, extra: str) -> None:
    assert CLOZE_ANSWER_ELSEWHERE not in quality_flags(text, extra, "cloze")


def test_cloze_answer_elsewhere_is_checked_on_cloze_cards_only() -> None:
    front = "What does RoPE rotate when it encodes position?"
    assert CLOZE_ANSWER_ELSEWHERE not in quality_flags(front, "{{c1::rotate}}", "basic")


# --- the flag list as a whole -----------------------------------------------------------


def test_flag_codes_are_stable() -> None:
    assert ALL_FLAGS == (
        "empty_side",
        "yes_no_question",
        "answer_too_long",
        "cloze_deletions",
        "front_contains_back",
        "vague_stem",
        "list_answer",
        "multi_part_question",
        "cloze_answer_elsewhere",
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
        VAGUE_STEM,  # three words
    ]
    assert quality_flags("Explain LoRA and why it works?", "A, B and C", "basic") == [
        VAGUE_STEM,
        LIST_ANSWER,
        MULTI_PART_QUESTION,
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
        ([VAGUE_STEM, LIST_ANSWER, MULTI_PART_QUESTION, CLOZE_ANSWER_ELSEWHERE], False),
    ],
)
def test_only_an_empty_side_is_skippable(flags: list[str], skippable: bool) -> None:
    assert is_skippable(flags) is skippable


@pytest.mark.parametrize("symbol", ["*", "(", " ", ",", "$"])
def test_long_runs_of_symbols_are_checked_in_linear_time(symbol: str) -> None:
    # Model output is untrusted; a backtracking pattern would take minutes on this.
    started = time.perf_counter()
    for kind in ("basic", "cloze"):
        quality_flags(symbol * 50_000 + "x", symbol * 50_000, kind)
    assert time.perf_counter() - started < 2


def test_unknown_kind_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown card kind"):
        quality_flags(SCALING_FRONT, SCALING_BACK, "reversed")
