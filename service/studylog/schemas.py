"""What the API says about study log entries."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from service.rendering import render_markdown
from service.studylog.models import StudyLogEntry


class EntryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    date: date
    number: int
    title: str
    facts: dict[str, Any]
    narrative: str | None
    narrative_html: str | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, entry: StudyLogEntry) -> EntryOut:
        return cls(
            id=entry.id,
            date=entry.day,
            number=entry.number,
            title=entry.title,
            facts=entry.facts,
            narrative=entry.narrative,
            narrative_html=render_markdown(entry.narrative) if entry.narrative else None,
            created_at=entry.created_at,
            updated_at=entry.updated_at,
        )


class EntryList(BaseModel):
    items: list[EntryOut]
