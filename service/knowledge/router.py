"""/v1/me/knowledge: what Tutor knows about the learner, to read and correct."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from service.db import SessionDep
from service.knowledge import service
from service.knowledge.models import Mark
from service.knowledge.notes import told
from service.knowledge.schemas import (
    About,
    ConceptMarkRequest,
    ConceptOut,
    KnowledgeOut,
    MisconceptionOut,
    MisconceptionUpdate,
)
from service.knowledge.service import MisconceptionNotFound, NotAConcept
from service.learners.auth import CurrentLearner
from service.openapi_docs import JSON_BODY, TEXT_PARAMETERS, Refusal, error_responses

router = APIRouter(prefix="/v1/me/knowledge", tags=["knowledge"])

ConceptName = Annotated[str, Path(min_length=1, max_length=200, pattern=r"\S")]
MisconceptionId = Annotated[str, Path(max_length=60, pattern=r"^[0-9a-f-]{36}\.\d{1,3}$")]


@router.get(
    "",
    operation_id="getKnowledge",
    summary="What Tutor knows about you",
    responses=error_responses(TEXT_PARAMETERS),
)
async def get_knowledge(
    learner: CurrentLearner,
    db: SessionDep,
    about: Annotated[
        About | None,
        Query(
            description="Material (a passage, a question): `told` shows what the tutor "
            "would be told about you when answering on it."
        ),
    ] = None,
) -> KnowledgeOut:
    """What Tutor knows about you: the concepts you have explained or review, how that
    went, and the mistakes you keep making. Derived from your history, never by the
    model; correct it with the marks below."""
    knowledge = await service.knowledge_of(db, learner.id)
    preview = told(knowledge, about) if about else None
    return KnowledgeOut(
        concepts=[ConceptOut.model_validate(c) for c in knowledge.concepts],
        misconceptions=[MisconceptionOut.model_validate(m) for m in knowledge.misconceptions],
        told=preview.text if preview else None,
    )


@router.patch(
    "/concepts/{concept:path}",
    operation_id="markConcept",
    summary="Correct what Tutor thinks of a concept",
    responses=error_responses(JSON_BODY, Refusal.of(NotAConcept)),
)
async def mark_concept(
    concept: ConceptName, body: ConceptMarkRequest, learner: CurrentLearner, db: SessionDep
) -> ConceptOut:
    """Correct what Tutor thinks of a concept: you know it, it is new to you, or the
    tutor should not hear of it. A concept Tutor has not seen is added."""
    mark = Mark(body.mark) if body.mark else None
    found = await service.mark_concept(db, learner=learner, concept=concept, mark=mark)
    return ConceptOut.model_validate(found)


@router.patch(
    "/misconceptions/{misconception_id}",
    operation_id="updateMisconception",
    summary="Dismiss a mistake Tutor noted, or bring it back",
    responses=error_responses(JSON_BODY, Refusal.of(MisconceptionNotFound)),
)
async def update_misconception(
    misconception_id: MisconceptionId,
    body: MisconceptionUpdate,
    learner: CurrentLearner,
    db: SessionDep,
) -> MisconceptionOut:
    """Dismiss a mistake Tutor noted (not yours, or fixed): the tutor stops hearing of
    it until it comes back in a later critique."""
    found = await service.dismiss_misconception(
        db, learner=learner, misconception_id=misconception_id, dismissed=body.dismissed
    )
    return MisconceptionOut.model_validate(found)
