"""Tutoring sessions, the messages in them, and the critiques of the learner's attempts."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from service.db import Base, CreatedMixin, IdMixin, string_enum, utcnow
from service.llm.blocks import NONCE_LENGTH, new_nonce


class Role(enum.StrEnum):
    learner = "learner"
    tutor = "tutor"


class Kind(enum.StrEnum):
    passage = "passage"
    question = "question"
    explanation = "explanation"
    answer = "answer"
    attempt = "attempt"  # the learner's own explanation, to be critiqued
    critique = "critique"


class Level(enum.StrEnum):
    eli5 = "eli5"
    intuition = "intuition"
    rigorous = "rigorous"


class MessageStatus(enum.StrEnum):
    complete = "complete"
    streaming = "streaming"
    interrupted = "interrupted"
    failed = "failed"


class TutorSession(IdMixin, CreatedMixin, Base):
    """A conversation about one passage or topic (named to keep clear of DB sessions)."""

    __tablename__ = "sessions"
    __table_args__ = (Index("ix_sessions_learner_created", "learner_id", "created_at", "id"),)

    learner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("learners.id", ondelete="CASCADE"))
    title: Mapped[str | None] = mapped_column(String(200))
    source_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("sources.id", ondelete="SET NULL"), index=True
    )
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # The last message position distillation has seen: newer messages are new content.
    distilled_position: Mapped[int | None]
    # Fences the learner's material in every prompt of the session: one nonce for the
    # session's life keeps each turn's prompt a prefix of the next (service/llm/blocks.py).
    prompt_nonce: Mapped[str] = mapped_column(String(NONCE_LENGTH), default=new_nonce)

    messages: Mapped[list[Message]] = relationship(
        back_populates="session",
        order_by="Message.position",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )


class Message(IdMixin, CreatedMixin, Base):
    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("session_id", "position"),
        # Answers still being written, by when they were last known alive: what the
        # search for abandoned answers reads every few seconds (service/sessions/recovery.py).
        Index(
            "ix_messages_streaming",
            "updated_at",
            postgresql_where=text("status = 'streaming'"),
            sqlite_where=text("status = 'streaming'"),
        ),
    )

    session_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"))
    # Order within the session; unique, so two turns racing cannot interleave silently.
    position: Mapped[int]
    role: Mapped[Role] = mapped_column(string_enum(Role, "message_role"))
    kind: Mapped[Kind] = mapped_column(string_enum(Kind, "message_kind"))
    content: Mapped[str] = mapped_column(Text, default="")
    level: Mapped[Level | None] = mapped_column(string_enum(Level, "message_level"))
    status: Mapped[MessageStatus] = mapped_column(
        string_enum(MessageStatus, "message_status"), default=MessageStatus.complete
    )
    truncated: Mapped[bool] = mapped_column(default=False)
    # Counted once when stored, so a long session is not re-encoded on every turn.
    token_count: Mapped[int] = mapped_column(default=0)
    prompt_tokens: Mapped[int | None]
    completion_tokens: Mapped[int | None]
    usage_estimated: Mapped[bool | None]
    error_code: Mapped[str | None] = mapped_column(String(64))
    error_message: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    session: Mapped[TutorSession] = relationship(back_populates="messages")
    # Read only by the learner's archive, which loads it with the message; written as a
    # row of its own (service/sessions/passages.py).
    paper_passage: Mapped[PaperPassage | None] = relationship(viewonly=True, lazy="raise")


class PaperPassage(Base):
    """The blocks of a paper a learner's message came from (a passage they selected in
    the reader, or the passage an attempt explains back), and the paper context the
    prompt carried for it.

    `context` is built once, when the message is written, and never again: every later
    turn's prompt repeats it byte for byte, so it stays a prefix of the next (prefix
    caching), whatever happens to the paper afterwards. The other columns are a snapshot
    too, so the session still names its passage if the paper is read again.
    """

    __tablename__ = "paper_passages"

    message_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("messages.id", ondelete="CASCADE"), primary_key=True
    )
    source_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("sources.id", ondelete="CASCADE"), index=True
    )
    # Paper-wide block positions, both included.
    first_block: Mapped[int]
    last_block: Mapped[int]
    paper_title: Mapped[str] = mapped_column(Text)
    section_number: Mapped[str | None] = mapped_column(String(32))
    section_heading: Mapped[str] = mapped_column(Text)
    page: Mapped[int | None]
    # The fenced PAPER CONTEXT block (service/papers/context.py), frozen.
    context: Mapped[str] = mapped_column(Text)
    context_tokens: Mapped[int]

    # Set when stored with a message not yet flushed, so the message is inserted first.
    message: Mapped[Message] = relationship(lazy="raise")


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
