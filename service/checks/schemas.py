"""Check answers: the request, what the model must return, and what the API returns."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from pydantic.config import JsonDict

from service.checks.models import CheckResult, CheckStatus

# One or two sentences; a grammar-constrained model is held to the limit as it writes.
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=600)]


_CHECK: JsonDict = {
    "id": "f1e2d3c4-b5a6-4978-8a9b-0c1d2e3f4a5b",
    "session_id": "5f0c6f2e-8f0e-4c44-9a43-3f1f1fb0d2a1",
    "message_id": "0b7a5a53-3d8e-4b43-a1c0-5b1e8e7c9d10",
    "question": "What would happen to the gradients if we did not scale?",
    "answer": "The softmax would saturate, so the gradients would be tiny.",
    "status": "graded",
    "result": "right",
    "feedback": "Yes: large logits push the softmax to one-hot, where it is flat.",
    "expected": "They vanish: a saturated softmax has near-zero gradients.",
    "card_id": None,
    "created_at": "2025-03-14T09:28:30Z",
}


class CheckRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"answer": _CHECK["answer"]}]}
    )

    answer: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]


class CheckGrade(BaseModel):
    """What the model must return."""

    result: CheckResult
    feedback: ShortText
    expected: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]


class CheckOut(BaseModel):
    # Read from a CheckAnswer row.
    model_config = ConfigDict(from_attributes=True, json_schema_extra={"examples": [_CHECK]})

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
    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [_CHECK]}]})

    items: list[CheckOut]
