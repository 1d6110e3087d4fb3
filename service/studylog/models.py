"""The study log: one diary entry per learner per day they studied."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from service.db import Base, CreatedMixin, IdMixin, utcnow


class StudyLogEntry(IdMixin, CreatedMixin, Base):
    __tablename__ = "study_log"
    __table_args__ = (
        UniqueConstraint("learner_id", "day"),
        UniqueConstraint("learner_id", "number"),
    )

    learner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("learners.id", ondelete="CASCADE"))
    day: Mapped[date]
    # "Study log N": the learner's entries count from 0.
    number: Mapped[int]
    title: Mapped[str] = mapped_column(String(100))
    facts: Mapped[dict[str, Any]] = mapped_column(JSON)
    # Written by the model from the facts; null while the model could not be reached.
    narrative: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
