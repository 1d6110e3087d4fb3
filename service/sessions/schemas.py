"""What the API says about sessions and messages, and what it accepts."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from functools import lru_cache
from typing import Annotated, ClassVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator
from pydantic.config import JsonDict

from service.patch import PatchModel
from service.rendering import render_markdown
from service.sessions.models import (
    Kind,
    Level,
    Message,
    MessageStatus,
    PaperPassage,
    Role,
    TutorSession,
)

# Sessions are read far more often than written; rendering the same text twice is waste.
_render = lru_cache(maxsize=4096)(render_markdown)

SessionTitle = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)
]
# Characters only bound the request; the real limit is in tokens (max_passage_tokens).
LearnerText = Annotated[str, StringConstraints(min_length=1, max_length=200_000)]

# The examples below, one session about one paper, so that they read as one story.
_SESSION_ID = "5f0c6f2e-8f0e-4c44-9a43-3f1f1fb0d2a1"
_SOURCE_ID = "3f2c1e4a-9b7d-4e21-8a65-0c1d2e3f4a5b"
_TITLE = "Scaled Dot-Product Attention"
_PASSAGE = (
    "We compute the dot products of the query with all keys, divide each by √d_k, and "
    "apply a softmax function to obtain the weights on the values."
)
_ANSWER = (
    "Each query asks *which keys look like me?* The dot products score every key, and "
    "dividing by √d_k keeps those scores from growing with the dimension, so the softmax "
    "stays soft instead of picking one key.\n\nCheck: what would happen to the gradients "
    "if we did not scale?"
)
_MESSAGE: JsonDict = {
    "id": "0b7a5a53-3d8e-4b43-a1c0-5b1e8e7c9d10",
    "session_id": _SESSION_ID,
    "role": "tutor",
    "kind": "explanation",
    "content": _ANSWER,
    "html": "<p>Each query asks <em>which keys look like me?</em> …</p>",
    "level": "intuition",
    "status": "complete",
    "truncated": False,
    "usage": {"prompt_tokens": 412, "completion_tokens": 73, "estimated": False},
    "error": None,
    "from_paper": None,
    "created_at": "2025-03-14T09:26:53.589Z",
}
_FROM_PAPER_IN: JsonDict = {"source_id": _SOURCE_ID, "first_block": 6, "last_block": 6}
_FROM_PAPER: JsonDict = {
    **_FROM_PAPER_IN,
    "paper_title": "Attention Is All You Need",
    "section_number": "3.2.1",
    "section_heading": _TITLE,
    "page": 4,
}
_SESSION: JsonDict = {
    "id": _SESSION_ID,
    "title": _TITLE,
    "source_id": _SOURCE_ID,
    "passage": _FROM_PAPER,
    "created_at": "2025-03-14T09:26:41.120Z",
    "updated_at": "2025-03-14T09:26:53.589Z",
}


class PaperPassageIn(BaseModel):
    """Where in a paper the passage is: a run of its blocks, by their paper-wide
    `position` (GET /v1/sources/{source_id}/document)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [_FROM_PAPER_IN]})

    source_id: uuid.UUID = Field(description="A source of yours whose document is ready.")
    first_block: int = Field(ge=0, description="The `position` of the passage's first block.")
    last_block: int = Field(
        ge=0, description="The `position` of its last block: `first_block` or after."
    )

    @model_validator(mode="after")
    def _in_order(self) -> PaperPassageIn:
        if self.last_block < self.first_block:
            raise ValueError("last_block must not come before first_block")
        return self


class PaperPassageOut(BaseModel):
    """The passage of a paper a message came from, as it was when the learner picked it."""

    model_config = ConfigDict(from_attributes=True, json_schema_extra={"examples": [_FROM_PAPER]})

    source_id: uuid.UUID
    first_block: int
    last_block: int
    paper_title: str
    section_number: str | None = Field(description='As the paper numbers it ("3.2.1").')
    section_heading: str
    page: int | None = Field(description="A PDF's page (1-based); null for a LaTeX source.")

    @classmethod
    def of(cls, passage: PaperPassage | None) -> PaperPassageOut | None:
        return None if passage is None else cls.model_validate(passage)


class SessionCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"title": _TITLE, "source_id": _SOURCE_ID}, {}]},
    )

    title: SessionTitle | None = None
    source_id: uuid.UUID | None = None


