"""What the API says about sources, and what it accepts."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, ClassVar

from pydantic import BaseModel, ConfigDict, StringConstraints

from service.patch import PatchModel
from service.sources.models import SourceKind, SourceStatus
from service.urls import Url

Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
Notes = Annotated[str, StringConstraints(max_length=20_000)]


class SourceCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Title
    url: Url | None = None
    kind: SourceKind = SourceKind.paper
    status: SourceStatus = SourceStatus.queued
    notes: Notes = ""


class SourceUpdate(PatchModel):
    nullable: ClassVar[frozenset[str]] = frozenset({"url"})

    title: Title | None = None
    url: Url | None = None
    kind: SourceKind | None = None
    status: SourceStatus | None = None
    notes: Notes | None = None


class SourceOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    title: str
    url: str | None
    kind: SourceKind
    status: SourceStatus
    notes: str
    created_at: datetime
    updated_at: datetime
