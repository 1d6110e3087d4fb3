"""What the API says about a source's document: the job's state, then the paper by section."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from service.errors import ErrorBody
from service.papers.document import Block, BlockKind, Origin
from service.papers.models import Paper, PaperStatus
from service.papers.queries import DocumentPage, StoredSection
from service.rendering import render_markdown


class BlockOut(BaseModel):
    index: int = Field(description="Its place in its section, from 0.")
    position: int = Field(
        description="Its place in the paper, counted across sections, from 0: what "
        "`from_block` pages by, and what a passage's `first_block` and `last_block` name."
    )
    kind: BlockKind = Field(description="`text`: a paragraph; `equation`: a displayed equation.")
    text: str
    page: int | None = Field(description="The PDF page it is on, from 1; null for LaTeX.")
    latex: str | None = Field(description="An equation's LaTeX, where the source has it.")
    label: str | None = Field(description='The paper\'s own equation number, "(3)".')
    html: str | None = Field(
        description="From a LaTeX source, the block as sanitised HTML with its math as "
        "MathML (each formula's LaTeX in `alttext`): an equation whole, a paragraph with "
        "its inline math. Null from a PDF, whose text has no LaTeX."
    )


class SectionOut(BaseModel):
    index: int = Field(description="Its place in the paper, from 0.")
    heading: str
    number: str | None = Field(description='"3.2.1" as the paper numbers it; null if unnumbered.')
    level: int = Field(description="1 for a section, 2 for a subsection, 3 below.")
    page: int | None
    block_count: int = Field(description="All its blocks; `blocks` holds those on this page.")
    blocks: list[BlockOut]


class SymbolOut(BaseModel):
    symbol: str = Field(description="As LaTeX, normalised: `d_k`, `\\pi_\\theta`.")
    definition: str
    section: int = Field(description="The index of the section that defines it.")
    block: int = Field(description="The index, in that section, of the block that defines it.")


class DocumentOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "source_id": "3f2c1e4a-9b7d-4e21-8a65-0c1d2e3f4a5b",
                    "status": "ready",
                    "progress": 1.0,
                    "stage": "Ready",
                    "error": None,
                    "file_name": "attention.pdf",
                    "file_bytes": 2215244,
                    "attempts": 1,
                    "created_at": "2025-03-12T18:02:11.004Z",
                    "finished_at": "2025-03-12T18:02:19.310Z",
                    "title": "Attention Is All You Need",
                    "origin": "pdf",
                    "page_count": 15,
                    "section_count": 1,
                    "block_count": 1,
                    "sections": [
                        {
                            "index": 0,
                            "heading": "Scaled Dot-Product Attention",
                            "number": "3.2.1",
                            "level": 3,
                            "page": 4,
                            "block_count": 1,
                            "blocks": [
                                {
                                    "index": 0,
                                    "position": 0,
                                    "kind": "text",
                                    "text": "The input consists of queries and keys of "
                                    "dimension d_k, and values of dimension d_v.",
                                    "page": 4,
                                    "latex": None,
                                    "label": None,
                                    "html": None,
                                }
                            ],
                        }
                    ],
                    "symbols": [
                        {
                            "symbol": "d_k",
                            "definition": "the dimension of the queries and keys",
                            "section": 0,
                            "block": 0,
                        }
                    ],
                    "next_block": None,
                }
            ]
        }
    )

    source_id: uuid.UUID
    status: PaperStatus = Field(
        description="`pending` (stored, waiting), `extracting`, `ready`, or `failed` "
        "(`error` says why; POST …/document/extract tries again)."
    )
    progress: float = Field(ge=0, le=1, description="How much of the reading is done, 0 to 1.")
    stage: str = Field(description='What is being done now, for a person: "Reading page 3 of 9".')
    error: ErrorBody | None = Field(
        description="Why it failed: `not_a_pdf`, `pdf_encrypted`, `pdf_has_no_text` (a scan), "
        "`pdf_too_many_pages`, `pdf_damaged`, `pdf_too_complex` (built to exhaust a "
        "reader), `extraction_out_of_memory`, `extraction_timed_out`, "
        "`extraction_too_large`, `extraction_crashed`, `extraction_interrupted` (Tutor "
        "stopped meanwhile; try again)."
    )
    file_name: str
    file_bytes: int
    attempts: int = Field(description="How many times reading it has started.")
    created_at: datetime
    finished_at: datetime | None
    title: str | None = Field(description="Once ready: the paper's title.")
    origin: Origin | None = Field(description="Once ready: `pdf` or `latex`.")
    page_count: int | None = Field(description="Once ready, from a PDF: its pages.")
    section_count: int
    block_count: int
    sections: list[SectionOut] = Field(
        description="Once ready: the sections holding blocks `from_block` on, at most "
        "`limit` blocks, in reading order; a section cut by the page holds the blocks on it."
    )
    symbols: list[SymbolOut] = Field(
        description="Once ready: the symbols the paper defines, where it first does."
    )
    next_block: int | None = Field(
        description="Pass it as `from_block` for the next page of blocks; null after the last."
    )

    @classmethod
    def of(cls, paper: Paper, page: DocumentPage | None = None) -> DocumentOut:
        return cls(
            source_id=paper.source_id,
            status=paper.status,
            progress=paper.progress,
            stage=paper.stage,
            error=_error(paper),
            file_name=paper.file_name,
            file_bytes=paper.file_bytes,
            attempts=paper.attempts,
            created_at=paper.created_at,
            finished_at=paper.finished_at,
            title=paper.title,
            origin=paper.origin,
            page_count=paper.page_count,
            section_count=page.section_count if page else 0,
            block_count=page.block_count if page else 0,
            sections=[_section(s) for s in page.sections] if page else [],
            symbols=[
                SymbolOut(
                    symbol=s.symbol,
                    definition=s.definition,
                    section=s.section_index,
                    block=s.block_index,
                )
                for s in (page.symbols if page else ())
            ],
            next_block=page.next_block if page else None,
        )


class DocumentStateOut(BaseModel):
    """How a source's document stands, without its text: what a list of sources shows."""

    source_id: uuid.UUID
    status: PaperStatus
    progress: float = Field(ge=0, le=1)
    stage: str
    error: ErrorBody | None
    title: str | None = Field(description="Once ready: the paper's title.")

    @classmethod
    def of(cls, paper: Paper) -> DocumentStateOut:
        return cls(
            source_id=paper.source_id,
            status=paper.status,
            progress=paper.progress,
            stage=paper.stage,
            error=_error(paper),
            title=paper.title,
        )


