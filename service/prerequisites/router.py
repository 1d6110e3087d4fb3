"""/v1/sessions/{id}/prerequisites: when stumped, the concepts to go back to, and how."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, status

from service.db import SessionDep
from service.learners.auth import CurrentLearner
from service.modelcall import ModelCallDep
from service.openapi_docs import JSON_BODY, MODEL_CALL, PARAMETERS, Refusal, error_responses
from service.prerequisites import service
from service.prerequisites.schemas import (
    PrerequisitePathList,
    PrerequisitePathOut,
    PrerequisiteRequest,
)
from service.prerequisites.service import NothingToGround
from service.sessions.messages import TooManyTokens
from service.sessions.service import SessionNotFound

router = APIRouter(prefix="/v1/sessions/{session_id}/prerequisites", tags=["sessions"])

_NO_SUCH_SESSION = Refusal.of(SessionNotFound)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    operation_id="createPrerequisitePath",
    summary="Find the prerequisites of what you are stuck on",
    responses=error_responses(
        JSON_BODY,
        _NO_SUCH_SESSION,
        Refusal.of(NothingToGround),
        Refusal(
            TooManyTokens.status_code,
            "prompt_too_long",
            "The passage and the attempts do not fit the model's context.",
        ),
        MODEL_CALL,
    ),
)
async def create_prerequisite_path(
    session_id: uuid.UUID, body: PrerequisiteRequest, call: ModelCallDep
) -> PrerequisitePathOut:
    """When the learner is lost (`trigger: lost`) or has failed to explain a concept
    twice (`trigger: critiques`): the two to five concepts the passage depends on, most
    fundamental first, each with whether the learner's cards, critiques and sessions
    show they know it (and the evidence), and a step back for those they do not: ask
    here, open a source from the reading queue, or add a paper to it. Nothing is stored
    until the model has answered: a failed call leaves nothing behind, to try again."""
    path = await service.create_path(
        call.db,
        llm=call.llm,
        in_flight=call.in_flight,
        learner=call.learner,
        session_id=session_id,
        request=body,
    )
    return PrerequisitePathOut.of(path)


@router.get(
    "",
    operation_id="listPrerequisitePaths",
    summary="List a session's prerequisite paths",
    responses=error_responses(PARAMETERS, _NO_SUCH_SESSION),
)
async def list_prerequisite_paths(
    session_id: uuid.UUID, learner: CurrentLearner, db: SessionDep
) -> PrerequisitePathList:
    """The session's prerequisite paths, newest first, as they were proposed."""
    paths = await service.list_paths(db, learner=learner, session_id=session_id)
    return PrerequisitePathList(items=[PrerequisitePathOut.of(path) for path in paths])
