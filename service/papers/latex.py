"""A paper's LaTeX source as a Document: its title, its sections numbered as LaTeX
numbers them, its paragraphs, and its displayed equations with their LaTeX and number.

The extractor for arXiv's sources (`document_from_source`, run by the extraction job
like the PDF one). The source is read whole by `latex_source.py` (archive, main file,
inputs, comments), its macros expanded by `latex_macros.py`; this module walks the
body once, in order, keeping LaTeX's counters as it goes:

- `\\section`, `\\subsection`, `\\subsubsection` (and `\\chapter`, where a paper has
  them) open sections, numbered "3", "3.2", "3.2.1", lettered after `\\appendix`; the
  starred ones are unnumbered. The abstract is an unnumbered section of its own.
- A paragraph ends at a blank line, `\\par`, or a displayed equation. Its `text` is what
  a reader sees, with inline math kept as `$…$` (`latex_text.py`); `latex` holds the
  paragraph's own LaTeX when it has inline math.
- `equation`, `align`, `gather`, `multline`, `eqnarray` (and `flalign`, `alignat`),
  `\\[…\\]` and `$$…$$` are equation blocks: `latex` the math (several rows as an
  `aligned` or `gathered` block, without `\\label`s and `\\nonumber`s), `text` a Unicode
  reading of it, and `label` the number LaTeX prints: each numbered row counts, starred
  environments and `\\nonumber` rows don't, `\\tag{x}` is "(x)", and
  `\\numberwithin{equation}{section}` makes them "(3.1)". A block of several numbered
  rows is labelled with its first and last, "(3)–(5)".
- Figures, tables, the bibliography and the like are left out, but counted, so a
  `\\ref` to them prints the right number.

No pages: a LaTeX source has none (`Block.page` and `Document.page_count` stay None).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from service.papers import progress
from service.papers.document import Block, BlockKind, Document, Origin, Section
from service.papers.latex_macros import expand_macros
from service.papers.latex_source import LIMITS, Limits, read_source
from service.papers.latex_syntax import read_group, read_option, skip_spaces
from service.papers.latex_text import TextConverter

_HEADINGS = ("chapter", "section", "subsection", "subsubsection")
_SINGLE_EQUATIONS = frozenset({"equation", "displaymath"})
_ROW_EQUATIONS = {
    "align": "aligned",
    "flalign": "aligned",
    "alignat": "alignedat",
    "eqnarray": "aligned",
    "gather": "gathered",
    "multline": "gathered",
}
# Left out of the text; those in _FLOATS are numbered, for \ref.
_FLOATS = {"figure": "figure", "table": "table", "algorithm": "algorithm"}
_LEFT_OUT = frozenset(
    {
        "figure", "table", "algorithm", "wrapfigure", "wraptable", "thebibliography",
        "tikzpicture", "lstlisting", "verbatim", "minted", "comment", "tabular",
        "algorithmic", "subfigure", "titlepage",
    }
)  # fmt: skip
_ENVIRONMENTS = "|".join(
    sorted({*_SINGLE_EQUATIONS, *_ROW_EQUATIONS, *_LEFT_OUT, "abstract"}, key=len, reverse=True)
)
_STRUCTURE = re.compile(
    r"\\(?P<heading>chapter|section|subsection|subsubsection)(?P<starred>\*?)(?![A-Za-z])"
    rf"|\\begin\s*\{{(?P<environment>{_ENVIRONMENTS})(?P<env_starred>\*?)\}}"
    r"|(?P<bracket>\\\[)|(?P<dollars>\$\$)"
    r"|(?P<appendix>\\appendix)(?![A-Za-z])"
)
_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n\s*|\\par(?![A-Za-z])\s*")
_BEGIN_DOCUMENT = re.compile(r"\\begin\s*\{document\}")
_END_DOCUMENT = re.compile(r"\\end\s*\{document\}")
_NUMBER_WITHIN = re.compile(
    r"\\(?:numberwithin|counterwithin)\s*\{equation\}\s*\{(?P<within>section|chapter)\}"
)
# Front matter in the body (revtex puts \title and \author there): not paragraphs.
_FRONT_MATTER = re.compile(
    r"\\(?:title|author|date|affiliation|address|email|thanks|keywords|institute|"
    r"maketitle|bibliography|bibliographystyle|icmltitle|icmlauthor|icmlaffiliation|"
    r"icmlcorrespondingauthor|icmlkeywords|printAffiliationsAndNotice|"
    r"tableofcontents|newpage|clearpage|vspace|hspace|vskip|hskip|noindent|centering|"
    r"footnotetext|acks|twocolumn|onecolumn|setlength|setcounter|addtolength)"
    r"(?![A-Za-z])\*?"
)
_EQUATION_MARKS = re.compile(r"\\(?:nonumber|notag)(?![A-Za-z])|\\label\s*\{[^{}]*\}")
_TAG = re.compile(r"\\tag(?P<starred>\*?)\s*\{(?P<tag>[^{}]*)\}")
_NO_NUMBER = re.compile(r"\\(?:nonumber|notag)(?![A-Za-z])")
_LABEL_NAME = re.compile(r"\\label\s*\{(?P<label>[^{}]*)\}")
_INLINE_MATH = re.compile(r"(?<!\\)\$|\\\(")
_LONGEST_LABEL = 32


def document_from_source(path: Path) -> Document:
    """The paper whose LaTeX source is at `path` (a tar, gzipped or not, or one gzipped
    .tex file). Raises ExtractionFailed (`latex_unreadable`) for a source that cannot
    be read, saying why."""
    return document_from_latex(read_source(path), LIMITS)


def document_from_latex(latex: str, limits: Limits = LIMITS) -> Document:
    """The paper whose whole LaTeX (inputs in place, comments gone) is `latex`."""
    progress.report(0.1, "Reading the LaTeX source")
    latex = expand_macros(latex, max_chars=limits.expanded_chars)
    walk = _Walk(equations_within_sections=_NUMBER_WITHIN.search(latex) is not None)
    walk.run(_body(latex))
    progress.report(0.5, "Reading the sections")
    converter = TextConverter(walk.labels)
    sections = tuple(
        _finished(section, converter, index, len(walk.sections))
        for index, section in enumerate(walk.sections)
    )
    return Document(
        title=_title(latex, converter),
        origin=Origin.latex,
        sections=tuple(section for section in sections if section.blocks or section.heading),
    )


def _body(latex: str) -> str:
    begin = _BEGIN_DOCUMENT.search(latex)
    body = latex[begin.end() :] if begin else latex
    end = _END_DOCUMENT.search(body)
    return _without_front_matter(body[: end.start()] if end else body)


def _without_front_matter(body: str) -> str:
    pieces: list[str] = []
    position = 0
    for match in _FRONT_MATTER.finditer(body):
        if match.start() < position:
            continue
        end = match.end()
        option = read_option(body, end)
        end = option[1] if option else end
        group = read_group(body, end)
        end = group[1] if group else end
        pieces.append(body[position : match.start()])
        position = end
    pieces.append(body[position:])
    return "".join(pieces)


def _title(latex: str, converter: TextConverter) -> str:
    match = re.search(r"\\(?:icml)?title(?![A-Za-z])", latex)
    if match is None:
        return ""
    option = read_option(latex, match.end())
    group = read_group(latex, option[1] if option else match.end())
    if group is None:
        return ""
    title = _without_front_matter(group[0]).replace("\\\\", " ")
    return converter.prose(title)


# --- the walk: LaTeX's counters, in reading order --------------------------------------


@dataclass
class _RawBlock:
    kind: BlockKind
    latex: str
    label: str | None = None


@dataclass
class _RawSection:
    heading: str
    number: str | None
    level: int
    blocks: list[_RawBlock] = field(default_factory=list)


class _Walk:
    """One pass over the body: sections and blocks as raw LaTeX, and every `\\label`'s
    number, so a `\\ref` before its label still reads right."""

    def __init__(self, *, equations_within_sections: bool) -> None:
        self.sections: list[_RawSection] = [_RawSection("", None, 1)]
        self.labels: dict[str, str] = {}
        self._counters = dict.fromkeys(_HEADINGS, 0)
        self._floats = dict.fromkeys(_FLOATS.values(), 0)
        self._equation = 0
        self._within_sections = equations_within_sections
        self._appendix = False
        self._uses_chapters = False

    def run(self, body: str) -> None:
        self._uses_chapters = re.search(r"\\chapter\*?\s*[\[{]", body) is not None
        position = 0
        while (match := _STRUCTURE.search(body, position)) is not None:
            self._text(body[position : match.start()])
            position = self._structure(body, match)
        self._text(body[position:])

    def _structure(self, body: str, match: re.Match[str]) -> int:
        """Handle what `match` starts; where the walk goes on."""
        if match["heading"]:
            return self._heading(body, match)
        if match["appendix"]:
            self._appendix = True
            self._counters[self._top_heading] = 0
            return match.end()
        if match["bracket"]:
            return self._display(body, match.end(), closing=r"\]")
        if match["dollars"]:
            return self._display(body, match.end(), closing="$$")
        return self._environment(body, match)

    # --- headings

    @property
    def _top_heading(self) -> str:
        return "chapter" if self._uses_chapters else "section"

    def _heading(self, body: str, match: re.Match[str]) -> int:
        option = read_option(body, match.end())
        group = read_group(body, option[1] if option else match.end())
        if group is None:
            return match.end()
        kind = match["heading"]
        kinds = _HEADINGS[_HEADINGS.index(self._top_heading) :]
        level = min(kinds.index(kind) + 1, 3) if kind in kinds else 1
        number = None if match["starred"] else self._step_heading(kind, kinds)
        self.sections.append(_RawSection(group[0], number, level))
        self._label_in(group[0], number)
        return group[1]

    def _step_heading(self, kind: str, kinds: tuple[str, ...]) -> str:
        if kind not in kinds:
            kinds = (kind,)
        depth = kinds.index(kind)
        self._counters[kind] += 1
        for lower in kinds[depth + 1 :]:
            self._counters[lower] = 0
        if kind == self._top_heading and self._within_sections:
            self._equation = 0
        parts = [self._counters[name] for name in kinds[: depth + 1]]
        first = _letter(parts[0]) if self._appendix else str(parts[0])
        return ".".join([first, *(str(part) for part in parts[1:])])

    @property
    def _current_number(self) -> str | None:
        for section in reversed(self.sections):
            if section.number is not None:
                return section.number
        return None

    # --- text

    def _text(self, latex: str) -> None:
        for paragraph in _PARAGRAPH_BREAK.split(latex):
            if paragraph.strip():
                self._label_in(paragraph, self._current_number)
                self._add(_RawBlock(BlockKind.text, paragraph.strip()))

    def _add(self, block: _RawBlock) -> None:
        self.sections[-1].blocks.append(block)

    def _label_in(self, latex: str, number: str | None) -> None:
        for label in _LABEL_NAME.finditer(latex):
            self.labels.setdefault(label["label"].strip(), number or "?")

    # --- environments

    def _environment(self, body: str, match: re.Match[str]) -> int:
        name = match["environment"]
        full = name + match["env_starred"]
        end = _end_of(body, match.end(), full)
        inside = body[match.end() : end[0]]
        if name == "abstract":
            self.sections.append(_RawSection("Abstract", None, 1))
            self._text(inside)
            self.sections.append(_RawSection("", None, 1))
        elif name in _LEFT_OUT:
            self._count_float(name, inside)
        elif name in _SINGLE_EQUATIONS:
            self._equation_block(inside, numbered=name == "equation" and not match["env_starred"])
        else:
            self._rows_block(name, inside, numbered=not match["env_starred"])
        return end[1]

    def _count_float(self, name: str, inside: str) -> None:
        counter = _FLOATS.get(name.removesuffix("*"))
        if counter is None:
            return
        self._floats[counter] += 1
        self._label_in(inside, str(self._floats[counter]))

    def _display(self, body: str, start: int, *, closing: str) -> int:
        end = body.find(closing, start)
        if end < 0:
            self._text(body[start:])
            return len(body)
        self._equation_block(body[start:end], numbered=False)
        return end + len(closing)

    def _equation_block(self, inside: str, *, numbered: bool) -> None:
        number = self._row_number(inside, numbered=numbered)
        math = _clean_math(inside)
        if math:
            self._add(_RawBlock(BlockKind.equation, math, number))

    def _rows_block(self, name: str, inside: str, *, numbered: bool) -> None:
        columns = ""
        if name == "alignat":
            group = read_group(inside, 0)
            columns, inside = (f"{{{group[0]}}}", inside[group[1] :]) if group else ("", inside)
        rows = [inside] if name == "multline" else _rows(inside)
        numbers = [self._row_number(row, numbered=numbered) for row in rows]
        shown = [number for number in numbers if number is not None]
        label = None
        if shown:
            label = shown[0] if len(shown) == 1 else f"{shown[0]}–{shown[-1]}"
        math = _clean_math(inside)
        if math:
            wrapper = _ROW_EQUATIONS[name]
            math = f"\\begin{{{wrapper}}}{columns}{math}\\end{{{wrapper}}}"
            self._add(_RawBlock(BlockKind.equation, math, _short(label)))

    def _row_number(self, row: str, *, numbered: bool) -> str | None:
        """The number a row of math is printed with, if any; its \\label names it."""
        tag = _TAG.search(row)
        if tag is not None:
            number = tag["tag"].strip()
            shown = number if tag["starred"] else f"({number})"
        elif numbered and not _NO_NUMBER.search(row):
            self._equation += 1
            number = self._equation_number()
            shown = f"({number})"
        else:
            return None
        self._label_in(row, number)
        return shown

    def _equation_number(self) -> str:
        if not self._within_sections:
            return str(self._equation)
        section = self._counters[self._top_heading]
        first = _letter(section) if self._appendix else str(section)
        return f"{first}.{self._equation}"


def _end_of(body: str, start: int, environment: str) -> tuple[int, int]:
    """Where `\\end{environment}` starts and ends, counting nested ones of the same name;
    the end of the body if it never comes."""
    pattern = re.compile(rf"\\(?P<which>begin|end)\s*\{{{re.escape(environment)}\}}")
    depth = 1
    for match in pattern.finditer(body, start):
        depth += 1 if match["which"] == "begin" else -1
        if depth == 0:
            return match.start(), match.end()
    return len(body), len(body)


def _rows(math: str) -> list[str]:
    """The rows of an align-like environment: split at `\\\\` outside braces and
    outside environments nested in it (a `cases` keeps its rows)."""
    rows: list[str] = []
    depth = 0
    start = 0
    position = 0
    while position < len(math):
        if math.startswith("\\\\", position) and depth == 0:
            rows.append(math[start:position])
            position = skip_spaces(math, position + 2)
            start = position
            continue
        if math.startswith("\\begin", position) or math[position] == "{":
            depth += 1
        elif math.startswith("\\end", position) or math[position] == "}":
            depth = max(depth - 1, 0)
        position += 2 if math[position] == "\\" else 1
    rows.append(math[start:])
    return [row for row in rows if row.strip()]


def _clean_math(math: str) -> str:
    math = _EQUATION_MARKS.sub("", math)
    return _TAG.sub("", math).strip()


def _letter(number: int) -> str:
    return chr(ord("A") + number - 1) if 1 <= number <= 26 else str(number)


def _short(label: str | None) -> str | None:
    return label if label is None or len(label) <= _LONGEST_LABEL else label[:_LONGEST_LABEL]


def _finished(section: _RawSection, converter: TextConverter, index: int, count: int) -> Section:
    if index % 10 == 0:
        progress.report(
            0.5 + 0.5 * index / max(count, 1), f"Reading section {index + 1} of {count}"
        )
    blocks = tuple(block for raw in section.blocks if (block := _block(raw, converter)) is not None)
    heading = converter.prose(section.heading) if section.heading else ""
    return Section(heading=heading, number=section.number, level=section.level, blocks=blocks)


def _block(raw: _RawBlock, converter: TextConverter) -> Block | None:
    if raw.kind is BlockKind.equation:
        return Block(
            BlockKind.equation,
            converter.math(raw.latex) or raw.latex,
            latex=raw.latex,
            label=raw.label,
        )
    text = converter.prose(raw.latex)
    if not text:
        return None
    inline_math = _INLINE_MATH.search(raw.latex) is not None
    latex = _LABEL_NAME.sub("", raw.latex).strip() if inline_math else None
    return Block(BlockKind.text, text, latex=latex)
