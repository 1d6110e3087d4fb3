"""A PDF's lines of text made into a Document: headings, paragraphs, equations, pages.

Pure: pdf.py reads the lines off the pages (text, position, font size, boldness); this
module decides what they are. A PDF says nothing of its structure, so it is read the
way a person skims a paper:

- a **heading** is a short line numbered like one ("3", "3.2.1", "A.1") followed by a
  title, or a known unnumbered one ("Abstract", "References"), set larger or bolder than
  the body text (or, numbered, standing apart from it); its level is its number's depth;
- a **paragraph** ends where the gap to the next line is wider than the body's line
  spacing, where the next line is indented, or where the font size changes; a word
  broken by a hyphen at a line's end is joined again;
- an **equation** is a line that ends with an equation number, "(3)", and holds
  mathematics (`=`, an operator), kept as a block of its own with that label;
- the **title** is the PDF's own when it has a real one, else the largest line of the
  first page; page numbers standing alone at a page's top or bottom are left out.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from service.papers.document import Block, BlockKind, Document, Origin, Section


@dataclass(frozen=True)
class Line:
    """One line of a page as read: its text, where it starts, its font."""

    text: str
    page: int
    x: float
    # The baseline, from the page's bottom (PDF coordinates: up is larger).
    y: float
    size: float
    bold: bool


_NUMBERED = re.compile(r"^(?P<number>(?:\d{1,2}|[A-H])(?:\.\d{1,2}){0,3})\.?\s+(?P<title>\S.*)$")
_UNNUMBERED = frozenset(
    {
        "abstract",
        "introduction",
        "background",
        "related work",
        "conclusion",
        "conclusions",
        "discussion",
        "acknowledgements",
        "acknowledgments",
        "references",
        "bibliography",
        "appendix",
        "appendices",
    }
)
_EQUATION_LABEL = re.compile(r"^(?P<body>.*\S)\s+(?P<label>\(\d{1,3}[a-z]?\))$")
_MATH = re.compile(r"[=≤≥≈∝∑∏∫√∇∂×·⊙⊕→←∈]|\b(?:softmax|argmax|argmin|log|exp|max|min)\b")
_PAGE_NUMBER = re.compile(r"^(?:page\s+)?\d{1,4}(?:\s+of\s+\d{1,4})?$", re.IGNORECASE)
_MEANINGLESS_TITLES = re.compile(
    r"^(?:\(?anonymous\)?|untitled|microsoft word\b.*|.*\.(?:dvi|tex|pdf|docx?))$", re.IGNORECASE
)
# Larger than the body by this much reads as a heading's size.
_HEADING_SCALE = 1.08
_MAX_HEADING_WORDS = 14


def build_document(lines: Sequence[Line], *, page_count: int, title: str | None) -> Document:
    """The Document these lines, in reading order, make."""
    lines = _without_page_numbers(lines)
    body = _body_size(lines)
    spacing = _line_spacing(lines, body)
    title_lines = _title_lines(lines)
    in_title = {id(line) for line in title_lines}
    the_title = _meaningful(title) or " ".join(line.text for line in title_lines) or "Untitled"
    sections: list[Section] = []
    heading: Section | None = None
    paragraph: list[Line] = []
    blocks: list[Block] = []

    def end_paragraph() -> None:
        if paragraph:
            blocks.append(_paragraph(paragraph))
            paragraph.clear()

    def end_section() -> None:
        end_paragraph()
        if heading is not None:
            sections.append(_with_blocks(heading, blocks))
        elif blocks:
            sections.append(Section(the_title, None, 1, tuple(blocks), blocks[0].page))
        blocks.clear()

    previous: Line | None = None
    for line in lines:
        if id(line) in in_title:
            continue
        if (found := _heading(line, previous, body, spacing)) is not None:
            end_section()
            heading = found
        elif (equation := _equation(line)) is not None:
            end_paragraph()
            blocks.append(equation)
        else:
            if paragraph and _starts_paragraph(line, paragraph[-1], body, spacing):
                end_paragraph()
            paragraph.append(line)
        previous = line
    end_section()
    return Document(
        title=the_title[:500], origin=Origin.pdf, sections=tuple(sections), page_count=page_count
    )


def _with_blocks(heading: Section, blocks: list[Block]) -> Section:
    return Section(heading.heading, heading.number, heading.level, tuple(blocks), heading.page)


def _meaningful(title: str | None) -> str | None:
    title = " ".join((title or "").split())
    if len(title) < 4 or _MEANINGLESS_TITLES.match(title):
        return None
    return title


def _without_page_numbers(lines: Sequence[Line]) -> list[Line]:
    """Lines less the page numbers at a page's top or bottom."""
    by_page: dict[int, list[Line]] = {}
    for line in lines:
        by_page.setdefault(line.page, []).append(line)
    dropped = set()
    for page_lines in by_page.values():
        for edge in {min(page_lines, key=_height), max(page_lines, key=_height)}:
            if _PAGE_NUMBER.match(edge.text.strip()):
                dropped.add(id(edge))
    return [line for line in lines if id(line) not in dropped]


