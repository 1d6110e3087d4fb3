"""A paper scenario's paper and passage: its LaTeX read as extraction reads a source, and
the blocks the learner picked in it.

The LaTeX goes through the extraction's own entry point (`document_from_source`, on a
gzipped .tex file like one of arXiv's) and the symbol table is filled as the extraction
job fills it, so the evaluation measures the paper context a learner would get from
that source, not one made up for it.
"""

from __future__ import annotations

import dataclasses
import gzip
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from service.papers.context import symbols_used
from service.papers.document import Block, BlockKind, Document
from service.papers.failures import ExtractionFailed
from service.papers.latex import document_from_source
from service.papers.symbols import find_symbols


class PickError(Exception):
    """A scenario's pick that names no run of blocks of its paper."""


@dataclass(frozen=True)
class Picked:
    """The paper, and the blocks a learner picked in it (paper-wide positions)."""

    document: Document
    first_block: int
    last_block: int
    blocks: tuple[Block, ...]
    # What the learner sends as the passage, pasted or picked: the blocks as the reader
    # shows them, an equation as its LaTeX with its number.
    text: str


@lru_cache(maxsize=32)  # loading validates a scenario, running it reads it again
def read_paper(latex: str) -> Document:
    """The Document extraction makes of this LaTeX, symbols included."""
    with tempfile.TemporaryDirectory(prefix="tutor-eval-paper-") as folder:
        path = Path(folder) / "main.tex.gz"
        path.write_bytes(gzip.compress(latex.encode("utf-8"), mtime=0))
        try:
            document = document_from_source(path)
        except ExtractionFailed as failure:
            raise PickError(f"the LaTeX cannot be read: {failure.message}") from None
    if not document.symbols:
        document = dataclasses.replace(document, symbols=find_symbols(document))
    return document


def pick(latex: str, *, section: str, starts: str | None, blocks: int) -> Picked:
    """`blocks` blocks of the section numbered (or headed) `section`, from the one whose
    text starts with `starts` (the section's first if None)."""
    document = read_paper(latex)
    position = 0
    for found in document.sections:
        if section in (found.number, found.heading):
            index = _start(found.blocks, starts)
            if index is None or index + blocks > len(found.blocks):
                raise PickError(
                    f"section {section!r} has no {blocks} block(s) from one starting {starts!r}"
                )
            chosen = found.blocks[index : index + blocks]
            first = position + index
            text = "\n\n".join(_as_pasted(block) for block in chosen)
            return Picked(document, first, first + blocks - 1, chosen, text)
        position += len(found.blocks)
    raise PickError(f"the paper has no section {section!r}")


def _start(blocks: tuple[Block, ...], starts: str | None) -> int | None:
    if starts is None:
        return 0 if blocks else None
    return next((i for i, block in enumerate(blocks) if block.text.startswith(starts)), None)


def _as_pasted(block: Block) -> str:
    if block.kind is BlockKind.equation and block.latex:
        return f"$${block.latex}$$ {block.label or ''}".rstrip()
    return block.text


def used_by(picked: Picked) -> set[str]:
    """The keys of the symbols the picked blocks use, read as `read_passage` reads them."""
    equations = [b.latex for b in picked.blocks if b.latex and b.kind is BlockKind.equation]
    paragraphs = [b.latex for b in picked.blocks if b.latex and b.kind is BlockKind.text]
    return symbols_used(prose=[b.text for b in picked.blocks], math=equations) | symbols_used(
        prose=paragraphs
    )


def defined_before(picked: Picked) -> dict[str, str]:
    """The paper's symbols defined before the picked blocks: key -> definition."""
    starts = [0]
    for section in picked.document.sections:
        starts.append(starts[-1] + len(section.blocks))
    return {
        symbol.symbol: symbol.definition
        for symbol in picked.document.symbols
        if starts[symbol.section_index] + symbol.block_index < picked.first_block
    }


def equation_labels(document: Document) -> set[str]:
    """The numbers the paper prints for its equations, "(1)"."""
    return {
        block.label
        for section in document.sections
        for block in section.blocks
        if block.kind is BlockKind.equation and block.label
    }
