"""What the API says about study log entries."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict
from pydantic.config import JsonDict

from service.rendering import render_markdown
from service.studylog.models import StudyLogEntry

_ENTRY: JsonDict = {
    "id": "b2c3d4e5-f6a7-4b8c-9d0e-1f2a3b4c5d6e",
    "date": "2025-03-14",
    "number": 12,
    "title": "Scaled dot-product attention",
    "facts": {
        "date": "2025-03-14",
        "sessions": 1,
        "passages_explained": {"intuition": 1},
        "questions_asked": 2,
        "critiques": {"shaky": 1, "solid": 1},
        "shaky_concepts": ["scaled dot-product attention"],
        "cards_created": 6,
        "cards_accepted": 5,
        "reviews": 34,
        "retention": 0.8824,
        "failed_reviews": ["What does Adam's bias correction fix?"],
        "checks": {"right": 1},
        "missed_checks": [],
        "new_cards_started": 5,
        "concepts": ["scaled dot-product attention"],
        "sources_moved": [{"title": "Attention Is All You Need", "status": "reading"}],
    },
    "narrative": "You worked through why attention divides by √d_k, and explained it back "
    "twice: the second time, the weights were weights on V.",
    "narrative_html": "<p>You worked through why attention divides by √d_k …</p>",
    "created_at": "2025-03-15T03:00:05Z",
    "updated_at": "2025-03-15T03:00:09Z",
}


class EntryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True, json_schema_extra={"examples": [_ENTRY]})

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
    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [_ENTRY]}]})

    items: list[EntryOut]
