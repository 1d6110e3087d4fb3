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
- `answer_too_long`: more than `MAX_ANSWER_WORDS` (25) words in the back (basic) or in
  the deleted answers together (cloze), counted on the plain text: an answer recalled
  in one go is a phrase, not a paragraph. A `$…$` or `$$…$$`
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
  card from a cloze note without a deletion). A cloze back is optional extra. For a
  cloze text this is `lacks_deletion`, which also keeps such a card out of reviews: it
  may be a draft, but never active (cards/service.py), nor imported (cards/csv_io.py).

The rules below follow Wozniak's twenty rules and Matuschak's guide: one idea per card,
a precise question, a short answer, a list learnt item by item.

- `vague_stem` (basic only): the front asks for an essay, not for one thing to recall.
  (1) It opens with "Explain", "Describe", "Discuss", "Talk about", "Tell me about" or
  "What do you know about", after any Markdown markers and after one short leading
  clause that sets the context ("In PPO, explain …", "Q: describe …"). An opener
  bounded at once by a length ("Explain in one sentence why …") asks for a short
  answer and is not vague; "Explainability …" is not the word "Explain".
  (2) Or the whole front is "What is/are/'s X?" with X one or two words after an
  optional article ("What is attention?", "What is a KV cache?"): no context, no
  qualifier, so any of a dozen true answers fits. "What is X for?" asks for a purpose
  and is not vague; any context ("In GQA, what is …", "What is X in PPO?") makes the
  question precise enough. A formula counts as one word here too.
  (3) Or the front has fewer than `MIN_STEM_WORDS` words ("Softmax saturation?"). A
  blank front is `empty_side` only.
- `list_answer` (basic only): the back is a list of `MIN_LIST_ITEMS` or more items,
  which are remembered one by one and are better one card each (or overlapping
  clozes of one sentence). Either as many Markdown bullet or numbered lines, or as
  many short items separated by commas or semicolons, the last one possibly joined by
  "and"/"or" ("Q, K and V", "queries, keys, and values"). An item is short when it has
  at most `MAX_LIST_ITEM_WORDS` words (a formula is one), holds no auxiliary verb ("is",
  "has", …) and does not open with a connective ("because", "so", "which", …): those
  make it a clause. So a sentence with commas is not a list: "Because the dot products
  grow, the softmax saturates, and gradients vanish" opens with "Because", and without
  it "The dot products grow" is four words. Items of four words or more are missed.
  Commas inside formulas, brackets ("(Su et al., 2021)") or between digits ("1,000")
  separate nothing. Known miss in the other direction: three clauses of two words each
  ("Logits grow, softmax saturates, gradients vanish") read as a list, which a chain of
  reasoning also is (split it).
- `multi_part_question` (basic only): the front asks two things: two question marks
  outside formulas and code spans ("Is attention equivariant? Why?"); or "and why",
  "and how", "and what" joining a second question ("What does RoPE rotate and why?");
  or two or more part markers "(a)", "b)", "(ii)", "(2)" after a space or at the start.
  "Equation (1)" or "Eq. (2)" refers to an equation and is not a part marker.
- `cloze_answer_elsewhere` (cloze only): a deletion's answer can be read off the card:
  its normalised text (see `dedupe.normalise`) occurs as whole words in the text
  outside that deletion (the other deletions show their answers), in its own hint, or
  in the back (extra). Answers shorter than `MIN_CONTAINED_ANSWER_CHARS` are ignored,
  as for `front_contains_back`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from service.cards.cloze import Deletion, count_deletions, deletions, plain
from service.cards.dedupe import normalise

__all__ = [
    "ALL_FLAGS",
    "ANSWER_TOO_LONG",
    "CLOZE_ANSWER_ELSEWHERE",
    "CLOZE_DELETIONS",
    "EMPTY_SIDE",
    "FRONT_CONTAINS_BACK",
    "LIST_ANSWER",
    "MAX_ANSWER_WORDS",
    "MAX_LIST_ITEM_WORDS",
    "MIN_CONTAINED_ANSWER_CHARS",
    "MIN_LIST_ITEMS",
    "MIN_STEM_WORDS",
    "MULTI_PART_QUESTION",
    "VAGUE_STEM",
    "WRITE_A_DELETION",
    "YES_NO_QUESTION",
    "count_words",
    "is_skippable",
    "lacks_deletion",
    "quality_flags",
]

EMPTY_SIDE = "empty_side"
YES_NO_QUESTION = "yes_no_question"
ANSWER_TOO_LONG = "answer_too_long"
CLOZE_DELETIONS = "cloze_deletions"
FRONT_CONTAINS_BACK = "front_contains_back"
VAGUE_STEM = "vague_stem"
LIST_ANSWER = "list_answer"
MULTI_PART_QUESTION = "multi_part_question"
CLOZE_ANSWER_ELSEWHERE = "cloze_answer_elsewhere"
# New codes go at the end: stored cards and clients rely on the order of the old ones.
ALL_FLAGS = (
    EMPTY_SIDE,
    YES_NO_QUESTION,
    ANSWER_TOO_LONG,
    CLOZE_DELETIONS,
    FRONT_CONTAINS_BACK,
    VAGUE_STEM,
    LIST_ANSWER,
    MULTI_PART_QUESTION,
    CLOZE_ANSWER_ELSEWHERE,
)