class DocumentStateList(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "documents": [
                        {
                            "source_id": "3f2c1e4a-9b7d-4e21-8a65-0c1d2e3f4a5b",
                            "status": "ready",
                            "progress": 1.0,
                            "stage": "Ready",
                            "error": None,
                            "title": "Attention Is All You Need",
                        }
                    ]
                }
            ]
        }
    )

    documents: list[DocumentStateOut] = Field(
        description="One for each source asked about that is yours and has a document; "
        "a source without one is left out."
    )


def _error(paper: Paper) -> ErrorBody | None:
    if paper.error_code is None:
        return None
    return ErrorBody(code=paper.error_code, message=paper.error_message or "")


def _html(block: Block) -> str | None:
    """A LaTeX source's math as MathML: an equation whole, a paragraph's inline `$…$`
    within its words (its text keeps them; a PDF's text has none to render)."""
    if block.latex is None:
        return None
    if block.kind is BlockKind.equation:
        return render_markdown(f"$${block.latex}$$", math="mathml-with-source")
    return render_markdown(block.text, math="mathml-with-source")


def _section(stored: StoredSection) -> SectionOut:
    section = stored.section
    return SectionOut(
        index=stored.position,
        heading=section.heading,
        number=section.number,
        level=section.level,
        page=section.page,
        block_count=stored.block_count,
        blocks=[
            BlockOut(
                index=stored.first_index + i,
                position=stored.first_block + stored.first_index + i,
                kind=b.kind,
                text=b.text,
                page=b.page,
                latex=b.latex,
                label=b.label,
                html=_html(b),
            )
            for i, b in enumerate(section.blocks)
        ],
    )
