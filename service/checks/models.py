"""The learner's answers to check questions, and how they were graded."""

from __future__ import annotations

import enum
import uuid

from sqlalchemy import ForeignKey, Index, Text
from sqlalchemy.orm import Mapped, mapped_column

from service.db import Base, CreatedMixin, IdMixin, string_enum


class CheckResult(enum.StrEnum):
    right = "right"
    partly = "partly"
    wrong = "wrong"


class CheckStatus(enum.StrEnum):
    grading = "grading"  # stored, the model asked: the learner's answer is safe already
    graded = "graded"
    failed = "failed"  # the model failed; the answer stays and can be graded again


class CheckAnswer(IdMixin, CreatedMixin, Base):
    __tablename__ = "check_answers"
    __table_args__ = (Index("ix_check_answers_session_created", "session_id", "created_at"),)

    session_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"))
    # The tutor's message that asked the question.
    message_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("messages.id", ondelete="CASCADE"), index=True
    )
    question: Mapped[str] = mapped_column(Text)
    answer: Mapped[str] = mapped_column(Text)
    status: Mapped[CheckStatus] = mapped_column(string_enum(CheckStatus, "check_status"))
    result: Mapped[CheckResult | None] = mapped_column(string_enum(CheckResult, "check_result"))
    # What is right in the answer and what to look at again.
    feedback: Mapped[str | None] = mapped_column(Text)
    # The expected answer in a few words: the back of the card a missed check becomes.
    expected: Mapped[str | None] = mapped_column(Text)
    card_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("cards.id", ondelete="SET NULL"))
    error_code: Mapped[str | None] = mapped_column(Text)
