"""A paper's tables: the extraction job, and the Document it produced (document.py).

A source has at most one paper. The `papers` row is the job as well as the paper: written
when the file arrives, touched while a child process reads it (a row left `extracting`
by a process that died stops being touched, and counts as failed), and holding the
title, the page count and the outcome when it ends. Sections, blocks and symbols are
written in one transaction with the `ready` status, so a reader never sees half a paper.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from service.db import Base, CreatedMixin, IdMixin, string_enum
from service.papers.document import BlockKind, Origin


class PaperStatus(enum.StrEnum):
    # The file is stored; its extraction has not started yet.
    pending = "pending"
    extracting = "extracting"
    ready = "ready"
    # `error_code` and `error_message` say why; the file is kept, and extraction can be
    # started again.
    failed = "failed"


class Paper(IdMixin, CreatedMixin, Base):
    __tablename__ = "papers"
    __table_args__ = (Index("ix_papers_learner_created", "learner_id", "created_at"),)

    learner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("learners.id", ondelete="CASCADE"))
    source_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("sources.id", ondelete="CASCADE"), unique=True
    )
    status: Mapped[PaperStatus] = mapped_column(string_enum(PaperStatus, "paper_status"))
    # 0 to 1, and what is being done now in words a learner reads ("Reading page 12 of 40").
    progress: Mapped[float] = mapped_column(default=0.0)
    stage: Mapped[str] = mapped_column(String(200))
    error_code: Mapped[str | None] = mapped_column(String(64))
    error_message: Mapped[str | None] = mapped_column(Text)
    # The stored file: data_dir/papers/<id>.<file_suffix> (service/papers/files.py).
    file_name: Mapped[str] = mapped_column(String(255))
    file_suffix: Mapped[str] = mapped_column(String(16))
    file_bytes: Mapped[int]
    file_sha256: Mapped[str] = mapped_column(String(64))
    # The function that reads the file, "module:function", run again on a retry.
    extractor: Mapped[str] = mapped_column(String(200))
    attempts: Mapped[int] = mapped_column(default=0)
    touched_at: Mapped[datetime]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    # From the Document, once ready.
    title: Mapped[str | None] = mapped_column(Text)
    origin: Mapped[Origin | None] = mapped_column(string_enum(Origin, "paper_origin"))
    page_count: Mapped[int | None]

    # Read together only by the learner's archive, which loads them with the paper; the
    # rows are written and deleted by statements (queries.py) and the foreign keys.
    sections: Mapped[list[PaperSection]] = relationship(
        order_by="PaperSection.position", viewonly=True, lazy="raise"
    )
    blocks: Mapped[list[PaperBlock]] = relationship(
        order_by="PaperBlock.position", viewonly=True, lazy="raise"
    )
    symbols: Mapped[list[PaperSymbol]] = relationship(
        order_by="PaperSymbol.position", viewonly=True, lazy="raise"
    )


class PaperSection(Base):
    """Section `position` of a paper (0-based, in reading order)."""

    __tablename__ = "paper_sections"

    paper_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(primary_key=True)
    heading: Mapped[str] = mapped_column(Text)
    number: Mapped[str | None] = mapped_column(String(32))
    level: Mapped[int]
    page: Mapped[int | None]
    # The position (in the paper's blocks) of its first block: where a page of blocks
    # that starts in this section starts.
    first_block: Mapped[int]
    block_count: Mapped[int]


class PaperBlock(Base):
    """Block `position` of a paper, counted across its sections, so a reader can page
    through a paper of any shape by one number."""

    __tablename__ = "paper_blocks"

    paper_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(primary_key=True)
    section_position: Mapped[int]
    # Its index within the section, as Symbol.block_index counts.
    index_in_section: Mapped[int]
    kind: Mapped[BlockKind] = mapped_column(string_enum(BlockKind, "paper_block_kind"))
    text: Mapped[str] = mapped_column(Text)
    page: Mapped[int | None]
    latex: Mapped[str | None] = mapped_column(Text)
    label: Mapped[str | None] = mapped_column(String(32))


class PaperSymbol(Base):
    """A symbol the paper defines, where it first does (document.Symbol)."""

    __tablename__ = "paper_symbols"

    paper_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(primary_key=True)
    symbol: Mapped[str] = mapped_column(String(200))
    definition: Mapped[str] = mapped_column(Text)
    section_position: Mapped[int]
    block_index: Mapped[int]
