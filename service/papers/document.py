"""A paper as Tutor reads it: sections of paragraphs, each on a page, equations as LaTeX.

What every way in produces (a PDF's text layer, an arXiv LaTeX source) and what the
reader, the prompts and the cards use, whichever it came from. Pure values: extraction
fills them, `service/papers/queries.py` stores them, nothing here touches a database.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class Origin(enum.StrEnum):
    """Where a paper's text came from: a PDF's text layer, or the author's LaTeX (exact
    math, but no page numbers)."""

    pdf = "pdf"
    latex = "latex"


class BlockKind(enum.StrEnum):
    text = "text"
    # A displayed equation: `text` is what a reader sees, `latex` its source where known.
    equation = "equation"


@dataclass(frozen=True)
class Block:
    """One paragraph of prose, or one displayed equation."""

    kind: BlockKind
    text: str
    # 1-based page of a PDF; None for a LaTeX source, which has no pages.
    page: int | None = None
    # The LaTeX of an equation (and of a paragraph with inline math, from a LaTeX source).
    latex: str | None = None
    # The paper's own equation number, "(3)", where it has one.
    label: str | None = None


@dataclass(frozen=True)
class Section:
    """A heading and the blocks under it, up to the next heading of any level."""

    heading: str
    # "3.2.1" as the paper numbers it; None for an unnumbered one (Abstract, the text
    # before the first heading).
    number: str | None
    # 1 for a section, 2 for a subsection, 3 below.
    level: int
    blocks: tuple[Block, ...]
    page: int | None = None


@dataclass(frozen=True)
class Symbol:
    """A symbol the paper defines in words, where it first does: `d_k`, "the dimension
    of the keys", in section 3.2.1's second block."""

    # As LaTeX, normalised (`d_k`, `\\pi_\\theta`, `A_t`), the key passages are matched on.
    symbol: str
    definition: str
    section_index: int
    block_index: int


@dataclass(frozen=True)
class Document:
    title: str
    origin: Origin
    sections: tuple[Section, ...]
    # A PDF's page count; None for a LaTeX source.
    page_count: int | None = None
    symbols: tuple[Symbol, ...] = field(default=())
