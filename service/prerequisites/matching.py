"""Does this text name that concept? Fuzzy, since the model says "layer normalization"
where a card says "LayerNorm" or a tag "layer-norm", and conservative, since a match is
taken as evidence of what the learner knows."""

from __future__ import annotations

import re
from collections.abc import Sequence

from rapidfuzz import fuzz

# Out of 100: one slip in ten characters ("normalisation", "dot products") still names it.
NAMED = 90
# A name this short ("RL", "KL", "PPO") is matched as a whole word only: fuzzily, it
# would be found inside any word.
SHORT = 4


def plain(text: str) -> str:
    """Case, hyphens, underscores and spacing folded: "Layer-Norm" is "layer norm"."""
    return " ".join(re.sub(r"[-_/]+", " ", text.casefold()).split())


def names_in(text: str, names: Sequence[str]) -> bool:
    """Whether `text` (a card's front, a session's title) mentions one of `names`, also
    when spaces differ ("LayerNorm", "layer norm")."""
    haystack = plain(text)
    squeezed = haystack.replace(" ", "")
    for name in map(plain, names):
        if _mentions(haystack, name):
            return True
        if len(name) > SHORT and _mentions(squeezed, name.replace(" ", "")):
            return True
    return False


def _mentions(haystack: str, name: str) -> bool:
    if not name or not haystack:
        return False
    if len(name) <= SHORT:
        return re.search(rf"(?<!\w){re.escape(name)}(?!\w)", haystack) is not None
    if len(haystack) < len(name):
        # A text shorter than the name (a tag) must be the name, not a part of it: a card
        # tagged "attention" says nothing of "scaled dot-product attention".
        return fuzz.ratio(name, haystack) >= NAMED
    return fuzz.partial_ratio(name, haystack) >= NAMED


def same_name(one: str, other: str) -> bool:
    """Whether two names (a critique's concept, the model's) name one concept."""
    a, b = plain(one), plain(other)
    if min(len(a), len(b)) <= SHORT:
        return a == b
    return fuzz.token_sort_ratio(a, b) >= NAMED


def same_title(one: str, other: str) -> bool:
    """Whether two titles name one paper: "Attention Is All You Need" and "Attention is
    all you need (Vaswani et al., 2017)" do; "Attention" and either do not."""
    a, b = plain(one), plain(other)
    shorter = min(a, b, key=len)
    if len(shorter.split()) >= 3 and len(shorter) >= 12:
        return fuzz.token_set_ratio(a, b) >= NAMED
    return fuzz.token_sort_ratio(a, b) >= NAMED
