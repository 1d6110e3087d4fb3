"""The reading queue: papers, videos and posts a learner studies."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from service.db import Base, CreatedMixin, IdMixin, string_enum, utcnow


class SourceKind(enum.StrEnum):
    paper = "paper"
    video = "video"
    post = "post"
    book = "book"
    code = "code"
    other = "other"


class SourceStatus(enum.StrEnum):
    queued = "queued"
    reading = "reading"
    done = "done"


# The longest title a source keeps (the column's width).
TITLE_LENGTH = 300


class Source(IdMixin, CreatedMixin, Base):
    __tablename__ = "sources"
    __table_args__ = (
        Index("ix_sources_learner_created", "learner_id", "created_at", "id"),
        Index("ix_sources_learner_status_created", "learner_id", "status", "created_at", "id"),
    )

    learner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("learners.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(TITLE_LENGTH))
    url: Mapped[str | None] = mapped_column(String(2048))
    kind: Mapped[SourceKind] = mapped_column(string_enum(SourceKind, "source_kind"))
    status: Mapped[SourceStatus] = mapped_column(
        string_enum(SourceStatus, "source_status"), default=SourceStatus.queued
    )
    notes: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
