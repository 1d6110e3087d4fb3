"""Check answers: the request, what the model must return, and what the API returns."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from service.checks.models import CheckResult, CheckStatus

# One or two sentences; a grammar-constrained model is held to the limit as it writes.
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=600)]


class CheckRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    answer: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]


class CheckGrade(BaseModel):
    """What the model must return."""

    result: CheckResult
    feedback: ShortText
    expected: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]


class CheckOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)  # read from a CheckAnswer row

    id: uuid.UUID
    session_id: uuid.UUID
    message_id: uuid.UUID = Field(description="The tutor's message that asked the question.")
    question: str
    answer: str
    status: CheckStatus
    result: CheckResult | None
    feedback: str | None
    expected: str | None = Field(description="Shown once graded: the answer looked for.")
    card_id: uuid.UUID | None = Field(description="The card draft a missed check became.")
    created_at: datetime


class CheckList(BaseModel):
    items: list[CheckOut]
