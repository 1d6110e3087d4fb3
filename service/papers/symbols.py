"""The symbol table of a paper: the symbols it defines in words, where it first does.

"where $d_k$ is the dimension of the keys" makes `d_k` mean "the dimension of the
keys" from that paragraph on; a passage that uses `d_k` later gets that definition in
its prompt. Found in the text blocks of either origin: a LaTeX source's inline math
(`$d_k$`), or a PDF's text, where math is plain characters (`d_k`, `π_θ`, `Â_t`, as
pdf.py writes scripts). Each symbol is keyed as `symbol_names.symbol_key` writes it.

The phrasings read, in the order they are tried within a paragraph:

- "where $X$ is / are / denotes / represents / stands for / refers to …", and the
  clauses chained on it: "…, $Y$ is …, and $Z$ the …";
- "let $X$ be / denote …";
- "$X$ denotes / represents / stands for …", "$X$ is the / a / an …";
- "we denote … by $X$", "we denote by $X$ the …", "…, denoted (by) $X$";
- an apposition, "the reference policy $\\pi_{\\text{ref}}$", where nothing stronger said it.

Several symbols at once ("$Q$, $K$ and $V$ are the queries, keys and values") share
out the definition's items when they are as many, else each gets it whole. "$h = 8$"
is `h`. A definition is cut to its clause: at the end of the sentence, a semicolon,
the next symbol's clause, "where", "which", "while", or a formula ("the probability
ratio $r_t(\\theta) = …$" is "the probability ratio").
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass

from service.papers.document import BlockKind, Document, Symbol
from service.papers.symbol_names import GREEK_LETTERS, symbol_key

# A paper defines tens of symbols; a paragraph of thousands is not a paper's.
_MOST_SYMBOLS = 1_000
_LONGEST_DEFINITION = 200
_LONGEST_BLOCK = 20_000

# Placeholders for a piece of math in the text being read: private-use characters,
# never in a paper's text.
_OPEN, _CLOSE = "\ue000", "\ue001"
_MATH = re.compile(r"(?<!\\)\$(?P<math>[^$]{1,200}?)(?<!\\)\$")
# A symbol in plain text (a PDF's): one Latin or Greek letter, an accent, scripts.
_PLAIN_SYMBOL = re.compile(
    rf"(?<![\w\\{_OPEN}])(?P<symbol>[A-Za-z{GREEK_LETTERS}][\u0302\u0303\u0304]?"
    rf"(?:[_^](?:\{{[^{{}}\s]{{1,20}}\}}|[A-Za-z0-9{GREEK_LETTERS}]+))*'*)(?![\w{_CLOSE}])"
)
# Words a plain-text "symbol" of one letter is not.
_NOT_SYMBOLS = frozenset({"a", "A", "I"})
_OPERATION = re.compile(r"[+\-()]|\\(?:frac|sqrt|sum|prod|int|cdot|times|exp|log)(?![A-Za-z])")
_RELATION = re.compile(r"=|<|>|\\(?:leq?|geq?|in|approx|sim|equiv|coloneqq|triangleq)(?![A-Za-z])")

_S = rf"{_OPEN}\d+{_CLOSE}"
_LIST = rf"(?P<symbols>{_S}(?:\s*,\s*{_S})*(?:\s*,?\s*and\s+{_S})?)"
_VERB = (
    r"(?P<verb>is|are|denotes?|represents?|stands?\s+for|refers?\s+to|is\s+called"
    r"|are\s+called)"
)
_WHERE = re.compile(rf"\bwhere\s+{_LIST}\s+{_VERB}\s+", re.IGNORECASE)
_CHAINED = re.compile(
    rf"\s*(?:,|;)?\s*(?:and\s+)?{_LIST}\s+(?:{_VERB}\s+)?(?=(?:the|a|an|our|its)\b)",
    re.IGNORECASE,
)
_LET = re.compile(rf"\blet\s+{_LIST}\s+(?:be|denote)\s+", re.IGNORECASE)
_DENOTES = re.compile(
    rf"{_LIST}\s+(?P<verb>denotes?|represents?|stands?\s+for|refers?\s+to)\s+",
    re.IGNORECASE,
)
_IS_THE = re.compile(rf"{_LIST}\s+(?P<verb>is|are)\s+(?=(?:the|a|an|our)\s)", re.IGNORECASE)
# A verb that agrees with one subject: "where $A$ and $x_m$ is …" defines only x_m.
_SINGULAR = re.compile(r"is\b|denotes|represents|stands|refers", re.IGNORECASE)
_DENOTE_BY_THE = re.compile(rf"\bwe\s+denote\s+by\s+{_LIST}\s+(?=(?:the|a|an)\s)", re.IGNORECASE)
_DENOTE_THING_BY = re.compile(
    rf"\bwe\s+denote\s+(?P<definition>[^{_OPEN}.;]{{3,120}}?)\s+(?:by|as|with)\s+{_LIST}",
    re.IGNORECASE,
)
_DENOTED = re.compile(
    rf"(?P<definition>\b(?:the|a|an|our)\s+[^{_OPEN}.;,]{{2,80}}?),?\s+(?:which\s+(?:is|we)\s+)?"
    rf"denoted\s+(?:by\s+|as\s+)?{_LIST}",
    re.IGNORECASE,
)
_APPOSITION = re.compile(
    rf"\b(?P<definition>(?:the|a|an|our)\s+(?:[A-Za-z][\w-]*\s+){{0,4}}[A-Za-z][\w-]{{2,}})\s+"
    rf"{_LIST}(?=\s*(?:[,.;:)]|$|\s+(?:is|are|and|with|that|which|for|to|in|of|at|as|by|on)\b))",
    re.IGNORECASE,
)
# Words that make an apposition something else than a name: a comparison or an order
# ("the same $d_k$"), a clause ("the projections are matrices $W$"), a place ("the
# advantage at timestep $t$").
_NOT_NAMES = frozenset(
    {
        "same", "following", "above", "below", "first", "second", "third", "last", "next",
        "previous", "other", "each", "every", "new", "old", "given", "corresponding",
        "resulting", "final", "initial", "is", "are", "was", "were", "be", "been", "has",
        "have", "of", "at", "in", "for", "to", "with", "on", "by", "from", "that", "which",
        "over", "under", "between", "into", "as",
    }
)  # fmt: skip
_CLAUSE_END = re.compile(
    rf"(?:\.(?=\s+[A-Z(\[]|\s*$)|;|:\s|,?\s+and\s+{_S}|,\s*{_S}"
    r"|,?\s+(?:where|which|while|whereas|respectively|so\s+that|such\s+that)\b"
    r"|,\s*(?:so|namely|i\.e\.|e\.g\.|thus|hence|but|see)\b|\s+\(?see\b)"
)
# Where one item of a list ends: ", and" starts a clause of its own after one symbol.
_NEXT_CLAUSE = re.compile(r",\s+and\s+")


@dataclass(frozen=True)
class _Text:
    """A paragraph with its math replaced by numbered placeholders."""

    masked: str
    # What each placeholder stands for: as written, and the symbols it names.
    written: list[str]
    keys: list[tuple[str, ...]]
    # The placeholders that are formulas (`$r_t(\\theta) = …$`): a definition ends before one.
    formulas: frozenset[int]

    def restore(self, text: str) -> str:
        return re.sub(rf"{_OPEN}(\d+){_CLOSE}", lambda m: self.written[int(m[1])], text)

    def symbols(self, listed: str) -> list[str]:
        return [key for number in re.findall(r"\d+", listed) for key in self.keys[int(number)]]


def find_symbols(document: Document) -> tuple[Symbol, ...]:
    """The symbols `document` defines in words ("where $d_k$ is the dimension of the
    keys"), each once, at its first definition, in reading order."""
    found: dict[str, Symbol] = {}
    for section_index, section in enumerate(document.sections):
        for block_index, block in enumerate(section.blocks):
            if block.kind is not BlockKind.text or len(block.text) > _LONGEST_BLOCK:
                continue
            for symbol, definition in definitions_in(block.text):
                if symbol not in found and len(found) < _MOST_SYMBOLS:
                    found[symbol] = Symbol(symbol, definition, section_index, block_index)
    return tuple(found.values())


def definitions_in(text: str) -> list[tuple[str, str]]:
    """The (symbol, definition) pairs one paragraph states, the first for each symbol,
    stronger phrasings before an apposition."""
    # Decomposed, so that a PDF's `Â` is `A` and a combining hat, as the patterns read it.
    masked = _masked(unicodedata.normalize("NFD", text))
    pairs: dict[str, str] = {}
    for symbol, definition in _stated(masked):
        definition = _tidy(masked.restore(definition))
        if definition and symbol not in pairs:
            pairs[symbol] = definition
    return list(pairs.items())


def _masked(text: str) -> _Text:
    written: list[str] = []
    keys: list[tuple[str, ...]] = []
    formulas: set[int] = set()

    def placeholder(shown: str, symbols: tuple[str, ...], *, formula: bool = False) -> str:
        if formula:
            formulas.add(len(written))
        written.append(shown)
        keys.append(symbols)
        return f"{_OPEN}{len(written) - 1}{_CLOSE}"

    def math(match: re.Match[str]) -> str:
        symbols = _math_symbols(match["math"])
        return placeholder(match[0], symbols, formula=_is_formula(match["math"], symbols))

    masked = _MATH.sub(math, text)
    masked = _PLAIN_SYMBOL.sub(
        lambda m: m[0] if m["symbol"] in _NOT_SYMBOLS else placeholder(m[0], _keys(m["symbol"])),
        masked,
    )
    return _Text(masked, written, keys, frozenset(formulas))


def _math_symbols(math: str) -> tuple[str, ...]:
    """The symbols a piece of inline math names: `d_k`; `Q, K, V`; `h = 8` is `h`."""
    relation = _RELATION.search(math)
    if relation is not None:
        math = math[: relation.start()]
    return tuple(key for part in _top_level_commas(math) if (key := symbol_key(part)))


def _is_formula(math: str, symbols: tuple[str, ...]) -> bool:
    """An equation or an expression, where a definition in words has ended: "a
    squared-error loss $(V_\\theta(s_t) - V_t)^2$" is defined as "a squared-error loss"."""
    return _RELATION.search(math) is not None or (not symbols and bool(_OPERATION.search(math)))


def _keys(written: str) -> tuple[str, ...]:
    key = symbol_key(written)
    return (key,) if key else ()


def _top_level_commas(math: str) -> list[str]:
    parts, depth, start = [], 0, 0
    for position, char in enumerate(math):
        depth += (char in "{([") - (char in "})]")
        if char == "," and depth == 0:
            parts.append(math[start:position])
            start = position + 1
    parts.append(math[start:])
    return parts


def _stated(text: _Text) -> Iterator[tuple[str, str]]:
    yield from _where_clauses(text)
    for pattern in (_LET, _DENOTES, _IS_THE, _DENOTE_BY_THE):
        for match in pattern.finditer(text.masked):
            yield from _defined_by(text, match, _clause(text, match.end(), match["symbols"]))
    for pattern in (_DENOTE_THING_BY, _DENOTED):
        for match in pattern.finditer(text.masked):
            yield from _defined_by(text, match, match["definition"])
    for match in _APPOSITION.finditer(text.masked):
        if not set(match["definition"].lower().split()[1:]) & _NOT_NAMES:
            yield from _defined_by(text, match, match["definition"])


def _where_clauses(text: _Text) -> Iterator[tuple[str, str]]:
    """ "where $X$ is …", and the clauses chained on it: ", $Y$ is …, and $Z$ the …"."""
    for match in _WHERE.finditer(text.masked):
        current: re.Match[str] | None = match
        while current is not None:
            definition = _clause(text, current.end(), current["symbols"])
            yield from _defined_by(text, current, definition)
            current = _CHAINED.match(text.masked, current.end() + len(definition))


def _clause(text: _Text, start: int, listed: str) -> str:
    """The definition starting at `start`, up to where its clause ends."""
    masked = text.masked
    ends = [len(masked), start + _LONGEST_DEFINITION * 2]
    if (end := _CLAUSE_END.search(masked, start)) is not None:
        ends.append(end.start())
    if len(text.symbols(listed)) < 2 and (end := _NEXT_CLAUSE.search(masked, start)):
        ends.append(end.start())
    for formula in re.finditer(rf"\s*{_OPEN}(\d+){_CLOSE}", masked[start:]):
        if int(formula[1]) in text.formulas:
            ends.append(start + formula.start())
            break
    return masked[start : min(ends)]


def _defined_by(text: _Text, match: re.Match[str], definition: str) -> Iterator[tuple[str, str]]:
    """Each listed symbol with its share of `definition`: its own item when the items
    are as many as the symbols ("queries, keys and values"), else all of it; with a
    singular verb, only the last symbol is its subject."""
    symbols = text.symbols(match["symbols"])
    verb = match.groupdict().get("verb")
    if verb and _SINGULAR.match(verb):
        symbols = symbols[-1:]
    if not symbols:
        return
    items = re.split(r",\s*(?:and\s+)?|\s+and\s+", definition)
    if len(symbols) > 1 and len(items) == len(symbols):
        yield from zip(symbols, items, strict=True)
    else:
        yield from ((symbol, definition) for symbol in symbols)


def _tidy(definition: str) -> str:
    definition = unicodedata.normalize("NFC", " ".join(definition.split()).strip(" ,;:."))
    if len(definition) > _LONGEST_DEFINITION:
        definition = definition[:_LONGEST_DEFINITION].rsplit(" ", 1)[0] + "…"
    return definition if re.search(r"[A-Za-z]{2}", definition) else ""
