"""What the API says about sources, and what it accepts."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, ClassVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
)
from pydantic.config import JsonDict

from service.patch import PatchModel
from service.sources.models import SourceKind, SourceStatus
from service.urls import Url

Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
Notes = Annotated[str, StringConstraints(max_length=20_000)]
# What a learner pastes for a paper on arXiv; service/papers/arxiv.py reads the id in it.
ArxivRef = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]

_ATTENTION: JsonDict = {
    "title": "Attention Is All You Need",
    "url": "https://arxiv.org/abs/1706.03762",
    "kind": "paper",
    "status": "reading",
    "notes": "Why 8 heads of 64 rather than one of 512?",
}


class SourceCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                _ATTENTION,
                {"title": "Adam: A Method for Stochastic Optimization"},
                # No `arxiv` example: API fuzzers send the examples, and one would make
                # the server under test fetch from arXiv.
            ]
        },
    )

    # Before `title`, which may be left out when it is given (validators see the fields
    # declared before them).
    arxiv: ArxivRef | None = Field(
        default=None,
        description="An arXiv id (`1706.03762`, `arXiv:1706.03762v7`, `cs/0112017`) or a "
        "link to the paper on arxiv.org: Tutor fetches the paper (its LaTeX source, else "
        "its PDF) and reads it in the background; `GET /v1/sources/{id}/document` shows "
        "how far. `url` becomes the paper's arXiv page, `title` (when left out) the id, "
        "until the paper is read.",
    )
    title: Title = Field(
        default=None,  # required unless `arxiv` is given (the validator below)
        validate_default=True,
    )
    url: Url | None = None
    kind: SourceKind = SourceKind.paper
    status: SourceStatus = SourceStatus.queued
    notes: Notes = ""

    @field_validator("title", mode="before")
    @classmethod
    def _title_unless_arxiv(cls, value: object, info: ValidationInfo) -> object:
        if value is None and info.data.get("arxiv") is not None:
            return f"arXiv {info.data['arxiv'].strip()}"[:300]
        if value is None:
            raise ValueError("a title is required, unless `arxiv` names the paper")
        return value

    def fields(self) -> dict[str, object]:
        """The source's own fields (not `arxiv`, which says where to fetch it from)."""
        return self.model_dump(exclude={"arxiv"})


class SourceUpdate(PatchModel):
    nullable: ClassVar[frozenset[str]] = frozenset({"url"})
    examples: ClassVar[list[dict[str, object]]] = [
        {"status": "done", "notes": "Multi-head: each head attends in its own subspace."},
        {"url": None},
    ]

    title: Title | None = None
    url: Url | None = Field(default=None, description="Null: no link.")
    kind: SourceKind | None = None
    status: SourceStatus | None = None
    notes: Notes | None = None


class SourceOut(BaseModel):
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "id": "3f2c1e4a-9b7d-4e21-8a65-0c1d2e3f4a5b",
                    **_ATTENTION,
                    "created_at": "2025-03-12T18:02:11.004Z",
                    "updated_at": "2025-03-14T09:20:37.551Z",
                }
            ]
        },
    )

    id: uuid.UUID
    title: str
    url: str | None
    kind: SourceKind
    status: SourceStatus
    notes: str
    created_at: datetime
    updated_at: datetime
