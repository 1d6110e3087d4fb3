"""Quality checks on flashcard drafts, in code, so they hold whatever the model does.

`quality_flags` returns stable codes (stored with the card, shown to the learner) in the
fixed order of `ALL_FLAGS`. Only `empty_side` makes a draft worthless; every other flag
is advice, and the learner decides.

Rules, where a choice had to be made:

- `yes_no_question` (basic cards only; a cloze "front" is a statement). The front's last
  sentence starts with an auxiliary verb (is, does, can, should, isn't, …) after any
  Markdown markers and ends with `?`, or the front starts with "True or false". A question
  containing the word "or" offers alternatives ("Is the mask applied before or after the
  softmax?") and is not flagged, unless it ends in "or not?". The back is also flagged
  when it *starts* with a bare yes/no/true/false followed by nothing or punctuation
  ("Yes.", "No, because …", "**False** — …"): an explanation after the verdict is the real
  answer, and the front should ask for it. "No free lunch …" does not count.
- `answer_too_long`: more than `MAX_ANSWER_WORDS` words in the back (basic) or in the
  deleted answers together (cloze), counted on the plain text. A `$…$` or `$$…$$`
  formula counts as one word, since it is recalled as one thing however many TeX tokens
  it has; tokens without a letter or digit (bullets, dashes, `|`) are not words.
- `cloze_deletions`: a cloze card needs exactly one deletion, counting nested ones and
  repeats of one number; a basic card must have none (well-formed `{{cN::…}}` only).
- `front_contains_back` (basic only): the normalised back (see `dedupe.normalise`) occurs
  in the normalised front as whole words, so "RoPE" does not match "Europe". Backs of
  fewer than `MIN_CONTAINED_ANSWER_CHARS` characters are ignored: "a", "no", "2" occur
  in fronts by chance.
- `empty_side`: a blank front or back (basic); a blank text, no deletion at all, or
  deletions that all hide nothing (cloze), since such a card asks nothing (Anki makes no
  card from a cloze note without a deletion). A cloze back is optional extra.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from service.cards.cloze import count_deletions, deletions, plain
from service.cards.dedupe import normalise

__all__ = [
    "ALL_FLAGS",
    "ANSWER_TOO_LONG",
    "CLOZE_DELETIONS",
    "EMPTY_SIDE",
    "FRONT_CONTAINS_BACK",
    "MAX_ANSWER_WORDS",
    "MIN_CONTAINED_ANSWER_CHARS",
    "YES_NO_QUESTION",
    "count_words",
    "is_skippable",
    "quality_flags",
]

EMPTY_SIDE = "empty_side"
YES_NO_QUESTION = "yes_no_question"
ANSWER_TOO_LONG = "answer_too_long"
CLOZE_DELETIONS = "cloze_deletions"
FRONT_CONTAINS_BACK = "front_contains_back"
ALL_FLAGS = (EMPTY_SIDE, YES_NO_QUESTION, ANSWER_TOO_LONG, CLOZE_DELETIONS, FRONT_CONTAINS_BACK)

MAX_ANSWER_WORDS = 40
MIN_CONTAINED_ANSWER_CHARS = 3

_BASIC = "basic"
_CLOZE = "cloze"

# Pandoc's rule: no space just inside the dollars, so "$5 and $10" is not a formula.
_MATH = re.compile(r"\$\$.+?\$\$|\$(?!\s)[^$\n]+?(?<!\s)\$", re.DOTALL)
_WORD = re.compile(r"\S*[^\W_]\S*")

_AUXILIARY = (
    r"(?:(?:is|are|was|were|am|do|does|did|could|would|should|has|have|had|must|might|need)"
    r"(?:n['’]t)?|can|can['’]t|cannot|will|won['’]t|shall|shan['’]t|may)"
)
# Sentence breaks, so context before the question ("In PPO, … . Does it …?") is skipped.
_SENTENCE_BREAK = re.compile(r"[.!?:;](?:\s|\*|_)+|\n")
_LEADING_MARKUP = r"[\s*_~>#`\"'“‘(\[-]*"
_TRAILING_MARKUP = "*_~` \t\n"
_YES_NO_FRONT = re.compile(rf"{_LEADING_MARKUP}{_AUXILIARY}\b", re.IGNORECASE)
_ALTERNATIVES = re.compile(r"\bor\b", re.IGNORECASE)
_OR_NOT = re.compile(r"\bor\s+not\s*\?$", re.IGNORECASE)
_TRUE_OR_FALSE = re.compile(rf"{_LEADING_MARKUP}true\s*(?:or|/)\s*false\b", re.IGNORECASE)
_YES_NO_BACK = re.compile(
    rf"{_LEADING_MARKUP}(?:yes|no|true|false)[*_~]*(?:\s*$|\s*[.,;:!?(—–\n]|\s+-)",
    re.IGNORECASE,
)


def quality_flags(front: str, back: str, kind: str) -> list[str]:
    """The quality flags of a draft, in the order of `ALL_FLAGS`."""
    if kind == _BASIC:
        raised = _basic_flags(front, back)
    elif kind == _CLOZE:
        raised = _cloze_flags(front)
    else:
        raise ValueError(f"unknown card kind: {kind!r}")
    return [flag for flag in ALL_FLAGS if flag in raised]


def is_skippable(flags: Iterable[str]) -> bool:
    """Whether a draft is dropped rather than shown: only an empty side makes it useless."""
    return EMPTY_SIDE in flags


def count_words(text: str) -> int:
    """Words in Markdown with math; each formula is one word (see the module notes)."""
    return len(_WORD.findall(_MATH.sub(" formula ", plain(text))))


def _basic_flags(front: str, back: str) -> set[str]:
    checks = {
        EMPTY_SIDE: not front.strip() or not back.strip(),
        YES_NO_QUESTION: _is_yes_no_front(front) or _is_yes_no_back(back),
        ANSWER_TOO_LONG: count_words(back) > MAX_ANSWER_WORDS,
        CLOZE_DELETIONS: count_deletions(front) + count_deletions(back) > 0,
        FRONT_CONTAINS_BACK: _front_contains_back(front, back),
    }
    return {flag for flag, raised in checks.items() if raised}


def _cloze_flags(text: str) -> set[str]:
    # Nested deletions lie inside a top-level answer: its plain text holds their words.
    answers = [plain(deletion.answer) for deletion in deletions(text)]
    hides_nothing = not any(answer.strip() for answer in answers)
    checks = {
        EMPTY_SIDE: not text.strip() or hides_nothing,
        ANSWER_TOO_LONG: count_words(" ".join(answers)) > MAX_ANSWER_WORDS,
        CLOZE_DELETIONS: count_deletions(text) != 1,
    }
    return {flag for flag, raised in checks.items() if raised}


def _is_yes_no_front(front: str) -> bool:
    if _TRUE_OR_FALSE.match(front):
        return True
    question = _last_sentence(front.rstrip(_TRAILING_MARKUP))
    if not question.endswith("?") or not _YES_NO_FRONT.match(question):
        return False
    return not _ALTERNATIVES.search(question) or bool(_OR_NOT.search(question))


def _last_sentence(text: str) -> str:
    # The final "?" is itself a break; look for breaks before it only.
    breaks = list(_SENTENCE_BREAK.finditer(text, 0, max(len(text) - 1, 0)))
    return text[breaks[-1].end() :] if breaks else text


def _is_yes_no_back(back: str) -> bool:
    return _YES_NO_BACK.match(back) is not None


def _front_contains_back(front: str, back: str) -> bool:
    answer = normalise(back)
    if len(answer) < MIN_CONTAINED_ANSWER_CHARS:
        return False
    return f" {answer} " in f" {normalise(front)} "
