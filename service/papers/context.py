"""A passage's place in its paper, as the prompt gives it: the PAPER CONTEXT block.

Where the passage sits (the paper's title, the section, the page, the numbers of the
equations in it) and the symbols it uses as the paper defined them earlier, so that
"divide each by $\\sqrt{d_k}$" comes with "d_k: the dimension of the keys (§3.2)".
Pure functions: the caller reads the blocks and the symbol table (queries.py), and
freezes the text built here, so every later turn repeats it byte for byte.

Which symbols a passage uses: its text and its blocks' (a PDF's plain text, a LaTeX
source's text with `$…$` math, and equations' LaTeX) are read for symbol-shaped
pieces, each keyed as `symbol_names.symbol_key` keys the paper's definitions, so
`d_{k}`, `d_k` and a PDF's `d_k` are one, as `π_θ` and `\\pi_\\theta` are. What would
bring in definitions the passage does not use is left out on purpose:

- a run of letters is a word, not a product of symbols: `dk` is not `d_k` (a PDF that
  lost a subscript, or a word of prose), and `softmax` holds no `t`; in LaTeX math a run
  of two letters (`QK^T`) is two symbols, three or more (`pos`, `exp`) a word;
- in prose, a lone letter is a symbol only away from an apostrophe ("it's"), an
  abbreviation ("e.g.") and the words "a", "A", "I";
- a subscript makes another symbol (`d_k` says nothing of `d`), a superscript does not
  (`K^T` uses `K`).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

from service.papers.document import Block, BlockKind
from service.papers.symbol_names import GREEK_LETTERS, symbol_key

# At most this many tokens of context, and never more than this share of a passage's
# budget: the passage is what the learner asked about, its context only helps.
MOST_CONTEXT_TOKENS = 300
CONTEXT_SHARE_OF_PASSAGE = 4
# Titles and headings are the paper's text: long ones are cut, so the place always fits.
_LONGEST_NAME = 200

_STYLES = (
    "hat|tilde|bar|vec|dot|ddot|check|breve|widehat|widetilde|overline|underline|"
    "mathbf|mathcal|mathbb|mathrm|mathit|mathsf|mathscr|mathfrak|boldsymbol|bm"
)
_GROUP = r"\{(?:[^{}]|\{(?:[^{}]|\{[^{}]*\})*\})*\}"
_ARGUMENT = rf"(?:{_GROUP}|\\[A-Za-z]+|[A-Za-z0-9*{GREEK_LETTERS}])"
_SCRIPTS = rf"(?P<scripts>(?:\s*[_^]\s*{_ARGUMENT}|'|\\prime)*)"
# A piece of LaTeX math that may be a symbol: a styled letter (`\hat{A}`, `\hat A`), a
# control word (`\pi`; `\frac` and `\sqrt` are no symbol's key), or a run of letters.
_MATH_PIECE = re.compile(
    rf"(?P<base>\\(?:{_STYLES})\s*(?:{_GROUP}|\\[A-Za-z]+|[A-Za-z])"
    rf"|\\[A-Za-z]+|(?P<letters>[A-Za-z]+)){_SCRIPTS}"
)
# A symbol in prose, as a PDF's text layer writes it (pdf.py sets scripts as `_k`,
# `^{T}`): one letter, Latin or Greek, an accent, scripts, primes.
_PROSE_SYMBOL = re.compile(
    rf"(?<![\w\\'’.])(?P<symbol>[A-Za-z{GREEK_LETTERS}][\u0302\u0303\u0304\u0305]?"
    rf"(?:[_^](?:\{{[^{{}}\s]{{1,20}}\}}|[A-Za-z0-9{GREEK_LETTERS}]+))*'*)"
    r"(?![\w'’]|\.\w)"
)
_NOT_SYMBOLS = frozenset({"a", "A", "I"})
_INLINE_MATH = re.compile(r"(?<!\\)\$\$?(?P<math>[^$]+?)(?<!\\)\$\$?|\\\((?P<paren>.+?)\\\)", re.S)
_LAST_SUPERSCRIPT = re.compile(r"\^(?:\{[^{}]*\}|\\[A-Za-z]+|[^{}_^])$")
_LONGEST_SCAN = 50_000


def symbols_used(*, prose: Iterable[str], math: Iterable[str] = ()) -> set[str]:
    """The keys of the symbols these texts use: `prose` with any math between `$` signs
    (a paragraph, a PDF's equation, the learner's selection), `math` LaTeX math (an
    equation's source)."""
    used: set[str] = set()
    for text in prose:
        used |= _symbols_in_text(text[:_LONGEST_SCAN])
    for formula in math:
        used |= symbols_in_math(formula[:_LONGEST_SCAN])
    return used


def symbols_in_math(math: str) -> set[str]:
    """The keys of the symbols a piece of LaTeX math uses."""
    used: set[str] = set()
    for match in _MATH_PIECE.finditer(math):
        scripts = match["scripts"] or ""
        letters = match["letters"]
        if letters is not None:
            if len(letters) > 2:
                continue  # a word (`pos`, `exp`), not a product of symbols
            used.update(_with_base(letter) for letter in letters[:-1])
            used.update(_keys(letters[-1] + scripts))
        else:
            used.update(_keys(match[0]))
        for group in re.finditer(_GROUP, scripts):
            used |= symbols_in_math(group[0][1:-1])
    used.discard("")
    return used


def _symbols_in_text(text: str) -> set[str]:
    used: set[str] = set()
    prose: list[str] = []
    start = 0
    for match in _INLINE_MATH.finditer(text):
        prose.append(text[start : match.start()])
        used |= symbols_in_math(match["math"] or match["paren"] or "")
        start = match.end()
    prose.append(text[start:])
    for piece in prose:
        used |= _symbols_in_prose(piece)
    return used


def _symbols_in_prose(text: str) -> set[str]:
    decomposed = unicodedata.normalize("NFD", text)
    used: set[str] = set()
    for match in _PROSE_SYMBOL.finditer(decomposed):
        if match["symbol"] not in _NOT_SYMBOLS:
            used.update(_keys(match["symbol"]))
    return used


def _keys(written: str) -> Iterator[str]:
    """The symbol's key, and its key without a last superscript (`K^T` uses `K`)."""
    key = symbol_key(written)
    if key is None:
        return
    yield key
    bare = _LAST_SUPERSCRIPT.sub("", key)
    if bare != key and (bare_key := symbol_key(bare)):
        yield bare_key


def _with_base(letter: str) -> str:
    return symbol_key(letter) or ""


@dataclass(frozen=True)
class DefinedSymbol:
    """A symbol of the paper's table, with where its definition is."""

    symbol: str
    definition: str
    # The paper-wide position of the block that defines it.
    block: int
    section_number: str | None
    section_heading: str


@dataclass(frozen=True)
class PassagePlace:
    """Where a passage sits in its paper: the section of its first block."""

    paper_title: str
    section_number: str | None
    section_heading: str
    first_page: int | None
    last_page: int | None


def context_cap(passage_budget: int) -> int:
    """How many tokens a passage's context may take."""
    return min(MOST_CONTEXT_TOKENS, passage_budget // CONTEXT_SHARE_OF_PASSAGE)


def symbols_for(
    defined: Sequence[DefinedSymbol], *, first_block: int, used: set[str]
) -> list[DefinedSymbol]:
    """The symbols defined before the passage (before its first block) that it uses, in
    the order the paper defines them."""
    return [s for s in defined if s.block < first_block and s.symbol in used]


def paper_context(
    place: PassagePlace,
    blocks: Sequence[Block],
    symbols: Sequence[DefinedSymbol],
    *,
    cap: int,
    count: Callable[[str], int],
) -> tuple[str, int]:
    """The context's text (to be fenced: it is the paper's words) and its tokens: the
    place always, then the symbols that fit within `cap` tokens, earliest first."""
    lines = _place_lines(place, blocks)
    text = "\n".join(lines)
    tokens = count(text)
    kept: list[str] = []
    for symbol in symbols:
        line = f"- {_one_line(symbol.symbol)}: {_one_line(symbol.definition)} ({_where(symbol)})"
        candidate = "\n".join([*lines, _SYMBOLS_HEADING, *kept, line])
        candidate_tokens = count(candidate)
        if candidate_tokens > cap:
            break
        kept.append(line)
        text, tokens = candidate, candidate_tokens
    return text, tokens


_SYMBOLS_HEADING = "Symbols the passage uses, as the paper defined them earlier:"


def _place_lines(place: PassagePlace, blocks: Sequence[Block]) -> list[str]:
    section = _short(place.section_heading)
    if place.section_number:
        section = f"§{place.section_number} {section}"
    lines = [f"Paper: {_short(place.paper_title)}", f"Section: {section}"]
    if place.first_page is not None:
        pages = place.first_page, place.last_page or place.first_page
        lines.append(
            f"Page: {pages[0]}" if pages[0] == pages[1] else f"Pages: {pages[0]}–{pages[1]}"
        )
    labels = [b.label for b in blocks if b.kind is BlockKind.equation and b.label]
    if labels:
        lines.append("Equations in the passage: " + ", ".join(_one_line(x) for x in labels))
    return lines


def _where(symbol: DefinedSymbol) -> str:
    if symbol.section_number:
        return f"§{symbol.section_number}"
    return f"in {_short(symbol.section_heading)}"


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _short(text: str) -> str:
    text = _one_line(text)
    return text if len(text) <= _LONGEST_NAME else text[: _LONGEST_NAME - 1].rstrip() + "…"
