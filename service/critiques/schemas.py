"""Critiques: the request, what the model must return, and what the API returns."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from service.critiques.models import Critique, Verdict
from service.tutor.models import Message
from service.tutor.schemas import MessageOut, UsageOut

Severity = Literal["wrong", "missing", "imprecise"]
Concept = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
# One or two sentences. A grammar-constrained model (llama.cpp, vLLM, Ollama) is held to
# the limit as it writes, so a small one cannot repeat itself to the token limit.
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=600)]
Quote = Annotated[str, StringConstraints(max_length=400)]


class CritiqueRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    concept: Concept
    # May be empty: an empty attempt gets a request for a real one, not a 422.
    explanation: Annotated[str, StringConstraints(max_length=100_000)]
    passage: Annotated[str, StringConstraints(min_length=1, max_length=200_000)] | None = Field(
        default=None, description="Reference to judge against; default: the session's passages."
    )


class IssueDraft(BaseModel):
    severity: Severity
    quote: Quote | None = Field(description="The learner's exact words, or null if missing.")
    problem: ShortText
    hint: ShortText


class CritiqueDraft(BaseModel):
    """What the model must return (validated, then grounded against the explanation)."""

    verdict: Verdict
    score: Annotated[int, Field(ge=0, le=5)]
    strengths: Annotated[list[ShortText], Field(max_length=6)]
    issues: Annotated[list[IssueDraft], Field(max_length=10)]
    questions: Annotated[list[ShortText], Field(min_length=1, max_length=3)]
    improved_since_last: bool | None = None
    low_effort: bool = False


class IssueOut(BaseModel):
    severity: Severity
    quote: str | None
    problem: str
    hint: str


class CritiqueOut(BaseModel):
    id: uuid.UUID
    session_id: uuid.UUID
    concept: str
    attempt: int
    explanation: str
    verdict: Verdict
    score: int
    strengths: list[str]
    issues: list[IssueOut]
    questions: list[str]
    improved_since_last: bool | None
    low_effort: bool
    usage: UsageOut | None
    message_id: uuid.UUID = Field(description="The critique's message in the session.")
    created_at: datetime

    @classmethod
    def of(cls, critique: Critique, message: Message) -> CritiqueOut:
        """A finished critique (verdict and score set) with its session message."""
        assert critique.verdict is not None
        assert critique.score is not None
        return cls(
            id=critique.id,
            session_id=critique.session_id,
            concept=critique.concept,
            attempt=critique.attempt,
            explanation=critique.explanation,
            verdict=critique.verdict,
            score=critique.score,
            strengths=critique.strengths,
            issues=[IssueOut(**issue) for issue in critique.issues],
            questions=critique.questions,
            improved_since_last=critique.improved_since_last,
            low_effort=critique.low_effort,
            usage=MessageOut.of(message).usage,
            message_id=message.id,
            created_at=critique.created_at,
        )


class CritiqueEnvelope(BaseModel):
    """A retried critique: its message, as for every retry, and the critique itself."""

    message: MessageOut
    critique: CritiqueOut
