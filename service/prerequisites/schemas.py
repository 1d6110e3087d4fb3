"""Prerequisites: the request, what the model must return, and what the API returns."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from pydantic.config import JsonDict

from service.prerequisites.models import PrerequisitePath, Trigger
from service.sessions.schemas import UsageOut

Concept = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
# Held short for grammar-constrained servers, which stop a string at its maxLength.
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
PaperTitle = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
ArxivText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=40)]
StepKind = Literal["known", "explain", "queued_source", "add_source"]


class PrerequisiteRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"trigger": "lost", "concept": None},
                {"trigger": "critiques", "concept": "scaled dot-product attention"},
            ]
        },
    )

    trigger: Trigger = Field(
        description="`lost`: the learner said so (the passage under discussion is the "
        "ground); `critiques`: explanations of `concept` failed (the concept and those "
        "attempts are the ground)."
    )
    concept: Concept | None = Field(
        default=None,
        description="The concept the learner is stuck on; with `critiques`, default: the "
        "concept of the session's latest critique.",
    )


# --- what the model returns ----------------------------------------------------------


class PaperDraft(BaseModel):
    title: PaperTitle
    arxiv_id: ArxivText | None = Field(description="Its arXiv id, only if sure; else null.")


class ConceptDraft(BaseModel):
    name: Name
    also_called: Annotated[list[Name], Field(max_length=3)] = Field(
        description="Other names and abbreviations of the concept (may be empty)."
    )
    why: ShortText = Field(description="How the passage depends on it, in one sentence.")
    paper: PaperDraft | None = Field(description="A paper that teaches it, or null.")


class PrerequisitesDraft(BaseModel):
    """What the model must return; the code decides what the learner knows."""

    summary: ShortText
    concepts: Annotated[list[ConceptDraft], Field(min_length=1, max_length=5)]


# --- what the API returns --------------------------------------------------------------

_STEP: JsonDict = {"kind": "queued_source", "source_id": None, "title": None, "arxiv_id": None}
PATH_EXAMPLE: JsonDict = {
    "id": "3b7e1d2c-9a4f-4e8b-b1c2-d3e4f5a6b7c8",
    "session_id": "5f0c6f2e-8f0e-4c44-9a43-3f1f1fb0d2a1",
    "trigger": "critiques",
    "concept": "scaled dot-product attention",
    "created_at": "2025-03-14T09:47:02Z",
    "summary": "Scaled attention rests on the softmax and on the variance of a dot "
    "product. Your cards show you know 1 of these 3; start with “variance of a sum”.",
    "concepts": [
        {
            "name": "softmax",
            "why": "The attention weights are the softmax of the scores.",
            "known": True,
            "evidence": "2 cards you review; last graded Good.",
            "step": {"kind": "known", "source_id": None, "title": None, "arxiv_id": None},
        },
        {
            "name": "variance of a sum of independent variables",
            "why": "The √d_k scaling undoes the variance a d_k-term dot product adds up.",
            "known": False,
            "evidence": None,
            "step": {"kind": "explain", "source_id": None, "title": None, "arxiv_id": None},
        },
        {
            "name": "layer normalization",
            "why": "The sublayer outputs the passage feeds on are normalized.",
            "known": False,
            "evidence": None,
            "step": {
                **_STEP,
                "kind": "add_source",
                "title": "Layer Normalization",
                "arxiv_id": "1607.06450",
            },
        },
    ],
    "usage": {"prompt_tokens": 912, "completion_tokens": 188, "estimated": False},
}


class PrerequisiteStepOut(BaseModel):
    kind: StepKind = Field(
        description="`known`: nothing to do; `explain`: ask about it here, in the session; "
        "`queued_source`: a source in your reading queue teaches it (`source_id`); "
        "`add_source`: a paper to add to the queue (`title`, and `arxiv_id` when known)."
    )
    source_id: uuid.UUID | None
    title: str | None
    arxiv_id: str | None


class PrerequisiteOut(BaseModel):
    name: str
    why: str = Field(description="How the passage depends on it.")
    known: bool = Field(description="Decided from your cards, critiques and sessions.")
    evidence: str | None = Field(description="What shows it, in words; null: nothing does.")
    step: PrerequisiteStepOut


class PrerequisitePathOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [PATH_EXAMPLE]})

    id: uuid.UUID
    session_id: uuid.UUID
    trigger: Trigger
    concept: str | None
    created_at: datetime
    summary: str
    concepts: list[PrerequisiteOut] = Field(description="Most fundamental first.")
    usage: UsageOut | None

    @classmethod
    def of(cls, path: PrerequisitePath) -> PrerequisitePathOut:
        usage = None
        if path.prompt_tokens is not None and path.completion_tokens is not None:
            usage = UsageOut(
                prompt_tokens=path.prompt_tokens,
                completion_tokens=path.completion_tokens,
                estimated=bool(path.usage_estimated),
            )
        concepts: list[dict[str, Any]] = path.concepts
        return cls(
            id=path.id,
            session_id=path.session_id,
            trigger=path.trigger,
            concept=path.concept,
            created_at=path.created_at,
            summary=path.summary,
            concepts=[PrerequisiteOut.model_validate(concept) for concept in concepts],
            usage=usage,
        )


class PrerequisitePathList(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [PATH_EXAMPLE]}]})

    items: list[PrerequisitePathOut] = Field(description="Newest first.")