# What to tell a learner whose cloze card has no deletion (see `lacks_deletion`).
WRITE_A_DELETION = (
    "A cloze card needs at least one deletion, or it has nothing to ask: mark the part to "
    "recall as {{c1::answer}} (with an optional hint: {{c1::answer::hint}}; numbers start "
    "at c1)."
)

MAX_ANSWER_WORDS = 25
MIN_CONTAINED_ANSWER_CHARS = 3
MIN_STEM_WORDS = 4
MIN_LIST_ITEMS = 3
MAX_LIST_ITEM_WORDS = 3

_BASIC = "basic"
_CLOZE = "cloze"

# Pandoc's rule: no space just inside the dollars, so "$5 and $10" is not a formula.
_MATH = re.compile(r"\$\$.+?\$\$|\$(?!\s)[^$\n]+?(?<!\s)\$", re.DOTALL)
_CODE = re.compile(r"`[^`\n]*`")
# A word is a whitespace-separated token with a letter or digit in it. (Tested token by
# token: a pattern like \S*[^\W_]\S* rescans a long token of symbols from every start.)
_LETTER_OR_DIGIT = re.compile(r"[^\W_]")

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

# vague_stem: an essay opener, after at most one short context clause ("In PPO, ").
# The markup runs are possessive (`*+`): the clause may not take back what they matched,
# or a long run of `*` would be tried split at every point (quadratic on model output).
_MARKUP_RUN = _LEADING_MARKUP + "+"
_CONTEXT_CLAUSE = r"(?:[^,:;?.\n]{1,80}[,:])?"
_ESSAY_OPENER = re.compile(
    rf"{_MARKUP_RUN}{_CONTEXT_CLAUSE}{_MARKUP_RUN}"
    r"(?:explain|describe|discuss|talk\s+about|tell\s+me\s+about|what\s+do\s+you\s+know\s+about)"
    r"\b(?!\s+in\s+(?:one|a|two|three|\d+)\s+(?:words?|phrases?|sentences?|lines?|numbers?)\b)",
    re.IGNORECASE,
)
_BARE_WHAT_IS = re.compile(
    rf"{_LEADING_MARKUP}what(?:\s+is|\s+are|['’]s)\s+(?:(?:a|an|the)\s+)?"
    r"(?P<subject>[^\s?]+(?:\s+[^\s?]+)?)\s*\?[*_~`\s]*",
    re.IGNORECASE,
)
_PURPOSE = re.compile(r"\bfor$", re.IGNORECASE)

# list_answer
_LIST_LINE = re.compile(r"^[ \t]*(?:[-*+•]|\d{1,2}[.)])[ \t]+\S", re.MULTILINE)
# A comma between two digits is a thousands separator ("1,000"), not a break.
_ITEM_SEPARATOR = re.compile(r";|,(?!\d)|(?<!\d),")
_LAST_ITEM_JOINER = re.compile(r"\s+(?:and|or|&)\s+", re.IGNORECASE)
_LEADING_CONJUNCTION = re.compile(r"^(?:and|or|&)\s+", re.IGNORECASE)
# A piece opening with one of these is a clause of a sentence, not an item of a list.
_CONNECTIVE = re.compile(
    rf"{_LEADING_MARKUP}(?:because|since|as|when|whenever|if|although|though|while|unless|"
    r"once|so|thus|hence|therefore|but|then|which|where|that)\b",
    re.IGNORECASE,
)
_CLAUSE_VERB = re.compile(rf"\b{_AUXILIARY}\b", re.IGNORECASE)
_OPENING_BRACKETS = "([{"
_CLOSING_BRACKETS = ")]}"

# multi_part_question
_JOINED_QUESTION = re.compile(r"\band\s+(?:why|how|what)\b", re.IGNORECASE)
_EQUATION_NUMBER = re.compile(r"\b(?:eqs?\.?|equations?)\s*\(\d+\)", re.IGNORECASE)
_PART_MARKER = re.compile(
    r"(?:^|(?<=\s))\(?([a-e]|[1-5]|i{1,3}|iv)\)(?=[\s?,.:;]|$)", re.IGNORECASE
)


def quality_flags(front: str, back: str, kind: str) -> list[str]:
    """The quality flags of a draft, in the order of `ALL_FLAGS`."""
    if kind == _BASIC:
        raised = _basic_flags(front, back)
    elif kind == _CLOZE:
        raised = _cloze_flags(front, back)
    else:
        raise ValueError(f"unknown card kind: {kind!r}")
    return [flag for flag in ALL_FLAGS if flag in raised]


def is_skippable(flags: Iterable[str]) -> bool:
    """Whether a draft is dropped rather than shown: only an empty side makes it useless."""
    return EMPTY_SIDE in flags


