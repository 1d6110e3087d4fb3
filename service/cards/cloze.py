"""Anki cloze deletions: `{{c1::answer}}` and `{{c1::answer::hint}}`, parsed without I/O.

Anki ends a deletion at the first `}}` after its start (a non-greedy match). Our answers
are full of LaTeX, where `}}` is common *inside* the answer: in
`{{c1::$\\frac{1}{\\sqrt{d_k}}$}}` the first `}}` closes `\\sqrt{d_k}`, and Anki's rule would
cut the formula in half. So braces are counted instead:

- a deletion ends at the `}}` that closes its own `{{`, braces in between balanced;
- a backslash escapes the next character, so LaTeX's literal braces `\\{` and `\\}` do not
  count (and `\\\\` is one escaped backslash);
- the hint starts at the first `::` inside the deletion that is not inside a brace group.

When the braces in a deletion do not balance (a stray `{` or `}` in the answer), Anki's own
rule applies to it: the first `}}` ends it and the first `::` starts the hint. Without
any `}}` after it, `{{c1::` is plain text, and so is a deletion numbered `c0`.

`deletions` lists top-level deletions: Anki 2.1.56 allows `{{c1::a {{c2::b}}}}`, where c2 is
part of c1's answer. `count_deletions` counts nested ones too; `plain` and `reveal` show
them as their bare answers; a `{{cN::` inside a hint is hint text.

The text is untrusted (model output), so parsing is one pass over it plus binary
searches: no recursion that deep nesting could overflow, no rescans that could make
nested or unbalanced input quadratic.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

__all__ = [
    "HIDDEN_WITHOUT_HINT",
    "Deletion",
    "count_deletions",
    "deletions",
    "hide",
    "plain",
    "reveal",
]

HIDDEN_WITHOUT_HINT = "[…]"

_OPENING = re.compile(r"\{\{c(\d+)::")
_BRACE_TOKEN = re.compile(r"\\.|[{}]|::", re.DOTALL)
_DOUBLE_CLOSE = re.compile(r"(?=\}\})")
_DOUBLE_COLON = re.compile(r"(?=::)")
_MATH_TOKEN = re.compile(r"\\.|\$\$|\$", re.DOTALL)


@dataclass(frozen=True, slots=True)
class Deletion:
    """One `{{cN::answer::hint}}`; `start`/`end` slice it out of the text it came from."""

    number: int
    answer: str
    hint: str | None
    start: int
    end: int


def deletions(text: str) -> list[Deletion]:
    """The top-level cloze deletions in `text`, in order of appearance."""
    return [_deletion(text, span) for span in _spans(text) if span.nesting_depth == 0]


def count_deletions(text: str) -> int:
    """How many deletions `text` has, nested ones included."""
    return len(_spans(text))


def hide(text: str, number: int | None = None) -> str:
    """The card's front: each deletion shown as `[hint]`, or `[…]` without a hint.

    With `number`, only the deletions numbered so are asked, as on Anki's card for that
    number (a card imported from Anki is one of its note's cards); the others show
    their answers, plainly.
    """
    return _replace_top_level(text, _hidden, number)


def reveal(text: str, number: int | None = None) -> str:
    """The card's back: each deletion asked shown as its answer, in bold outside
    formulas; with `number`, the other deletions show their answers plainly."""
    return _replace_top_level(text, _revealed, number)


def plain(text: str) -> str:
    """The text with every deletion, nested ones included, replaced by its bare answer."""
    markup: list[tuple[int, int]] = []
    for span in _spans(text):
        markup += [(span.start, span.body_start), (span.answer_end, span.end)]
    # Nested deletions lie inside their parent's answer, so no two markup ranges overlap.
    kept: list[str] = []
    position = 0
    for markup_start, markup_end in sorted(markup):
        kept.append(text[position:markup_start])
        position = markup_end
    kept.append(text[position:])
    return "".join(kept)


@dataclass(frozen=True, slots=True)
class _Span:
    """Where one deletion's parts are: `{{cN::` at start, answer, `::hint`, `}}` at close."""

    number: int
    start: int
    body_start: int
    answer_end: int  # where `::hint` starts, or `close` without a hint
    close: int
    nesting_depth: int

    @property
    def end(self) -> int:
        return self.close + len("}}")


@dataclass(frozen=True, slots=True)
class _Braces:
    """Everything a deletion's ends depend on, found in one pass over the text."""

    closing_brace: dict[int, int]  # position of a `{` → position of the `}` closing it
    separators_in: dict[int, list[int]]  # position of a `{` → `::` directly inside it
    double_closes: list[int]  # every `}}`, for Anki's rule
    double_colons: list[int]  # every `::`, for Anki's rule


def _spans(text: str) -> list[_Span]:
    braces = _find_braces(text)
    found: list[_Span] = []
    enclosing: list[_Span] = []  # the deletions whose answer we are in, innermost last
    for opening in _OPENING.finditer(text):
        start = opening.start()
        while enclosing and start >= enclosing[-1].end:
            enclosing.pop()
        parent = enclosing[-1] if enclosing else None
        if parent is not None and start >= parent.answer_end:
            continue  # inside a hint: hints are shown as they are
        number, body_start = int(opening.group(1)), opening.end()
        limit = len(text) if parent is None else parent.answer_end
        ends = _balanced_ends(text, braces, start, body_start, limit) or _anki_ends(
            braces, body_start, limit
        )
        if number < 1 or ends is None:
            continue
        answer_end, close = ends
        span = _Span(number, start, body_start, answer_end, close, len(enclosing))
        found.append(span)
        enclosing.append(span)
    return found


def _find_braces(text: str) -> _Braces:
    closing_brace: dict[int, int] = {}
    separators_in: defaultdict[int, list[int]] = defaultdict(list)
    open_braces: list[int] = []
    for token in _BRACE_TOKEN.finditer(text):
        symbol, position = token.group(), token.start()
        if symbol == "{":
            open_braces.append(position)
        elif symbol == "}" and open_braces:
            closing_brace[open_braces.pop()] = position
        elif symbol == "::" and open_braces:
            separators_in[open_braces[-1]].append(position)
    return _Braces(
        closing_brace,
        dict(separators_in),
        [match.start() for match in _DOUBLE_CLOSE.finditer(text)],
        [match.start() for match in _DOUBLE_COLON.finditer(text)],
    )


def _balanced_ends(
    text: str, braces: _Braces, start: int, body_start: int, limit: int
) -> tuple[int, int] | None:
    """(answer end, close) by counting braces, or None if they do not balance."""
    # `{{cN::` opens two groups; the deletion's body is directly inside the second one.
    inner_brace = start + 1
    close = braces.closing_brace.get(inner_brace)
    if close is None or close + len("}}") > limit or not text.startswith("}", close + 1):
        return None
    separator = _first_at_or_after(braces.separators_in.get(inner_brace, []), body_start)
    return (close if separator is None else separator), close


def _anki_ends(braces: _Braces, body_start: int, limit: int) -> tuple[int, int] | None:
    """(answer end, close) by Anki's rule, or None if no `}}` closes within `limit`."""
    close = _first_at_or_after(braces.double_closes, body_start)
    if close is None or close + len("}}") > limit:
        return None
    separator = _first_at_or_after(braces.double_colons, body_start)
    if separator is None or separator + len("::") > close:
        return close, close
    return separator, close


def _first_at_or_after(positions: Sequence[int], position: int) -> int | None:
    index = bisect_left(positions, position)
    return positions[index] if index < len(positions) else None


def _deletion(text: str, span: _Span) -> Deletion:
    answer = text[span.body_start : span.answer_end]
    # Anki shows `[...]` for an empty hint, so a blank hint is no hint.
    hint = text[span.answer_end + len("::") : span.close].strip() or None
    return Deletion(span.number, answer, hint, span.start, span.end)


def _math_spans(text: str) -> list[tuple[int, int]]:
    """Where `$…$` and `$$…$$` formulas are, in order; escaped dollars do not count."""
    spans: list[tuple[int, int]] = []
    opened: tuple[int, str] | None = None
    for token in _MATH_TOKEN.finditer(text):
        if token.group().startswith("\\"):
            continue
        if opened is None:
            opened = (token.start(), token.group())
        elif token.group() == opened[1]:
            spans.append((opened[0], token.end()))
            opened = None
    return spans


def _inside(spans: list[tuple[int, int]], position: int) -> bool:
    index = bisect_left(spans, (position, position)) - 1
    return index >= 0 and spans[index][0] < position < spans[index][1]


def _replace_top_level(
    text: str, replacement: Callable[[Deletion, bool], str], number: int | None = None
) -> str:
    pieces: list[str] = []
    position = 0
    math = _math_spans(text)
    for deletion in deletions(text):
        in_math = _inside(math, deletion.start)
        asked = number is None or deletion.number == number
        shown = replacement(deletion, in_math) if asked else plain(deletion.answer)
        pieces += [text[position : deletion.start], shown]
        position = deletion.end
    pieces.append(text[position:])
    return "".join(pieces)


def _hidden(deletion: Deletion, _in_math: bool) -> str:
    return f"[{deletion.hint}]" if deletion.hint else HIDDEN_WITHOUT_HINT


def _revealed(deletion: Deletion, in_math: bool) -> str:
    answer = plain(deletion.answer)
    core = answer.strip()
    # Inside a formula Markdown's `**` would be literal asterisks in the math.
    if not core or in_math:
        return answer
    # Markdown ignores `** answer**`, so surrounding spaces stay outside the markers.
    leading = answer[: len(answer) - len(answer.lstrip())]
    trailing = answer[len(answer.rstrip()) :]
    return f"{leading}**{core}**{trailing}"
