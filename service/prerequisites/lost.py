"""Does a follow-up say the learner is lost? A pure, conservative reading of its words.

A false "lost" opens a panel the learner did not ask for; a missed one costs nothing (the
session page has an "I'm lost" button). So only first-person sayings of being lost as a
whole count ("I'm lost", "I don't get it", "no idea what …", "you lost me"), not a
specific doubt ("I don't understand why we divide by √d_k" is a question to answer), not
someone else being lost ("the model gets lost in long contexts"), and not a saying taken
back later in the message ("I lost the thread? no, I get it").
"""

from __future__ import annotations

import re

_ADVERBS = (
    r"(?:(?:so|totally|completely|really|utterly|pretty|very|just|getting|a bit|kind of"
    r"|kinda|a little|quite|still)\s+)*"
)
_I_AM = r"(?:i'?m|i am|im)"
_NOT = r"(?:don'?t|do not|can'?t|cannot|still don'?t)"
_SAYINGS = [
    rf"\b{_I_AM}\s+{_ADVERBS}(?:lost|confused|stuck)\b",
    r"\b(?:i'?ve|i have|i)\s+(?:totally\s+|completely\s+)?lost\s+"
    r"(?:the\s+thread|track|the\s+plot)\b",
    r"\byou(?:'ve|\s+have)?\s+(?:totally\s+|completely\s+)?lost\s+me\b",
    rf"\bi\s+{_ADVERBS}{_NOT}\s+(?:get|understand|follow)\s+"
    r"(?:it|this|that|any(?:thing)?|a\s+(?:thing|word)|what(?:'s|\s+is)\s+going\s+on)\b",
    r"\b(?:have|got)\s+no\s+(?:idea|clue)\b",
    r"(?:^|[.!?]\s*)no\s+(?:idea|clue)\b",
    r"\bno\s+(?:idea|clue)\s+(?:what|how|why|where)\b",
    r"\b(?:this|that|it|none\s+of\s+(?:this|it))\s+makes?\s+no\s+sense\b",
    r"\bmakes?\s+no\s+sense\s+to\s+me\b",
    r"\bnone\s+of\s+(?:this|it)\s+makes\s+(?:any\s+)?sense\b",
    r"\bover\s+my\s+head\b",
]
_LOST = re.compile("|".join(f"(?:{saying})" for saying in _SAYINGS))
# Said after being lost, they take it back.
_TAKEN_BACK = re.compile(
    r"\b(?:no|nope),?\s+i\s+(?:get|understand)\s+it\b|\bnever\s*mind\b|\bnvm\b"
    r"|\bi\s+(?:get|understand)\s+it\s+now\b|\bgot\s+it\b|\boh,?\s+i\s+see\b"
    r"|\bmakes\s+sense\s+now\b"
)


def _plain(text: str) -> str:
    # Curly apostrophes (phones type them) and any spacing, in lower case.
    return " ".join(text.replace("\u2019", "'").replace("\u2018", "'").casefold().split())


def says_lost(text: str) -> bool:
    """Whether `text` says its writer is lost, and does not take it back after."""
    plain = _plain(text)
    ends = [found.end() for found in _LOST.finditer(plain)]
    return bool(ends) and _TAKEN_BACK.search(plain, ends[-1]) is None
