"""/v1/sessions: tutoring sessions, explanations, follow-ups and retries."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response, status
from fastapi.responses import JSONResponse

from service.critiques import service as critiques
from service.critiques.schemas import CritiqueEnvelope, CritiqueOut
from service.db import SessionDep
from service.learners.auth import CurrentLearner
from service.pagination import CursorParam, Limit, Page
from service.sessions import service
from service.sessions.models import Kind
from service.sessions.schemas import (
    ExplainRequest,
    FollowUpRequest,
    MessageEnvelope,
    MessageOut,
    SessionCreate,
    SessionDetail,
    SessionOut,
    SessionUpdate,
)
from service.tutor import turns
from service.tutor.responding import ANSWER_RESPONSES, TurnDep

router = APIRouter(prefix="/v1/sessions", tags=["sessions"])


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_session(
    body: SessionCreate, learner: CurrentLearner, db: SessionDep
) -> SessionOut:
    return SessionOut.model_validate(await service.create_session(db, learner=learner, data=body))


@router.get("")
async def list_sessions(
    learner: CurrentLearner, db: SessionDep, limit: Limit = 50, cursor: CursorParam = None
) -> Page[SessionOut]:
    sessions, next_cursor = await service.list_sessions(
        db, learner=learner, cursor=cursor, limit=limit
    )
    return Page(items=[SessionOut.model_validate(s) for s in sessions], next_cursor=next_cursor)


@router.get("/{session_id}")
async def get_session(
    session_id: uuid.UUID, learner: CurrentLearner, db: SessionDep
) -> SessionDetail:
    session = await service.get_session(
        db, learner=learner, session_id=session_id, with_messages=True
    )
    return SessionDetail.of(session)


@router.patch("/{session_id}")
async def update_session(
    session_id: uuid.UUID, body: SessionUpdate, learner: CurrentLearner, db: SessionDep
) -> SessionOut:
    session = await service.update_session(
        db, learner=learner, session_id=session_id, changes=body.changes()
    )
    return SessionOut.model_validate(session)


@router.delete("/{session_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_session(
    session_id: uuid.UUID, learner: CurrentLearner, db: SessionDep
) -> Response:
    await service.delete_session(db, learner=learner, session_id=session_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{session_id}/explain", response_model=MessageEnvelope, responses=ANSWER_RESPONSES)
async def explain(session_id: uuid.UUID, body: ExplainRequest, turn: TurnDep) -> Response:
    """Explain a passage at the chosen level (eli5, intuition, rigorous)."""
    started = await turns.start_explain(
        turn.db,
        budget=await turn.budget(),
        learner=turn.learner,
        session_id=session_id,
        request=body,
    )
    return await turn.answer(started)


@router.post("/{session_id}/messages", response_model=MessageEnvelope, responses=ANSWER_RESPONSES)
async def follow_up(session_id: uuid.UUID, body: FollowUpRequest, turn: TurnDep) -> Response:
    """Ask a follow-up question; the tutor sees the session so far."""
    started = await turns.start_followup(
        turn.db,
        budget=await turn.budget(),
        learner=turn.learner,
        session_id=session_id,
        request=body,
    )
    return await turn.answer(started)


@router.post(
    "/{session_id}/messages/{message_id}/retry",
    response_model=MessageEnvelope,
    responses=ANSWER_RESPONSES,
)
async def retry(session_id: uuid.UUID, message_id: uuid.UUID, turn: TurnDep) -> Response:
    """Run a failed or interrupted answer or critique again, in place.

    A critique's retry answers `{message, critique}`; every other retry `{message}`.
    """
    session, answer = await turns.reopen_answer(
        turn.db, learner=turn.learner, session_id=session_id, message_id=message_id
    )
    if answer.kind is Kind.critique:
        await turn.db.commit()
        critique = await critiques.critique_for_message(turn.db, message_id=answer.id)
        critique = await critiques.run_critique(
            turn.db,
            llm=turn.llm,
            in_flight=turn.in_flight,
            learner=turn.learner,
            critique=critique,
        )
        envelope = CritiqueEnvelope(
            message=MessageOut.of(answer), critique=CritiqueOut.of(critique, answer)
        )
        return JSONResponse(envelope.model_dump(mode="json"))
    started = await turns.commit_turn(
        turn.db, learner=turn.learner, budget=await turn.budget(), session=session, answer=answer
    )
    return await turn.answer(started)
