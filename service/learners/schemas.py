"""What the API says about learners, and what it accepts."""

from __future__ import annotations

import uuid
import zoneinfo
from datetime import datetime
from functools import cache
from typing import Annotated, ClassVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from service.patch import PatchModel
from service.urls import Url as WebhookUrl
from service.webhooks import WebhookFormat


@cache
def _known_timezones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def check_timezone(name: str) -> str:
    """An IANA name such as Europe/Berlin; abbreviations and offsets are ambiguous."""
    if name not in _known_timezones():
        raise ValueError(f"unknown IANA timezone {name!r} (try a name such as 'Europe/Berlin')")
    return name


LearnerName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Timezone = Annotated[str, AfterValidator(check_timezone)]
DayStartHour = Annotated[int, Field(ge=0, le=23)]
NewCardsPerDay = Annotated[int, Field(ge=0, le=1000)]


class LearnerOut(BaseModel):
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "id": "6a1f3c2b-7d4e-4f5a-9b8c-0d1e2f3a4b5c",
                    "name": "ada",
                    "timezone": "Europe/London",
                    "day_starts_at_hour": 4,
                    "new_cards_per_day": 20,
                    "reminder_hour": 8,
                    "webhook_url": "https://ntfy.sh/ada-reviews",
                    "webhook_format": "ntfy",
                    "scheduler": "fsrs",
                    "desired_retention": 0.9,
                    "created_at": "2025-03-01T10:00:00Z",
                }
            ]
        },
    )

    id: uuid.UUID
    name: str
    timezone: str
    day_starts_at_hour: int
    new_cards_per_day: int
    reminder_hour: int | None
    webhook_url: str | None
    webhook_format: WebhookFormat
    scheduler: str = Field(description="`sm2` or `fsrs`; change it at /v1/me/scheduler.")
    desired_retention: float = Field(description="FSRS's target; see /v1/me/scheduler.")
    created_at: datetime


class LearnerUpdate(PatchModel):
    """PATCH /v1/me."""

    nullable: ClassVar[frozenset[str]] = frozenset({"reminder_hour", "webhook_url"})
    examples: ClassVar[list[dict[str, object]]] = [
        {"timezone": "America/New_York", "new_cards_per_day": 15},
        {
            "reminder_hour": 8,
            "webhook_url": "https://ntfy.sh/ada-reviews",
            "webhook_format": "ntfy",
        },
        {"reminder_hour": None, "webhook_url": None},
    ]

    name: LearnerName | None = Field(
        default=None,
        description="Read-only: accepted when it is the current name. The operator renames "
        "learners, so that a name in use elsewhere is never revealed.",
    )
    timezone: Timezone | None = None
    day_starts_at_hour: DayStartHour | None = None
    new_cards_per_day: NewCardsPerDay | None = None
    reminder_hour: Annotated[int, Field(ge=0, le=23)] | None = Field(
        default=None, description="Local hour for a reminder when cards are due; null: none."
    )
    webhook_url: WebhookUrl | None = Field(
        default=None,
        description="http(s) URL for reminders; its host must resolve to public addresses "
        "(unless TUTOR_ALLOW_PRIVATE_WEBHOOKS), or 422 says why. Null: none.",
    )
    webhook_format: WebhookFormat | None = None
