"""A claim on one run of a background job, for one learner and one period."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from service.db import Base, CreatedMixin, IdMixin


class JobRun(IdMixin, CreatedMixin, Base):
    """Inserted before any work: the unique constraint lets one scheduler win, always.

    A second scheduler started by mistake, or a restart after a crash, finds the row and
    does nothing, so a study log or a reminder never happens twice.
    """

    __tablename__ = "job_runs"
    __table_args__ = (UniqueConstraint("job", "learner_id", "period"),)

    job: Mapped[str] = mapped_column(String(64))
    learner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("learners.id", ondelete="CASCADE"))
    period: Mapped[str] = mapped_column(String(200))
    outcome: Mapped[str | None] = mapped_column(String(32))
    detail: Mapped[str | None] = mapped_column(Text)
    finished_at: Mapped[datetime | None]
