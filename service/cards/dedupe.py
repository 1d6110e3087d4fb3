"""Find flashcards that ask what an existing card (or an earlier draft) already asks.

Two fronts are duplicates when their normalised texts are equal, or when they are close
by `fuzz.ratio` (indel similarity: 100 · (1 − insertions and deletions / total length))
AND every word that differs is a misspelling of the other front's word.

Why 90: a typical front is 30–120 characters, where 90 still admits a few typos, "a" for
"the", a dropped article or British and American spelling, and already rejects a short
front with one word changed ("What does LayerNorm prevent?" / "… cause?" scores 81).
On long fronts even a changed word stays above 90 ("prevent" / "cause" at the end of
the √d_k question scores 92), so the threshold only bounds how much may differ; the word
check decides what may differ.

Why the word check: character similarity cannot tell a typo from a different term, and
the terms of this field differ by a letter or two. "what is gqa" / "what is mqa" scores
90.9, "encoder" / "decoder" questions 96, "maximize" / "minimize" 94, "LoRA" / "QLoRA"
96. So among candidates scoring ≥ 90, a match also needs the differing words (ignoring
"a", "an", "the") to pair up one to one, each pair at most one insertion, deletion,
substitution or transposition apart (OSA distance 1), with the same first letter, at
least four characters long and no digits: typos are rarely in the first letter, while
acronyms (GQA/MQA, MSE/MAE), numbers (GPT-2/GPT-3) and symbols (Q/K) are short, and
antonyms (encoder/decoder, pre/post) differ by more. A missed near-duplicate costs the
learner one glance; a false match would hide a new card behind an unrelated one.

A cloze card asks for the words it hides, so what it asks is its sentence *and* those
words (`cloze_question`). Overlapping clozes of one sentence, each hiding another item
of a list, are different cards, as Wozniak's rules recommend for lists; the same
sentence hiding the same words is the same card whatever its hint or deletion number.
The hidden words come after a mark no sentence has, so they never pass for part of it;
they take part in the typo check like any other word, so "query" hidden instead of
"rotating" is a different card, while a typo in either stays a duplicate.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Hashable, Iterable
from typing import Generic, TypeVar

from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA

from service.cards.cloze import deletions, plain

__all__ = ["FUZZY_MATCH_CUTOFF", "DuplicateFinder", "cloze_question", "normalise"]

FUZZY_MATCH_CUTOFF = 90.0

# Delimiters of Markdown code and LaTeX math that are Unicode symbols, not punctuation;
# other symbols (+, =, <, ^, √) carry meaning and are kept.
_MARKUP_SYMBOLS = frozenset("$`~")
_ARTICLES = frozenset({"a", "an", "the"})
_MIN_TYPO_WORD_LENGTH = 4
# A math symbol, not punctuation, so `normalise` keeps it as a word of its own.
_HIDDEN_WORDS_MARK = "↦"

Key = TypeVar("Key", bound=Hashable)


def normalise(text: str) -> str:
    """Cloze deletions unwrapped, casefolded, punctuation as spaces, whitespace collapsed."""
    # NFKC first so full-width letters and ligatures compare equal to plain ones.
    folded = unicodedata.normalize("NFKC", plain(text)).casefold()
    # Punctuation becomes a space, not nothing, so "dot-product" equals "dot product"
    # and "softmax(x)" keeps two words.
    spaced = "".join(" " if _is_punctuation(char) else char for char in folded)
    return " ".join(spaced.split())


def cloze_question(text: str) -> str:
    """What a cloze card asks, to look up with `DuplicateFinder`: its sentence, then
    the words its deletions hide (see the module notes)."""
    hidden = " ".join(plain(deletion.answer) for deletion in deletions(text))
    return f"{plain(text)} {_HIDDEN_WORDS_MARK} {hidden}"


class DuplicateFinder(Generic[Key]):
    """Looks fronts up among known cards; `add` accepted drafts to check a batch too."""

    def __init__(self, existing: Iterable[tuple[Key, str]] = ()) -> None:
        self._exact: dict[str, Key] = {}
        # Parallel lists: rapidfuzz scans a list of strings in C++ and reports indexes.
        self._fronts: list[str] = []
        self._keys: list[Key] = []
        for key, front in existing:
            self.add(key, front)

    def add(self, key: Key, front: str) -> None:
        """Remember a card; the first card with a given normalised front keeps it."""
        normalised = normalise(front)
        if not normalised or normalised in self._exact:
            return
        self._exact[normalised] = key
        self._fronts.append(normalised)
        self._keys.append(key)

    def find(self, front: str) -> Key | None:
        """The key of a card asking the same as `front`, or None."""
        normalised = normalise(front)
        if not normalised:
            return None
        if normalised in self._exact:
            return self._exact[normalised]
        return self._closest_fuzzy_match(normalised)

    def _closest_fuzzy_match(self, normalised: str) -> Key | None:
        # Best score first; equal scores keep insertion order, so the earlier card wins.
        candidates = process.extract(
            normalised,
            self._fronts,
            scorer=fuzz.ratio,
            processor=None,
            score_cutoff=FUZZY_MATCH_CUTOFF,
            limit=None,
        )
        for candidate, _score, index in candidates:
            if _differ_only_by_typos(normalised, candidate):
                return self._keys[index]
        return None


def _is_punctuation(char: str) -> bool:
    return unicodedata.category(char).startswith("P") or char in _MARKUP_SYMBOLS


def _differ_only_by_typos(first: str, second: str) -> bool:
    first_words = Counter(word for word in first.split() if word not in _ARTICLES)
    second_words = Counter(word for word in second.split() if word not in _ARTICLES)
    only_first = sorted((first_words - second_words).elements())
    only_second = sorted((second_words - first_words).elements())
    if len(only_first) != len(only_second):
        return False
    for word in only_first:
        typo_of = next((other for other in only_second if _is_typo_pair(word, other)), None)
        if typo_of is None:
            return False
        only_second.remove(typo_of)
    return True


def _is_typo_pair(word: str, other: str) -> bool:
    return (
        min(len(word), len(other)) >= _MIN_TYPO_WORD_LENGTH
        and word[0] == other[0]
        and not any(char.isdigit() for char in word + other)
        and OSA.distance(word, other) <= 1
    )
