"""What the API says about sources, and what it accepts."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, ClassVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from pydantic.config import JsonDict

from service.patch import PatchModel
from service.sources.models import SourceKind, SourceStatus
from service.urls import Url

Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
Notes = Annotated[str, StringConstraints(max_length=20_000)]

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
            ]
        },
    )

    title: Title
    url: Url | None = None
    kind: SourceKind = SourceKind.paper
    status: SourceStatus = SourceStatus.queued
    notes: Notes = ""


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