class SessionUpdate(PatchModel):
    nullable: ClassVar[frozenset[str]] = frozenset({"title", "source_id"})
    examples: ClassVar[list[dict[str, object]]] = [
        {"title": "Why scale by √d_k?"},
        {"source_id": None},
    ]

    title: SessionTitle | None = Field(
        default=None, description='Null: untitled (the web app shows "Untitled session").'
    )
    source_id: uuid.UUID | None = Field(default=None, description="Null: about no source.")


class ExplainRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "passage": f"{_TITLE}\n{_PASSAGE}",
                    "question": "Why divide by √d_k rather than d_k?",
                    "level": "intuition",
                },
                {"passage": _PASSAGE, "level": "rigorous", "from_paper": _FROM_PAPER_IN},
            ]
        },
    )

    passage: LearnerText = Field(
        description="The text to explain, as copied from the paper (Markdown and LaTeX "
        "welcome); its first line names an untitled session."
    )
    question: Annotated[str, StringConstraints(max_length=20_000)] | None = Field(
        default=None, description="What the learner wants to know about it, if anything."
    )
    level: Level = Field(
        default=Level.intuition,
        description="`eli5` (no jargon), `intuition` (the idea and why), `rigorous` (the "
        "math, precisely).",
    )
    from_paper: PaperPassageIn | None = Field(
        default=None,
        description="The blocks of a paper the passage was selected from: the prompt then "
        "carries the paper's title, the section and the symbols the passage uses as the "
        "paper defined them earlier. A session with no source takes the paper's.",
    )


class FollowUpRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"content": "So without the scaling, would the softmax saturate?"},
                {"content": "Show me the variance argument.", "level": "rigorous"},
            ]
        },
    )

    content: LearnerText
    level: Level | None = Field(
        default=None, description="Defaults to the level of the session's latest answer."
    )


class UsageOut(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    estimated: bool = Field(description="Counted here: the model server reported none.")


class MessageOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_MESSAGE]})

    id: uuid.UUID
    session_id: uuid.UUID
    role: Role
    kind: Kind
    content: str = Field(description="Markdown, with LaTeX between `$` signs.")
    html: str = Field(description="`content` rendered: sanitized HTML with MathML.")
    level: Level | None
    status: MessageStatus = Field(
        description="`streaming` while the model writes; `failed` or `interrupted` (with "
        "the text so far) can be retried."
    )
    truncated: bool = Field(description="The answer reached its token limit.")
    usage: UsageOut | None
    error: str | None = Field(description="Why the answer failed or broke off, if it did.")
    from_paper: PaperPassageOut | None = Field(
        description="The passage of a paper this message (a passage, or an attempt to "
        "explain one back) came from; null otherwise."
    )
    created_at: datetime

    @classmethod
    def of(cls, message: Message, from_paper: PaperPassage | None = None) -> MessageOut:
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
            from_paper=PaperPassageOut.of(from_paper),
            created_at=message.created_at,
        )


class MessageEnvelope(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"message": _MESSAGE}]})

    message: MessageOut


class SessionOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_SESSION]})

    id: uuid.UUID
    title: str | None
    source_id: uuid.UUID | None
    passage: PaperPassageOut | None = Field(
        description="The passage of a paper the session is about: its latest one."
    )
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, session: TutorSession, passage: PaperPassage | None = None) -> SessionOut:
        return cls(
            id=session.id,
            title=session.title,
            source_id=session.source_id,
            passage=PaperPassageOut.of(passage),
            created_at=session.created_at,
            updated_at=session.updated_at,
        )


class SessionDetail(SessionOut):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    **_SESSION,
                    "messages": [
                        {
                            **_MESSAGE,
                            "id": "9c1d7e0a-2b4f-4f6a-8e3d-5a6b7c8d9e0f",
                            "role": "learner",
                            "kind": "passage",
                            "content": _PASSAGE,
                            "html": f"<p>{_PASSAGE}</p>",
                            "usage": None,
                            "from_paper": _FROM_PAPER,
                            "created_at": "2025-03-14T09:26:52.001Z",
                        },
                        _MESSAGE,
                    ],
                }
            ]
        }
    )

    messages: list[MessageOut]

    @classmethod
    def of(  # type: ignore[override]  # the passages of every message, not one
        cls, session: TutorSession, passages: Mapping[uuid.UUID, PaperPassage]
    ) -> SessionDetail:
        anchored = [passages[m.id] for m in session.messages if m.id in passages]
        return cls(
            **SessionOut.of(session, anchored[-1] if anchored else None).model_dump(),
            messages=[MessageOut.of(m, passages.get(m.id)) for m in session.messages],
        )
