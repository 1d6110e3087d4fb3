"""Critiques of the learner's own explanations, attempt by attempt."""

from __future__ import annotations

import enum
import uuid
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from service.db import Base, CreatedMixin, IdMixin, string_enum
from service.tutor.models import Level


class Verdict(enum.StrEnum):
    solid = "solid"
    shaky = "shaky"
    wrong = "wrong"


class Critique(IdMixin, CreatedMixin, Base):
    """One attempt and, once the model has answered, its critique.

    The attempt and the critique also live in the session as messages (kinds `attempt`
    and `critique`), so the session reads as one conversation; this row holds the
    structure: verdict, score, quoted issues, questions.
    """

    __tablename__ = "critiques"
    __table_args__ = (
        # Attempt numbers per concept, unique so two racing attempts cannot share one.
        UniqueConstraint("session_id", "concept_key", "attempt"),
        Index("ix_critiques_session_created", "session_id", "created_at"),
    )

    session_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"))
    attempt_message_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("messages.id", ondelete="CASCADE"), unique=True
    )
    critique_message_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("messages.id", ondelete="CASCADE"), unique=True
    )
    concept: Mapped[str] = mapped_column(String(200))
    # Case and spacing folded, so "Multi-head  attention" counts as "multi-head attention".
    concept_key: Mapped[str] = mapped_column(String(200))
    attempt: Mapped[int]
    explanation: Mapped[str] = mapped_column(Text)
    reference: Mapped[str | None] = mapped_column(Text)
    # Null until the model has answered (or while its answer failed and awaits a retry).
    verdict: Mapped[Verdict | None] = mapped_column(string_enum(Verdict, "critique_verdict"))
    score: Mapped[int | None]
    strengths: Mapped[list[str]] = mapped_column(JSON, default=list)
    issues: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    questions: Mapped[list[str]] = mapped_column(JSON, default=list)
    # The depth the explanation aims at (null on critiques made before it was asked).
    level: Mapped[Level | None] = mapped_column(string_enum(Level, "critique_level"))
    next_step: Mapped[str | None] = mapped_column(Text)
    improved_since_last: Mapped[bool | None]
    low_effort: Mapped[bool] = mapped_column(default=False)
