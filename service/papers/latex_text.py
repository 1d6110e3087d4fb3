"""LaTeX as a reader sees it: prose with its inline math kept as `$…$`, an equation
as near as Unicode gets (`softmax(QK^T/√(d_k))V`).

pylatexenc (LatexNodes2Text) turns the markup into text: `\\emph{keys}` into "keys",
`` ``quotes'' `` into “quotes”, accents into letters. Before it runs, what only this
paper knows is put in: `\\ref{sec:attention}` becomes the number LaTeX would print
there, `\\eqref{eq:1}` "(1)"; citations are dropped (their numbers live in the
bibliography, which is not read). Inline math is left as written between `$`s: its
LaTeX is exact, the symbol table reads it, and a reader can render it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from pylatexenc.latex2text import LatexNodes2Text

from service.papers.latex_syntax import read_group

_PROSE = LatexNodes2Text(math_mode="verbatim")
_MATH = LatexNodes2Text(math_mode="text")
# Past this a paragraph is not one: pylatexenc's time grows with it, and the crude
# reading below does as well for a reader.
_LONGEST_PARAGRAPH = 50_000

_REF = re.compile(r"\\(?P<kind>eq|auto|c|C|page|name)?ref\*?\s*\{(?P<labels>[^{}]*)\}")
_CITE = re.compile(
    r"[~\s]*\\(?:[A-Za-z]*cite[A-Za-z]*|nocite)\*?\s*(?:\[[^\]]*\]\s*){0,2}\{[^{}]*\}"
)
_LABEL = re.compile(r"\\label\s*\{[^{}]*\}")
_INLINE_MATH = re.compile(r"\\\((?P<math>.*?)\\\)", re.DOTALL)
_NBSP = re.compile(r"[\u00a0\s]+")
_SPACE_BEFORE_PUNCTUATION = re.compile(r" +(?=[,.;:)])")
_CONTROL_WORD = re.compile(r"\\[A-Za-z@]+\*?")


class TextConverter:
    """Converts one paper's LaTeX, knowing what its `\\label`s number."""

    def __init__(self, labels: Mapping[str, str]) -> None:
        self._labels = labels

    def prose(self, latex: str) -> str:
        """A paragraph or a heading as text, inline math kept as `$…$`."""
        prepared = self._resolved(latex)
        prepared = _INLINE_MATH.sub(lambda match: f"${match['math']}$", prepared)
        prepared = _ensuremath_as_math(prepared)
        return _tidy(_to_text(_PROSE, prepared))

    def math(self, latex: str) -> str:
        """A displayed equation as Unicode text, for search and for readers without
        math rendering; its LaTeX is kept beside it."""
        return _tidy(_to_text(_MATH, self._resolved(latex)))

    def _resolved(self, latex: str) -> str:
        latex = _CITE.sub("", latex)
        latex = _LABEL.sub("", latex)
        return _REF.sub(self._reference, latex)

    def _reference(self, match: re.Match[str]) -> str:
        numbers = [self._labels.get(label.strip(), "?") for label in match["labels"].split(",")]
        if match["kind"] == "eq":
            return ", ".join(f"({number})" for number in numbers)
        return ", ".join(numbers)


def _ensuremath_as_math(latex: str) -> str:
    """`\\ensuremath{d_k}` in prose is math: `$d_k$`. (Inside `$…$` it is left alone,
    being verbatim there.)"""
    pieces: list[str] = []
    position = 0
    for match in re.finditer(r"\\ensuremath(?![A-Za-z])", latex):
        if match.start() < position:
            continue
        group = read_group(latex, match.end())
        if group is None:
            continue
        pieces.append(latex[position : match.start()])
        pieces.append(f"${group[0]}$" if not _in_math(latex, match.start()) else group[0])
        position = group[1]
    pieces.append(latex[position:])
    return "".join(pieces)


def _in_math(latex: str, position: int) -> bool:
    # An odd number of unescaped `$` before it: inside inline math.
    return len(re.findall(r"(?<!\\)\$", latex[:position])) % 2 == 1


def _to_text(converter: LatexNodes2Text, latex: str) -> str:
    if len(latex) > _LONGEST_PARAGRAPH:
        return _crude_text(latex)
    try:
        text: str = converter.latex_to_text(latex)
    except (RecursionError, ValueError, IndexError, KeyError, TypeError):
        # pylatexenc recurses per nested group, and a hostile paper nests thousands.
        return _crude_text(latex)
    return text


def _crude_text(latex: str) -> str:
    """Markup stripped without parsing: what is left when a parser gave up."""
    return _CONTROL_WORD.sub(" ", latex).replace("{", "").replace("}", "")


def _tidy(text: str) -> str:
    text = _NBSP.sub(" ", text).strip()
    return _SPACE_BEFORE_PUNCTUATION.sub("", text)
