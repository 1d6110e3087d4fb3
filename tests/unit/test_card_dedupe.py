"""Duplicate flashcards: exact after normalising, fuzzy for typos, never across terms."""

from __future__ import annotations

import uuid

import pytest
from rapidfuzz import fuzz

from service.cards.dedupe import FUZZY_MATCH_CUTOFF, DuplicateFinder, cloze_question, normalise

SCALING = "What does the √d_k scaling in scaled dot-product attention prevent?"
KL_PENALTY = "What is the purpose of the KL penalty in RLHF?"
ROPE_CLOZE = "RoPE encodes position by {{c1::rotating}} query and key pairs"

EXISTING = {
    "scaling": SCALING,
    "kl": KL_PENALTY,
    "rope": ROPE_CLOZE,
    "gqa": "What is GQA?",
    "ppo": "How does PPO keep the new policy close to the old one?",
    "gpt2": "How many parameters does GPT-2 have?",
    "encoder": "What does the encoder output in the original Transformer?",
    "discriminator": "What does the discriminator maximize in a GAN?",
    "query": "What does the query vector Q represent in attention?",
}


@pytest.fixture
def finder() -> DuplicateFinder[str]:
    return DuplicateFinder(EXISTING.items())


@pytest.mark.parametrize(
    ("text", "normalised"),
    [
        ("  What   is the KL-penalty\tfor?\n", "what is the kl penalty for"),
        ("WHAT does *attention* compute?", "what does attention compute"),
        ("Why divide by $\\sqrt{d_k}$?", "why divide by sqrt d k"),
        ("Is softmax(x) shift-invariant?", "is softmax x shift invariant"),
        ("Does `x + y` equal `y + x`?", "does x + y equal y + x"),  # operators carry meaning
        (ROPE_CLOZE, "rope encodes position by rotating query and key pairs"),
        ("{{c1::GQA::acronym}} groups query heads", "gqa groups query heads"),
        ("\uff26\uff55\uff4c\uff4c-width \uff27\uff30\uff34", "full width gpt"),  # full-width forms
        ("?!…  ", ""),
        ("", ""),
    ],
)
def test_normalise(text: str, normalised: str) -> None:
    assert normalise(text) == normalised


@pytest.mark.parametrize(
    ("front", "key"),
    [
        (SCALING, "scaling"),
        ("what does the √d_k scaling in scaled dot-product attention prevent", "scaling"),
        ("WHAT DOES THE √D_K SCALING IN SCALED DOT-PRODUCT ATTENTION PREVENT?", "scaling"),
        ("  What does the √d_k scaling in scaled dot product attention prevent ?! ", "scaling"),
        ("What is the purpose of the **KL penalty** in RLHF?", "kl"),
        # A cloze card matches on its plain text, deletion markup and hints ignored.
        ("RoPE encodes position by {{c2::rotating::verb}} query and key pairs", "rope"),
        ("RoPE encodes position by rotating query and key pairs.", "rope"),
    ],
)
def test_exact_duplicates_after_normalising(
    finder: DuplicateFinder[str], front: str, key: str
) -> None:
    assert finder.find(front) == key


@pytest.mark.parametrize(
    ("front", "key"),
    [
        ("What does the √d_k scaling in scaled dot-product atention prevent?", "scaling"),
        ("What does the √d_k scalnig in scaled dot-product attention prevent?", "scaling"),
        ("What does √d_k scaling in scaled dot-product attention prevent?", "scaling"),
        ("What is a purpose of the KL penalty in RLHF?", "kl"),  # article swapped
        ("What is the purpose of KL penalty in the RLHF?", "kl"),  # article moved
        ("Waht is the purpose of the KL penalty in RLHF?", "kl"),
        ("How does PPO keep the new policy close to the old one?!", "ppo"),
        ("What does the discriminator maximise in a GAN?", "discriminator"),  # en-GB
    ],
)
def test_fuzzy_near_duplicates(finder: DuplicateFinder[str], front: str, key: str) -> None:
    assert finder.find(front) == key


@pytest.mark.parametrize(
    ("front", "close_to"),
    [
        ("What is MQA?", "gqa"),
        ("How does DPO keep the new policy close to the old one?", "ppo"),
        ("How many parameters does GPT-3 have?", "gpt2"),
        ("What does the decoder output in the original Transformer?", "encoder"),
        ("What does the discriminator minimize in a GAN?", "discriminator"),
        ("What does the key vector K represent in attention?", "query"),
        (SCALING.replace("prevent", "cause"), "scaling"),  # a changed word in a long front
    ],
)
def test_words_a_few_letters_apart_are_not_duplicates(
    finder: DuplicateFinder[str], front: str, close_to: str
) -> None:
    # Character similarity alone would call these duplicates; the word check must not.
    assert fuzz.ratio(normalise(front), normalise(EXISTING[close_to])) >= FUZZY_MATCH_CUTOFF
    assert finder.find(front) is None


@pytest.mark.parametrize(
    "front",
    [
        "Why is the √d_k scaling applied before the softmax rather than after?",
        "How is the KL penalty coefficient chosen in RLHF?",
        "What does RoPE rotate?",
        "What does the √d_k scaling in scaled dot-product attention prevent in practice?",
        "Softmax saturation and vanishing gradients",
    ],
)
def test_different_questions_are_not_duplicates(finder: DuplicateFinder[str], front: str) -> None:
    assert finder.find(front) is None


