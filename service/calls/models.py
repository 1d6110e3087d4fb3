"""Every call to the model, for cost, latency and failure accounting."""

from __future__ import annotations

import uuid

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from service.db import Base, CreatedMixin, IdMixin


class LLMCall(IdMixin, CreatedMixin, Base):
    __tablename__ = "llm_calls"
    __table_args__ = (Index("ix_llm_calls_learner_created", "learner_id", "created_at"),)

    learner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("learners.id", ondelete="CASCADE"))
    purpose: Mapped[str] = mapped_column(String(32))
    prompt_name: Mapped[str] = mapped_column(String(64))
    prompt_version: Mapped[int]
    # Every prompt file the call was built from, "tutor@2 turn@1 level-rigorous@3"
    # (null for calls logged before it was recorded).
    prompt_versions: Mapped[str | None] = mapped_column(String(400))
    model: Mapped[str] = mapped_column(String(200))
    prompt_tokens: Mapped[int | None]
    completion_tokens: Mapped[int | None]
    # True when the server sent no usage and the numbers are our own tiktoken count.
    usage_estimated: Mapped[bool] = mapped_column(default=False)
    time_to_first_token_ms: Mapped[int | None]
    duration_ms: Mapped[int]
    # ok | truncated | interrupted | timeout | rate_limited | error | bad_output
    outcome: Mapped[str] = mapped_column(String(32))
    error: Mapped[str | None] = mapped_column(Text)
