"""A path back: the concepts a passage depends on, as the tutor proposed them once."""

from __future__ import annotations

import enum
import uuid
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from service.db import Base, CreatedMixin, IdMixin, string_enum


class Trigger(enum.StrEnum):
    lost = "lost"  # the learner said so, or pressed "I'm lost"
    critiques = "critiques"  # two failed explanations of one concept


class PrerequisitePath(IdMixin, CreatedMixin, Base):
    """Written once, when the model has answered and the code has decided what the
    learner knows: a snapshot, so the panel shows tomorrow what it showed today."""

    __tablename__ = "prerequisite_paths"
    __table_args__ = (Index("ix_prerequisite_paths_session_created", "session_id", "created_at"),)

    session_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"))
    trigger: Mapped[Trigger] = mapped_column(string_enum(Trigger, "prerequisite_trigger"))
    # The concept the learner is stuck on (a critique's), if one was named.
    concept: Mapped[str | None] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text)
    # Each concept as shown: name, why, known, evidence, step (schemas.PrerequisiteOut).
    concepts: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    prompt_tokens: Mapped[int | None]
    completion_tokens: Mapped[int | None]
    usage_estimated: Mapped[bool | None]
