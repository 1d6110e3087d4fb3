"""The learner's corrections to what Tutor derived about them (the rest is derived)."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from service.db import Base, string_enum, utcnow


class Subject(enum.StrEnum):
    concept = "concept"
    misconception = "misconception"


class Mark(enum.StrEnum):
    known = "known"  # "I know this well": the tutor builds on it
    learning = "learning"  # "treat it as new to me"
    ignore = "ignore"  # "don't tell the tutor about this"
    dismissed = "dismissed"  # a misconception that is not (or no longer) the learner's


class KnowledgeMark(Base):
    """One correction: a concept marked, or a misconception dismissed.

    Keyed by what it corrects (a concept's key, a misconception's id) rather than by a
    row of derived data, so it survives the derivation being recomputed.
    """

    __tablename__ = "knowledge_marks"

    learner_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("learners.id", ondelete="CASCADE"), primary_key=True
    )
    subject: Mapped[Subject] = mapped_column(
        string_enum(Subject, "knowledge_subject"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    # The name the learner gave a concept Tutor had not seen (else the derived name wins).
    name: Mapped[str | None] = mapped_column(String(200))
    mark: Mapped[Mark] = mapped_column(string_enum(Mark, "knowledge_mark"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
