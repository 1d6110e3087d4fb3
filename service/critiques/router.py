"""/v1/sessions/{id}/critiques: explain it back, and have the holes found."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, status
from pydantic import BaseModel, ConfigDict

from service.critiques import service
from service.critiques.schemas import (
    CRITIQUE_EXAMPLE,
    CritiqueOut,
    CritiqueRequest,
    RevealRequest,
)
from service.critiques.service import CritiqueNotFound, NoSuchIssue
from service.critiques.stumped import stumped_by_critique
from service.db import SessionDep
from service.learners.auth import CurrentLearner
from service.modelcall import ModelCallDep
from service.openapi_docs import (
    JSON_BODY,
    MODEL_CALL,
    TEXT_PARAMETERS,
    Refusal,
    error_responses,
)
from service.sessions.messages import SessionBusy, TooManyTokens
from service.sessions.models import Message
from service.sessions.passages import FROM_PAPER_REFUSALS
from service.sessions.service import SessionNotFound

router = APIRouter(prefix="/v1/sessions/{session_id}/critiques", tags=["critiques"])


class CritiqueList(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [CRITIQUE_EXAMPLE]}]})

    items: list[CritiqueOut]


_NO_SUCH_SESSION = Refusal.of(SessionNotFound)


def _too_long(code: str, what: str) -> Refusal:
    return Refusal(TooManyTokens.status_code, code, f"The {what} is over its token limit.")


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    operation_id="critiqueExplanation",
    summary="Have your explanation of a concept critiqued",
    responses=error_responses(
        JSON_BODY,
        _NO_SUCH_SESSION,
        Refusal.of(SessionBusy),
        _too_long("explanation_too_long", "explanation"),
        _too_long("passage_too_long", "reference passage"),
        _too_long("prompt_too_long", "prompt (the passages and the explanation)"),
        MODEL_CALL,
        FROM_PAPER_REFUSALS,
    ),
)
async def create_critique(
    session_id: uuid.UUID, body: CritiqueRequest, call: ModelCallDep
) -> CritiqueOut:
    """Critique the learner's explanation of a concept ("explain it back"): a verdict, a
    score, what is right, the issues quoted from the explanation with a hint and a
    question each (the fix stays hidden until asked for), and questions to go on with.
    Judged against `passage`, else the session's passages. The explanation is saved
    first: if the model fails, the critique's message is kept as failed, to retry."""
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
    stumped = await service.is_stumped(call.db, critique=critique)
    return CritiqueOut.of(critique, message, stumped=stumped)


@router.get(
    "",
    operation_id="listCritiques",
    summary="List a session's critiques",
    responses=error_responses(TEXT_PARAMETERS, _NO_SUCH_SESSION),
)
async def list_critiques(
    session_id: uuid.UUID,
    learner: CurrentLearner,
    db: SessionDep,
    concept: Annotated[str | None, Query(max_length=200)] = None,
) -> CritiqueList:
    """The session's critiques in order; with `concept`, the attempts on that concept."""
    rows = await service.list_critiques(db, learner=learner, session_id=session_id, concept=concept)
    stumped = stumped_by_critique(critique for critique, _ in rows)
    return CritiqueList(
        items=[CritiqueOut.of(c, message, stumped=stumped[c.id]) for c, message in rows]
    )


@router.post(
    "/{critique_id}/reveal",
    operation_id="revealFix",
    summary="Show the fix of one issue",
    responses=error_responses(
        JSON_BODY,
        _NO_SUCH_SESSION,
        Refusal.of(CritiqueNotFound),
        Refusal.of(NoSuchIssue, "The critique has no issue of that index with a fix to show."),
    ),
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
    return CritiqueOut.of(
        critique, message, stumped=await service.is_stumped(db, critique=critique)
    )
