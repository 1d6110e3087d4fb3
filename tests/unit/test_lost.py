"""Which follow-ups say the learner is lost (service/prerequisites/lost.py)."""

from __future__ import annotations

import pytest

from service.prerequisites.lost import says_lost

LOST = [
    "I'm lost",
    "i am totally lost here.",
    "Im so lost, can we go back?",
    "I’m completely lost",  # a phone's apostrophe
    "I don't get it",
    "I dont get it at all",
    "Sorry, I still don't understand any of this.",
    "I don't understand this",
    "I can't follow what's going on",
    "No idea what Q, K and V are supposed to be.",
    "no clue",
    "I have no idea how this works",
    "You lost me at the softmax.",
    "This makes no sense to me",
    "Honestly, none of this makes any sense",
    "I've lost the thread of the proof",
    "It's way over my head",
    "I'm confused.",
    "Great, I get the softmax part. But the rest? I'm lost.",
]
NOT_LOST = [
    "I lost the thread of the proof? no, I get it",
    "I'm lost... never mind, got it.",
    "I don't understand why we divide by sqrt(d_k).",
    "Why would the model get lost in long contexts?",
    "What does the Lost in the Middle paper show?",
    "I'm not lost, just curious: why 8 heads?",
    "So the softmax makes the scores sum to one?",
    "It makes sense now that you said it.",
    "Is there an idea behind the 1/sqrt(d_k) factor?",
    "",
]


@pytest.mark.parametrize("text", LOST)
def test_says_lost(text: str) -> None:
    assert says_lost(text)


@pytest.mark.parametrize("text", NOT_LOST)
def test_does_not_say_lost(text: str) -> None:
    assert not says_lost(text)
