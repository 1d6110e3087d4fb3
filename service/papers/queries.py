"""Every statement the papers domain runs: the job's row, storing a Document, reading it back."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from sqlalchemy import delete, insert, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from service.papers.context import DefinedSymbol
from service.papers.document import Block, Document, Origin, Section, Symbol
from service.papers.models import Paper, PaperBlock, PaperSection, PaperSymbol

# Rows per INSERT: a 2,000-page paper has tens of thousands of blocks, and each
# database caps the parameters of one statement (SQLite at 32,766).
_BATCH = 500


async def paper_of_source(
    db: AsyncSession, *, learner_id: uuid.UUID, source_id: uuid.UUID
) -> Paper | None:
    """The paper of a source, if the source is this learner's and has one."""
    return await db.scalar(
        select(Paper).where(Paper.source_id == source_id, Paper.learner_id == learner_id)
    )


async def papers_of_sources(
    db: AsyncSession, *, learner_id: uuid.UUID, source_ids: Collection[uuid.UUID]
) -> Sequence[Paper]:
    """The papers of those sources that are this learner's and have one."""
    return (
        await db.scalars(
            select(Paper)
            .where(Paper.learner_id == learner_id, Paper.source_id.in_(source_ids))
            .order_by(Paper.created_at)
        )
    ).all()


async def paper_by_id(db: AsyncSession, paper_id: uuid.UUID) -> Paper | None:
    """The paper, read afresh (a job's own row, which a request may have changed)."""
    return await db.get(Paper, paper_id, populate_existing=True)


async def all_paper_ids(db: AsyncSession) -> set[uuid.UUID]:
    """Every paper's id, whoever's: which stored files still belong to a paper."""
    return set((await db.scalars(select(Paper.id))).all())


async def replace_document(db: AsyncSession, *, paper_id: uuid.UUID, document: Document) -> None:
    """Write the document's sections, blocks and symbols for the paper, in place of any
    earlier extraction's; the caller commits them with the paper's `ready` status."""
    for table in (PaperSymbol, PaperBlock, PaperSection):
        await db.execute(delete(table).where(table.paper_id == paper_id))
    sections, blocks = _rows(paper_id, document.sections)
    symbols = [_symbol_row(paper_id, position, s) for position, s in enumerate(document.symbols)]
    for model, rows in ((PaperSection, sections), (PaperBlock, blocks), (PaperSymbol, symbols)):
        for start in range(0, len(rows), _BATCH):
            await db.execute(insert(model), rows[start : start + _BATCH])


def _rows(
    paper_id: uuid.UUID, sections: Sequence[Section]
) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    section_rows: list[dict[str, object]] = []
    block_rows: list[dict[str, object]] = []
    for section_position, section in enumerate(sections):
        section_rows.append(
            {
                "paper_id": paper_id,
                "position": section_position,
                "heading": section.heading,
                "number": section.number,
                "level": section.level,
                "page": section.page,
                "first_block": len(block_rows),
                "block_count": len(section.blocks),
            }
        )
        for index, block in enumerate(section.blocks):
            block_rows.append(
                {
                    "paper_id": paper_id,
                    "position": len(block_rows),
                    "section_position": section_position,
                    "index_in_section": index,
                    "kind": block.kind,
                    "text": block.text,
                    "page": block.page,
                    "latex": block.latex,
                    "label": block.label,
                }
            )
    return section_rows, block_rows


def _symbol_row(paper_id: uuid.UUID, position: int, symbol: Symbol) -> dict[str, object]:
    return {
        "paper_id": paper_id,
        "position": position,
        "symbol": symbol.symbol,
        "definition": symbol.definition,
        "section_position": symbol.section_index,
        "block_index": symbol.block_index,
    }


@dataclass(frozen=True)
class StoredSection:
    """A section as stored: its place in the paper, and the blocks of it a read asked
    for, the first of them at `first_index` in the section."""

    position: int
    section: Section
    block_count: int
    first_index: int
    # The paper-wide position of the section's first block.
    first_block: int


@dataclass(frozen=True)
class DocumentPage:
    """Some of a paper's blocks, from block `start`, with the sections they are in (and
    the sections with no block between them); `next_block` is where the next page
    starts, None after the last."""

    sections: tuple[StoredSection, ...]
    symbols: tuple[Symbol, ...]
    section_count: int
    block_count: int
    next_block: int | None