def _height(line: Line) -> float:
    return line.y


def _body_size(lines: Iterable[Line]) -> float:
    """The size most of the text is set in (weighted by characters)."""
    sizes: Counter[float] = Counter()
    for line in lines:
        sizes[round(line.size, 1)] += len(line.text)
    return sizes.most_common(1)[0][0] if sizes else 10.0


def _line_spacing(lines: Sequence[Line], body: float) -> float:
    """The usual distance between two lines of body text that follow each other."""
    gaps: Counter[float] = Counter()
    for before, after in itertools.pairwise(lines):
        if (
            before.page == after.page
            and _same_size(before.size, body)
            and _same_size(after.size, body)
        ):
            gap = round(before.y - after.y, 1)
            if 0 < gap < 3 * body:
                gaps[gap] += 1
    return gaps.most_common(1)[0][0] if gaps else 1.2 * body


def _same_size(size: float, other: float) -> bool:
    return abs(size - other) <= 0.05 * other


def _title_lines(lines: Sequence[Line]) -> list[Line]:
    """The lines set largest near the top of the first page, read as the title."""
    first_page = [line for line in lines[:40] if line.page == lines[0].page] if lines else []
    if not first_page:
        return []
    largest = max(line.size for line in first_page)
    if largest < _HEADING_SCALE * _body_size(lines):
        return []
    title: list[Line] = []
    for line in first_page:
        if _same_size(line.size, largest):
            title.append(line)
        elif title:
            break
    text = " ".join(line.text for line in title)
    # A paper with no title set apart starts with its first heading, the largest line
    # (a title may well start "A ...": only a heading numbered in digits is one).
    numbered = _NUMBERED.match(text)
    if numbered is not None and numbered["number"][0].isdigit():
        return []
    if len(text) > 300 or text.rstrip(":").lower() in _UNNUMBERED:
        return []
    return title


def _heading(line: Line, previous: Line | None, body: float, spacing: float) -> Section | None:
    text = " ".join(line.text.split())
    if not text or len(text.split()) > _MAX_HEADING_WORDS or text.endswith((".", ",", ";")):
        return None
    stands_out = line.size >= _HEADING_SCALE * body or line.bold
    if (numbered := _NUMBERED.match(text)) is not None:
        title, number = numbered["title"], numbered["number"]
        if not title[0].isupper() or _MATH.search(title):
            return None
        letter_numbered = number[0].isalpha()
        apart = (
            previous is None or previous.page != line.page or previous.y - line.y > 1.3 * spacing
        )
        if stands_out or (apart and not letter_numbered):
            return Section(title, number, min(number.count(".") + 1, 3), (), line.page)
        return None
    if text.rstrip(":").lower() in _UNNUMBERED and (stands_out or text.isupper()):
        return Section(text.rstrip(":"), None, 1, (), line.page)
    return None


def _equation(line: Line) -> Block | None:
    labelled = _EQUATION_LABEL.match(line.text.strip())
    if labelled is None or _MATH.search(labelled["body"]) is None:
        return None
    return Block(
        BlockKind.equation,
        " ".join(labelled["body"].split()),
        page=line.page,
        label=labelled["label"],
    )


def _starts_paragraph(line: Line, last: Line, body: float, spacing: float) -> bool:
    if not _same_size(line.size, last.size):
        return True
    if line.page != last.page:
        # A paragraph goes on over the page when its sentence does.
        return last.text.rstrip().endswith((".", ":", "?", "!"))
    if last.y - line.y > 1.4 * spacing or line.y > last.y:
        # A wide gap, or a jump up the page: a new column.
        return True
    indent = line.x - last.x
    return 0.8 * body <= indent <= 4 * body


def _paragraph(lines: Sequence[Line]) -> Block:
    text = lines[0].text.strip()
    for line in lines[1:]:
        following = line.text.strip()
        if text.endswith("-") and len(text) > 1 and text[-2].isalpha() and following[:1].islower():
            text = text[:-1] + following
        else:
            text = f"{text} {following}"
    return Block(BlockKind.text, " ".join(text.split()), page=lines[0].page)
