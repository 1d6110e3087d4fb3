"""Critiques: the request, what the model must return, and what the API returns."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from pydantic.config import JsonDict
from pydantic.json_schema import SkipJsonSchema

from service.sessions.models import Critique, Level, Message, Verdict
from service.sessions.schemas import MessageOut, PaperPassageIn, UsageOut

IssueType = Literal["misconception", "omission", "imprecision"]
# Critiques stored before issues were classified by type name them by severity.
_TYPE_OF_SEVERITY: dict[str, IssueType] = {
    "wrong": "misconception",
    "missing": "omission",
    "imprecise": "imprecision",
}
Concept = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
# One or two sentences. A grammar-constrained model (llama.cpp, vLLM, Ollama) is held to
# the limit as it writes, so a small one cannot repeat itself to the token limit.
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=600)]
Quote = Annotated[str, StringConstraints(max_length=400)]

_EXPLANATION = (
    "Attention compares the query with every key by a dot product, and the softmax of "
    "those scores gives the attention output."
)
_ISSUE: JsonDict = {
    "type": "misconception",
    "quote": "the softmax of those scores gives the attention output",
    "problem": "The softmax gives weights, not the output: the output is their weighted "
    "sum of the values.",
    "hint": "What do the weights multiply?",
    "question": "Where do the values V come in?",
    "fix": None,
    "revealed": False,
}
CRITIQUE_EXAMPLE: JsonDict = {
    "id": "c4f1a2b3-d5e6-4f70-8a9b-0c1d2e3f4a5b",
    "session_id": "5f0c6f2e-8f0e-4c44-9a43-3f1f1fb0d2a1",
    "concept": "scaled dot-product attention",
    "attempt": 1,
    "explanation": _EXPLANATION,
    "verdict": "shaky",
    "score": 3,
    "strengths": ["The query-key dot product as a similarity score is right."],
    "issues": [_ISSUE],
    "questions": ["Why divide the scores by √d_k before the softmax?"],
    "next_step": "Explain it again with the values V and the scaling.",
    "level": "intuition",
    "reveals": 0,
    "improved_since_last": None,
    "low_effort": False,
    "stumped": False,
    "usage": {"prompt_tokens": 1183, "completion_tokens": 214, "estimated": False},
    "message_id": "7e6d5c4b-3a29-4180-9f7e-6d5c4b3a2918",
    "created_at": "2025-03-14T09:45:10Z",
}


class CritiqueRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"concept": "scaled dot-product attention", "explanation": _EXPLANATION},
                {
                    "concept": "Adam's bias correction",
                    "explanation": "The moment estimates start at zero, so Adam divides "
                    "them by 1 - beta^t to undo the pull towards zero early on.",
                    "passage": "Since m_t and v_t are initialized as vectors of 0's, they "
                    "are biased towards zero, especially during the initial timesteps.",
                    "level": "rigorous",
                },
            ]
        },
    )

    concept: Concept
    # May be empty: an empty attempt gets a request for a real one, not a 422.
    explanation: Annotated[str, StringConstraints(max_length=100_000)]
    passage: Annotated[str, StringConstraints(min_length=1, max_length=200_000)] | None = Field(
        default=None, description="Reference to judge against; default: the session's passages."
    )
    level: Level | None = Field(
        default=None,
        description="The depth the explanation aims at; default: the level of the session's "
        "latest answer, else intuition. The critique demands no more than it.",
    )
    from_paper: PaperPassageIn | None = Field(
        default=None,
        description="The blocks of a paper the explanation explains back: the attempt is "
        "anchored to them, the critique sees where they sit in the paper, and without "
        "`passage` their text is the reference. A session with no source takes the paper's.",
    )


class IssueDraft(BaseModel):
    type: IssueType
    quote: Quote | None = Field(description="The learner's exact words, or null if missing.")
    problem: ShortText = Field(description="What is wrong or missing and why it matters.")
    hint: ShortText
    question: ShortText
    fix: ShortText = Field(description="The correct version; shown only when asked for.")


class CritiqueDraft(BaseModel):
    """What the model must return (validated, then grounded and calibrated in code)."""

    verdict: Verdict
    score: Annotated[int, Field(ge=0, le=5)]
    # Bounded so that a grammar-held small model that keeps adding items still closes
    # its JSON within one answer's tokens (SmolLM2 at 1,000 did not with ten issues).
    strengths: Annotated[list[ShortText], Field(max_length=3)]
    issues: Annotated[list[IssueDraft], Field(max_length=4)]
    questions: Annotated[list[ShortText], Field(min_length=1, max_length=3)]
    next_step: ShortText | None = None
    improved_since_last: bool | None = None
    # Decided by the service (too few words to critique), never asked of the model: a
    # model that set it would skip calibration (SmolLM2 did, on a correct explanation).
    low_effort: SkipJsonSchema[bool] = False


class IssueOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_ISSUE]})

    type: IssueType
    quote: str | None
    problem: str
    hint: str
    question: str | None
    fix: str | None = Field(description="Null until the learner asks for it (`revealed`).")
    revealed: bool

    @classmethod
    def of(cls, stored: dict[str, Any]) -> IssueOut:
        revealed = bool(stored.get("revealed"))
        return cls(
            type=stored.get("type") or _TYPE_OF_SEVERITY[stored["severity"]],
            quote=stored.get("quote"),
            problem=stored["problem"],
            hint=stored["hint"],
            question=stored.get("question"),
            fix=stored.get("fix") if revealed else None,
            revealed=revealed,
        )


class RevealRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"issue": 0}]})

    issue: Annotated[int, Field(ge=0, description="The issue's index in `issues`.")]


class CritiqueOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [CRITIQUE_EXAMPLE]})

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
    next_step: str | None
    level: Level | None
    reveals: int = Field(description="How many fixes the learner has asked to see.")
    improved_since_last: bool | None
    low_effort: bool
    stumped: bool = Field(
        description="This attempt makes two failed (`wrong` or `shaky`) in a row on the "
        "concept since the last `solid` one: time to go back to its prerequisites "
        "(POST /v1/sessions/{session_id}/prerequisites)."
    )
    usage: UsageOut | None
    message_id: uuid.UUID = Field(description="The critique's message in the session.")
    created_at: datetime

    @classmethod
    def of(cls, critique: Critique, message: Message, *, stumped: bool = False) -> CritiqueOut:
        """A finished critique (verdict and score set) with its session message, and
        whether it leaves the learner stumped (the service knows: `is_stumped`)."""
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
            issues=[IssueOut.of(issue) for issue in critique.issues],
            questions=critique.questions,
            next_step=critique.next_step,
            level=critique.level,
            reveals=sum(bool(issue.get("revealed")) for issue in critique.issues),
            improved_since_last=critique.improved_since_last,
            low_effort=critique.low_effort,
            stumped=stumped,
            usage=MessageOut.of(message).usage,
            message_id=message.id,
            created_at=critique.created_at,
        )


class CritiqueEnvelope(BaseModel):
    """A retried critique: its message, as for every retry, and the critique itself."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "message": {
                        "id": CRITIQUE_EXAMPLE["message_id"],
                        "session_id": CRITIQUE_EXAMPLE["session_id"],
                        "role": "tutor",
                        "kind": "critique",
                        "content": "**Shaky** (3/5). The query-key dot product as a "
                        "similarity score is right. …",
                        "html": "<p><strong>Shaky</strong> (3/5). …</p>",
                        "level": "intuition",
                        "status": "complete",
                        "truncated": False,
                        "usage": CRITIQUE_EXAMPLE["usage"],
                        "error": None,
                        "from_paper": None,
                        "created_at": CRITIQUE_EXAMPLE["created_at"],
                    },
                    "critique": CRITIQUE_EXAMPLE,
                }
            ]
        }
    )

    message: MessageOut
    critique: CritiqueOut
