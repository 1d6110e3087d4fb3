"""Learners and their API keys."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from service.db import Base, CreatedMixin, IdMixin


class Learner(IdMixin, CreatedMixin, Base):
    __tablename__ = "learners"
    __table_args__ = (
        CheckConstraint("day_starts_at_hour BETWEEN 0 AND 23", name="day_starts_at_hour"),
        CheckConstraint("new_cards_per_day BETWEEN 0 AND 1000", name="new_cards_per_day"),
        CheckConstraint("reminder_hour BETWEEN 0 AND 23", name="reminder_hour"),
        CheckConstraint("scheduler IN ('sm2', 'fsrs')", name="scheduler"),
        CheckConstraint("desired_retention BETWEEN 0.7 AND 0.99", name="desired_retention"),
    )

    name: Mapped[str] = mapped_column(String(100), unique=True)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    day_starts_at_hour: Mapped[int] = mapped_column(default=4)
    new_cards_per_day: Mapped[int] = mapped_column(default=20)
    # Local hour (0–23) for a reminder when cards are due; null: no reminders.
    reminder_hour: Mapped[int | None]
    webhook_url: Mapped[str | None] = mapped_column(String(2048))
    webhook_format: Mapped[str] = mapped_column(String(16), default="json")
    # Which algorithm schedules the learner's cards (scheduler/grades.py names them).
    scheduler: Mapped[str] = mapped_column(String(8), default="sm2")
    # FSRS schedules each card for this probability of recall when it comes due.
    desired_retention: Mapped[float] = mapped_column(default=0.9)
    # FSRS's parameters fitted to this learner's history; null: the package's defaults.
    fsrs_parameters: Mapped[list[float] | None] = mapped_column(JSON)

    api_keys: Mapped[list[ApiKey]] = relationship(
        back_populates="learner", cascade="all, delete-orphan", passive_deletes=True
    )


class ApiKey(IdMixin, CreatedMixin, Base):
    """Only a hash of the key is kept; the prefix lets a person tell keys apart."""

    __tablename__ = "api_keys"

    learner_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("learners.id", ondelete="CASCADE"), index=True
    )
    prefix: Mapped[str] = mapped_column(String(32), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    learner: Mapped[Learner] = relationship(back_populates="api_keys")

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None