async def document_page(
    db: AsyncSession, *, paper_id: uuid.UUID, start: int, limit: int
) -> DocumentPage:
    """Blocks `start` to `start + limit` of the paper, in their sections."""
    blocks = (
        await db.scalars(
            select(PaperBlock)
            .where(PaperBlock.paper_id == paper_id, PaperBlock.position >= start)
            .order_by(PaperBlock.position)
            .limit(limit + 1)
        )
    ).all()
    more = len(blocks) > limit
    blocks = blocks[:limit]
    last_block = blocks[-1] if more else None
    sections = await _sections_of(db, paper_id, start=start, last_block=last_block)
    by_section: dict[int, list[PaperBlock]] = {}
    for row in blocks:
        by_section.setdefault(row.section_position, []).append(row)
    stored = tuple(
        StoredSection(
            position=row.position,
            section=_section(row, tuple(_block(b) for b in by_section.get(row.position, ()))),
            block_count=row.block_count,
            first_index=by_section[row.position][0].index_in_section
            if row.position in by_section
            else 0,
            first_block=row.first_block,
        )
        for row in sections
    )
    symbols = (
        await db.scalars(
            select(PaperSymbol)
            .where(PaperSymbol.paper_id == paper_id)
            .order_by(PaperSymbol.position)
        )
    ).all()
    section_count, block_count = await _counts(db, paper_id)
    return DocumentPage(
        sections=stored,
        symbols=tuple(_symbol(row) for row in symbols),
        section_count=section_count,
        block_count=block_count,
        next_block=start + limit if more else None,
    )


async def _sections_of(
    db: AsyncSession, paper_id: uuid.UUID, *, start: int, last_block: PaperBlock | None
) -> Sequence[PaperSection]:
    """The sections a page of blocks shows: each with a block from `start` on, and each
    heading with no block of its own there, up to the section of the page's last block
    (`last_block`; None: to the end)."""
    ends_after_start = PaperSection.first_block + PaperSection.block_count > start
    statement = select(PaperSection).where(
        PaperSection.paper_id == paper_id, or_(ends_after_start, PaperSection.first_block >= start)
    )
    if last_block is not None:
        statement = statement.where(PaperSection.position <= last_block.section_position)
    return (await db.scalars(statement.order_by(PaperSection.position))).all()


async def _counts(db: AsyncSession, paper_id: uuid.UUID) -> tuple[int, int]:
    last = await db.scalar(
        select(PaperSection)
        .where(PaperSection.paper_id == paper_id)
        .order_by(PaperSection.position.desc())
        .limit(1)
    )
    if last is None:
        return 0, 0
    return last.position + 1, last.first_block + last.block_count


def _section(row: PaperSection, blocks: tuple[Block, ...]) -> Section:
    return Section(
        heading=row.heading, number=row.number, level=row.level, blocks=blocks, page=row.page
    )


def _block(row: PaperBlock) -> Block:
    return Block(kind=row.kind, text=row.text, page=row.page, latex=row.latex, label=row.label)


def _symbol(row: PaperSymbol) -> Symbol:
    return Symbol(
        symbol=row.symbol,
        definition=row.definition,
        section_index=row.section_position,
        block_index=row.block_index,
    )


async def stored_document(db: AsyncSession, *, paper: Paper) -> Document:
    """The whole Document a ready paper holds, as extraction made it (the prompts and
    the reader of later work take it whole; the API pages through it)."""
    page = await document_page(db, paper_id=paper.id, start=0, limit=2**31 - 1)
    return Document(
        title=paper.title or "",
        origin=paper.origin or Origin.pdf,
        sections=tuple(s.section for s in page.sections),
        page_count=paper.page_count,
        symbols=page.symbols,
    )


@dataclass(frozen=True)
class PassageMaterial:
    """What a passage's context is made of: its blocks, the section of its first block,
    and the paper's symbols defined before it (the caller picks those it uses)."""

    blocks: tuple[Block, ...]
    section_number: str | None
    section_heading: str
    symbols: tuple[DefinedSymbol, ...]


async def block_count(db: AsyncSession, *, paper_id: uuid.UUID) -> int:
    """How many blocks the paper has."""
    return (await _counts(db, paper_id))[1]


async def passage_material(
    db: AsyncSession, *, paper_id: uuid.UUID, first_block: int, last_block: int
) -> PassageMaterial:
    """Blocks `first_block` to `last_block` (both included) of a ready paper, which has
    them, and the symbols it defines before the first."""
    blocks = (
        await db.scalars(
            select(PaperBlock)
            .where(
                PaperBlock.paper_id == paper_id,
                PaperBlock.position >= first_block,
                PaperBlock.position <= last_block,
            )
            .order_by(PaperBlock.position)
        )
    ).all()
    section = await db.get_one(PaperSection, (paper_id, blocks[0].section_position))
    defined_at = PaperSection.first_block + PaperSymbol.block_index
    symbols = (
        await db.execute(
            select(PaperSymbol, defined_at, PaperSection.number, PaperSection.heading)
            .join(
                PaperSection,
                (PaperSection.paper_id == PaperSymbol.paper_id)
                & (PaperSection.position == PaperSymbol.section_position),
            )
            .where(PaperSymbol.paper_id == paper_id, defined_at < first_block)
            .order_by(PaperSymbol.position)
        )
    ).all()
    return PassageMaterial(
        blocks=tuple(_block(row) for row in blocks),
        section_number=section.number,
        section_heading=section.heading,
        symbols=tuple(
            DefinedSymbol(
                symbol=row.symbol,
                definition=row.definition,
                block=position,
                section_number=number,
                section_heading=heading,
            )
            for row, position, number, heading in symbols
        ),
    )