def lacks_deletion(text: str) -> bool:
    """Whether a cloze text hides nothing: no deletion (`c0` is none, see cloze.py), or
    only deletions with blank answers (`{{c1::}}`). Such a card cannot be reviewed."""
    return not any(plain(deletion.answer).strip() for deletion in deletions(text))


def count_words(text: str) -> int:
    """Words in Markdown with math; each formula is one word (see the module notes)."""
    tokens = _MATH.sub(" formula ", plain(text)).split()
    return sum(1 for token in tokens if _LETTER_OR_DIGIT.search(token))


def _basic_flags(front: str, back: str) -> set[str]:
    checks = {
        EMPTY_SIDE: not front.strip() or not back.strip(),
        YES_NO_QUESTION: _is_yes_no_front(front) or _is_yes_no_back(back),
        ANSWER_TOO_LONG: count_words(back) > MAX_ANSWER_WORDS,
        CLOZE_DELETIONS: count_deletions(front) + count_deletions(back) > 0,
        FRONT_CONTAINS_BACK: _front_contains_back(front, back),
        VAGUE_STEM: bool(front.strip()) and _is_vague_stem(front),
        LIST_ANSWER: _is_list(back),
        MULTI_PART_QUESTION: _asks_several_things(front),
    }
    return {flag for flag, raised in checks.items() if raised}


def _cloze_flags(text: str, extra: str) -> set[str]:
    # Nested deletions lie inside a top-level answer: its plain text holds their words.
    found = deletions(text)
    answers = [plain(deletion.answer) for deletion in found]
    checks = {
        # `lacks_deletion(text)`, from the deletions at hand; a blank text has none.
        EMPTY_SIDE: not any(answer.strip() for answer in answers),
        ANSWER_TOO_LONG: count_words(" ".join(answers)) > MAX_ANSWER_WORDS,
        CLOZE_DELETIONS: count_deletions(text) != 1,
        CLOZE_ANSWER_ELSEWHERE: any(_shown_elsewhere(text, d, extra) for d in found),
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
    return _contains_answer(normalise(front), normalise(back))


def _contains_answer(text: str, answer: str) -> bool:
    """Whether normalised `answer` occurs in normalised `text` as whole words."""
    if len(answer) < MIN_CONTAINED_ANSWER_CHARS:
        return False
    return f" {answer} " in f" {text} "


def _is_vague_stem(front: str) -> bool:
    # Formulas become one word, so "What is $\sqrt{d_k}$?" has a one-word subject.
    flat = _MATH.sub("formula", plain(front)).strip()
    return (
        _ESSAY_OPENER.match(flat) is not None
        or _is_bare_what_is(flat)
        or count_words(front) < MIN_STEM_WORDS
    )


def _is_bare_what_is(flat: str) -> bool:
    question = _BARE_WHAT_IS.fullmatch(flat)
    return question is not None and not _PURPOSE.search(question["subject"])


def _is_list(back: str) -> bool:
    if len(_LIST_LINE.findall(back)) >= MIN_LIST_ITEMS:
        return True
    flat = _MATH.sub("formula", plain(back)).strip().rstrip(".!")
    items = _inline_items(flat)
    return len(items) >= MIN_LIST_ITEMS and all(map(_is_short_item, items))


def _inline_items(flat: str) -> list[str]:
    """The comma or semicolon separated items, the last split at its "and"/"or"."""
    pieces = [_LEADING_CONJUNCTION.sub("", piece.strip()) for piece in _split_outside(flat)]
    if len(pieces) < 2:
        return pieces
    *firsts, last = pieces
    return [*firsts, *_LAST_ITEM_JOINER.split(last)]


def _split_outside(text: str) -> list[str]:
    """`text` split at item separators outside brackets ("softmax(x, y)" is one item)."""
    pieces: list[str] = []
    depth = start = 0
    for position, char in enumerate(text):
        if char in _OPENING_BRACKETS:
            depth += 1
        elif char in _CLOSING_BRACKETS:
            depth = max(depth - 1, 0)
        elif depth == 0 and _ITEM_SEPARATOR.match(text, position):
            pieces.append(text[start:position])
            start = position + 1
    pieces.append(text[start:])
    return pieces


def _is_short_item(item: str) -> bool:
    return (
        0 < count_words(item) <= MAX_LIST_ITEM_WORDS
        and not _CONNECTIVE.match(item)
        and not _CLAUSE_VERB.search(item)
    )


def _asks_several_things(front: str) -> bool:
    flat = _CODE.sub(" ", _MATH.sub(" ", plain(front)))
    parts = _PART_MARKER.findall(_EQUATION_NUMBER.sub(" ", flat))
    return (
        flat.count("?") >= 2
        or _JOINED_QUESTION.search(flat) is not None
        or len({part.casefold() for part in parts}) >= 2
    )


def _shown_elsewhere(text: str, deletion: Deletion, extra: str) -> bool:
    # What the learner sees while this deletion is hidden: the rest of the text (other
    # deletions show their answers), the deletion's own hint, and the extra on the back.
    visible = " ".join((text[: deletion.start], deletion.hint or "", text[deletion.end :], extra))
    return _contains_answer(normalise(visible), normalise(deletion.answer))
