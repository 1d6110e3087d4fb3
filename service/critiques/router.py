"""/v1/sessions/{id}/critiques: explain it back, and have the holes found."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, status
from pydantic import BaseModel

from service.critiques import service
from service.critiques.schemas import CritiqueOut, CritiqueRequest, RevealRequest
from service.db import SessionDep
from service.errors import ErrorResponse
from service.learners.auth import CurrentLearner
from service.llm.errors import MODEL_ERRORS
from service.modelcall import ModelCallDep
from service.sessions.models import Message

router = APIRouter(prefix="/v1/sessions/{session_id}/critiques", tags=["critiques"])


class CritiqueList(BaseModel):
    items: list[CritiqueOut]


_CREATE_ERRORS: dict[int | str, dict[str, Any]] = {
    **MODEL_ERRORS,
    409: {
        "model": ErrorResponse,
        "description": "Another message reached the session at the same moment "
        "(`session_busy`): send again.",
    },
}


@router.post("", status_code=status.HTTP_201_CREATED, responses=_CREATE_ERRORS)
async def create_critique(
    session_id: uuid.UUID, body: CritiqueRequest, call: ModelCallDep
) -> CritiqueOut:
    """Critique the learner's explanation of a concept: verdict, quoted issues, questions."""
    critique = await service.start_critique(
        call.db,
        budget=await call.llm.budget("critique"),
        learner=call.learner,
        session_id=session_id,
        request=body,
    )
    critique = await service.run_critique(
        call.db, llm=call.llm, in_flight=call.in_flight, learner=call.learner, critique=critique
    )
    message = await call.db.get_one(Message, critique.critique_message_id)
    return CritiqueOut.of(critique, message)


@router.get("")
async def list_critiques(
    session_id: uuid.UUID,
    learner: CurrentLearner,
    db: SessionDep,
    concept: Annotated[str | None, Query(max_length=200)] = None,
) -> CritiqueList:
    """The session's critiques in order; with `concept`, the attempts on that concept."""
    rows = await service.list_critiques(db, learner=learner, session_id=session_id, concept=concept)
    return CritiqueList(items=[CritiqueOut.of(critique, message) for critique, message in rows])


@router.post(
    "/{critique_id}/reveal",
    responses={404: {"model": ErrorResponse, "description": "No such critique or issue."}},
)
async def reveal_fix(
    session_id: uuid.UUID,
    critique_id: uuid.UUID,
    body: RevealRequest,
    learner: CurrentLearner,
    db: SessionDep,
) -> CritiqueOut:
    """Show the fix of one issue ("Show the fix"). Hints and questions come first; a fix
    asked for is counted in `reveals`."""
    critique, message = await service.reveal_fix(
        db, learner=learner, session_id=session_id, critique_id=critique_id, issue=body.issue
    )
    return CritiqueOut.of(critique, message)
