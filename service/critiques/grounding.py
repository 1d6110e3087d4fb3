"""Never show the learner words they did not write, and never a "quote" of one word.

The model is asked to quote the learner's explanation exactly. It mostly does, but it
also changes the case of a word, folds a line break, or shortens a long quote with an
ellipsis; those are still the learner's words, so they are found anyway. What is kept is
the learner's own text, exactly as they wrote it: from the first quoted word to the
last, an elided middle included. A paraphrase, a "fixed" typo or an invented phrase is
dropped (the quote becomes null) rather than shown as if the learner had written it,
and so is a quote under three words: "a" or "softmax" occurs anywhere and locates
nothing.
"""

from __future__ import annotations

import re

from service.critiques.schemas import CritiqueDraft

# Quotation marks a model may wrap around a quote it otherwise copied exactly.
_WRAPPERS = "\"'“”‘’«»`"
_ELLIPSIS = re.compile(r"\s*(?:…|\.{3,})\s*")
MIN_QUOTE_WORDS = 3
# An elided quote spans at most this many of the learner's words: longer, it no longer
# points at one place.
MAX_SPAN_WORDS = 60


def normalise_whitespace(text: str) -> str:
    return " ".join(text.split())


class _Folded:
    """The text lower-cased with whitespace runs as one space, and for each character
    of that the index of the character of the original it came from."""

    def __init__(self, text: str) -> None:
        chars: list[str] = []
        origin: list[int] = []
        for index, char in enumerate(text):
            if char.isspace():
                if chars and chars[-1] != " ":
                    chars.append(" ")
                    origin.append(index)
                continue
            for lowered in char.lower():  # one character may lower to two
                chars.append(lowered)
                origin.append(index)
        self.text = "".join(chars)
        self.origin = origin


def _fragments(quote: str) -> list[str]:
    """The quote's pieces between ellipses, unwrapped and folded."""
    pieces = _ELLIPSIS.split(quote.strip().strip(_WRAPPERS))
    return [
        normalise_whitespace(p.strip(_WRAPPERS)).lower() for p in pieces if p.strip(_WRAPPERS + " ")
    ]


def grounded_quote(quote: str | None, explanation: str) -> str | None:
    """The learner's own words that `quote` stands for, or None."""
    if quote is None:
        return None
    fragments = _fragments(quote)
    if sum(len(f.split()) for f in fragments) < MIN_QUOTE_WORDS:
        return None
    folded = _Folded(explanation)
    start = end = -1
    position = 0
    for fragment in fragments:
        found = folded.text.find(fragment, position)
        if found < 0:
            return None
        if start < 0:
            start = found
        end = found + len(fragment)
        position = end
    words = explanation[folded.origin[start] : folded.origin[end - 1] + 1]
    if len(words.split()) > MAX_SPAN_WORDS:
        return None
    return normalise_whitespace(words)


def ground(draft: CritiqueDraft, explanation: str) -> CritiqueDraft:
    issues = [
        issue.model_copy(update={"quote": grounded_quote(issue.quote, explanation)})
        for issue in draft.issues
    ]
    return draft.model_copy(update={"issues": issues})
