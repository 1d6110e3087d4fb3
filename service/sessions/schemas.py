"""What the API says about sessions and messages, and what it accepts."""

from __future__ import annotations

import uuid
from datetime import datetime
from functools import lru_cache
from typing import Annotated, ClassVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from service.patch import PatchModel
from service.rendering import render_markdown
from service.sessions.models import Kind, Level, Message, Role, Status, TutorSession

# Sessions are read far more often than written; rendering the same text twice is waste.
_render = lru_cache(maxsize=4096)(render_markdown)

SessionTitle = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)
]
# Characters only bound the request; the real limit is in tokens (max_passage_tokens).
LearnerText = Annotated[str, StringConstraints(min_length=1, max_length=200_000)]


class SessionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: SessionTitle | None = None
    source_id: uuid.UUID | None = None


class SessionUpdate(PatchModel):
    nullable: ClassVar[frozenset[str]] = frozenset({"source_id"})

    title: SessionTitle | None = None
    source_id: uuid.UUID | None = None


class ExplainRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    passage: LearnerText
    question: Annotated[str, StringConstraints(max_length=20_000)] | None = None
    level: Level = Level.intuition


class FollowUpRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    content: LearnerText
    level: Level | None = Field(
        default=None, description="Defaults to the level of the session's latest answer."
    )


class UsageOut(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    estimated: bool


class MessageOut(BaseModel):
    id: uuid.UUID
    session_id: uuid.UUID
    role: Role
    kind: Kind
    content: str
    html: str
    level: Level | None
    status: Status
    truncated: bool
    usage: UsageOut | None
    error: str | None = Field(description="Why the answer failed or broke off, if it did.")
    created_at: datetime

    @classmethod
    def of(cls, message: Message) -> MessageOut:
        usage = None
        if message.prompt_tokens is not None and message.completion_tokens is not None:
            usage = UsageOut(
                prompt_tokens=message.prompt_tokens,
                completion_tokens=message.completion_tokens,
                estimated=bool(message.usage_estimated),
            )
        return cls(
            id=message.id,
            session_id=message.session_id,
            role=message.role,
            kind=message.kind,
            content=message.content,
            html=_render(message.content),
            level=message.level,
            status=message.status,
            truncated=message.truncated,
            usage=usage,
            error=message.error_message,
            created_at=message.created_at,
        )


class MessageEnvelope(BaseModel):
    message: MessageOut


class SessionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    title: str | None
    source_id: uuid.UUID | None
    created_at: datetime
    updated_at: datetime


class SessionDetail(SessionOut):
    messages: list[MessageOut]

    @classmethod
    def of(cls, session: TutorSession) -> SessionDetail:
        return cls(
            **SessionOut.model_validate(session).model_dump(),
            messages=[MessageOut.of(m) for m in session.messages],
        )