@pytest.mark.parametrize("front", ["", "   ", "?!", "**", "{{c1::}}", "$ $"])
def test_empty_fronts_never_match(front: str) -> None:
    finder = DuplicateFinder([("blank", "?"), ("kl", KL_PENALTY)])
    assert finder.find(front) is None
    finder.add("new", front)
    assert finder.find(front) is None


def test_a_batch_is_checked_against_itself_as_it_is_accepted() -> None:
    existing_id = uuid.uuid4()
    finder = DuplicateFinder([(existing_id, KL_PENALTY)])
    batch = [
        (uuid.uuid4(), "What does GQA share between query heads?"),
        (uuid.uuid4(), "what does gqa share between query heads"),  # exact, same batch
        (uuid.uuid4(), "What is the purpose of the KL penalty in RLHF?"),  # existing card
        (uuid.uuid4(), "What does GQA share betwen query heads?"),  # typo, same batch
        (uuid.uuid4(), "What does MQA share between query heads?"),  # a different term
    ]
    duplicate_of = {}
    for key, front in batch:
        duplicate_of[key] = finder.find(front)
        if duplicate_of[key] is None:
            finder.add(key, front)
    first, mqa = batch[0][0], batch[4][0]
    assert list(duplicate_of.values()) == [None, first, existing_id, first, None]
    assert finder.find("What does MQA share between query heads") == mqa


def test_the_first_card_with_a_front_keeps_it() -> None:
    finder = DuplicateFinder([("old", SCALING), ("newer", SCALING.upper())])
    assert finder.find(SCALING) == "old"
    finder.add("newest", SCALING)
    assert finder.find(SCALING.lower()) == "old"
    # Equally close fuzzy candidates: the earlier card wins too.
    finder = DuplicateFinder(
        [("first", "What does LayerNorm normalise?"), ("second", "What does LayerNorm normalize?")]
    )
    assert finder.find("What does LayerNorm normalice?") == "first"


def test_the_closest_of_several_candidates_wins() -> None:
    finder = DuplicateFinder(
        [
            ("loose", "What does the KL penalty in RLHF prevent the policy from doing?"),
            ("close", "What does the KL penalty in RLHF prevent the policy from doin?"),
        ]
    )
    assert finder.find("What does the KL penalty in RLHF prevent the policy from doin") == "close"


def test_an_empty_finder_finds_nothing() -> None:
    assert DuplicateFinder[str]().find(SCALING) is None


def test_many_existing_cards() -> None:
    topics = [f"topic{number}" for number in range(20_000)]
    finder = DuplicateFinder(
        (topic, f"What problem does {topic} solve in practice?") for topic in topics
    )
    assert finder.find("What problem does topic12345 solve in practise?") == "topic12345"
    assert finder.find("What problem does topic12346 solve in practice") == "topic12346"
    assert finder.find("What problem does anything else solve in practice?") is None


# --- overlapping clozes -----------------------------------------------------------------

QKV = "In attention, {{c1::queries}}, keys and values are projections of the input"


@pytest.mark.parametrize(
    ("candidate", "duplicate"),
    [
        # One sentence, another item hidden: a card of its own (a list learnt item by item).
        ("In attention, queries, {{c1::keys}} and values are projections of the input", False),
        ("In attention, queries, keys and {{c1::values}} are projections of the input", False),
        ("In attention, {{c1::queries, keys}} and values are projections of the input", False),
        ("In attention, queries, keys and values are {{c1::projections}} of the input", False),
        # The same words hidden: the same card, whatever the number, hint or spelling.
        (QKV, True),
        ("In attention, {{c2::queries::Q}}, keys and values are projections of the input", True),
        ("in attention, {{c1::Queries}}, keys and values are projections of the input.", True),
        ("In attention, {{c1::queries}}, keys and values are projections of the inupt", True),
        ("In attention, {{c1::queires}}, keys and values are projections of the input", True),
        # A different sentence hiding the same word is a different card.
        ("In GQA, {{c1::queries}} are grouped to share keys and values", False),
    ],
)
def test_a_cloze_asks_its_sentence_and_the_words_it_hides(candidate: str, duplicate: bool) -> None:
    finder = DuplicateFinder([("qkv", cloze_question(QKV))])
    assert (finder.find(cloze_question(candidate)) == "qkv") is duplicate


def test_overlapping_clozes_of_one_batch_are_all_kept() -> None:
    finder = DuplicateFinder[int]()
    texts = [
        QKV,
        "In attention, queries, {{c1::keys}} and values are projections of the input",
        "In attention, queries, keys and {{c1::values}} are projections of the input",
    ]
    for index, text in enumerate(texts):
        assert finder.find(cloze_question(text)) is None
        finder.add(index, cloze_question(text))
    assert [finder.find(cloze_question(text)) for text in texts] == [0, 1, 2]


def test_the_hidden_words_never_pass_for_the_sentence() -> None:
    # A basic card with the cloze's sentence as its question asks something else.
    finder = DuplicateFinder([("cloze", cloze_question(QKV))])
    assert (
        finder.find("In attention, queries, keys and values are projections of the input") is None
    )
