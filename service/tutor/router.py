"""/v1/sessions: tutoring sessions, explanations, follow-ups and retries."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response, status
from fastapi.responses import JSONResponse

from service.critiques import service as critiques
from service.critiques.schemas import CritiqueEnvelope, CritiqueOut
from service.db import SessionDep
from service.learners.auth import CurrentLearner
from service.openapi_docs import (
    JSON_BODY,
    MODEL_CALL,
    PAGED,
    PARAMETERS,
    TOO_MANY_STREAMS,
    Refusal,
    Responses,
    error_responses,
)
from service.pagination import CursorParam, Limit, Page
from service.prerequisites.lost import says_lost
from service.sessions import passages, service
from service.sessions.messages import SessionBusy, TooManyTokens
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
from service.sessions.service import SessionNotFound
from service.sources.service import SourceNotFound
from service.tutor import turns
from service.tutor.responding import TurnDep
from service.tutor.schemas import ANSWER_EVENTS, ANSWER_STREAM
from service.tutor.turns import MessageNotFound, NotRetryable

router = APIRouter(prefix="/v1/sessions", tags=["sessions"])

_NO_SUCH_SESSION = Refusal.of(SessionNotFound)
_NO_SUCH_SOURCE = Refusal.of(SourceNotFound)
_BUSY = Refusal.of(SessionBusy)
_PROMPT_TOO_LONG = Refusal(
    TooManyTokens.status_code,
    "prompt_too_long",
    "The passage under discussion and the new message do not fit the prompt together "
    "(`error.details` has `tokens` and `limit`): send a shorter message, or a shorter "
    "passage in a new session.",
)


def _too_long(code: str, what: str) -> Refusal:
    return Refusal(
        TooManyTokens.status_code,
        code,
        f"The {what} is over the token limit (`error.details` has `tokens` and `limit`): "
        "split it and send the parts one at a time.",
    )


def _answer_responses(*refusals: Refusal | tuple[Refusal, ...]) -> Responses:
    """The two forms of an answer, and what can stop one."""
    return {
        200: {
            "description": "The answer: `{message}` as JSON once it is complete, or "
            + ANSWER_STREAM,
            "content": {"text/event-stream": {"schema": ANSWER_EVENTS}},
        },
        **error_responses(
            PARAMETERS,
            _NO_SUCH_SESSION,
            _BUSY,
            _PROMPT_TOO_LONG,
            MODEL_CALL,
            TOO_MANY_STREAMS,
            *refusals,
        ),
    }


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    operation_id="createSession",
    summary="Start a tutoring session",
    responses=error_responses(JSON_BODY, _NO_SUCH_SOURCE),
)
async def create_session(
    body: SessionCreate, learner: CurrentLearner, db: SessionDep
) -> SessionOut:
    """An empty session, on a source of yours (`source_id`) or none. Without a `title`,
    the first passage or question names it."""
    return SessionOut.of(await service.create_session(db, learner=learner, data=body))


@router.get(
    "",
    operation_id="listSessions",
    summary="List your sessions",
    responses=error_responses(PAGED),
)
async def list_sessions(
    learner: CurrentLearner, db: SessionDep, limit: Limit = 50, cursor: CursorParam = None
) -> Page[SessionOut]:
    """Newest first, a page at a time (`next_cursor` fetches the next)."""
    sessions, next_cursor = await service.list_sessions(
        db, learner=learner, cursor=cursor, limit=limit
    )
    latest = await passages.latest_passages(db, session_ids=[s.id for s in sessions])
    return Page(
        items=[SessionOut.of(s, latest.get(s.id)) for s in sessions], next_cursor=next_cursor
    )


@router.get(
    "/{session_id}",
    operation_id="getSession",
    summary="Read a session and its messages",
    responses=error_responses(PARAMETERS, _NO_SUCH_SESSION),
)
async def get_session(
    session_id: uuid.UUID, learner: CurrentLearner, db: SessionDep
) -> SessionDetail:
    """The session with every message in order: passages, questions, the tutor's answers
    (with their status, for one that failed or broke off) and critiques."""
    session = await service.get_session(
        db, learner=learner, session_id=session_id, with_messages=True
    )
    return SessionDetail.of(session, await passages.passages_in(db, session_id=session.id))


@router.patch(
    "/{session_id}",
    operation_id="updateSession",
    summary="Retitle a session, or link it to a source",
    responses=error_responses(JSON_BODY, _NO_SUCH_SESSION, _NO_SUCH_SOURCE),
)
async def update_session(
    session_id: uuid.UUID, body: SessionUpdate, learner: CurrentLearner, db: SessionDep
) -> SessionOut:
    """Change the fields sent and keep the rest; null clears `title` or `source_id`."""
    session = await service.update_session(
        db, learner=learner, session_id=session_id, changes=body.changes()
    )
    latest = await passages.latest_passages(db, session_ids=[session.id])
    return SessionOut.of(session, latest.get(session.id))


@router.delete(
    "/{session_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    operation_id="deleteSession",
    summary="Delete a session",
    responses=error_responses(PARAMETERS, _NO_SUCH_SESSION),
)
async def delete_session(
    session_id: uuid.UUID, learner: CurrentLearner, db: SessionDep
) -> Response:
    """The session goes with its messages, critiques and checks; cards made from it stay."""
    await service.delete_session(db, learner=learner, session_id=session_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/{session_id}/explain",
    response_model=MessageEnvelope,
    operation_id="explainPassage",
    summary="Explain a passage",
    responses=_answer_responses(
        JSON_BODY, _too_long("passage_too_long", "passage"), passages.FROM_PAPER_REFUSALS
    ),
)
async def explain(session_id: uuid.UUID, body: ExplainRequest, turn: TurnDep) -> Response:
    """Explain a passage of a paper at the chosen level (`eli5`, `intuition`,
    `rigorous`), with the learner's `question` if any. With `from_paper` (the blocks of
    a paper of yours it was selected from), the prompt also carries where the passage
    sits in the paper and the symbols it uses as the paper defined them earlier, and
    the session remembers the passage. The passage is saved before the model is
    called: if the model fails, the answer is kept as failed, and
    `error.details.message_id` (or the `error` event's `message_id`) names it to retry."""
    started = await turns.start_explain(
        turn.db,
        budget=await turn.budget(),
        learner=turn.learner,
        session_id=session_id,
        request=body,
    )
    return await turn.answer(started)


@router.post(
    "/{session_id}/messages",
    response_model=MessageEnvelope,
    operation_id="askFollowUp",
    summary="Ask a follow-up question",
    responses=_answer_responses(JSON_BODY, _too_long("message_too_long", "message")),
)
async def follow_up(session_id: uuid.UUID, body: FollowUpRequest, turn: TurnDep) -> Response:
    """Ask a follow-up question; the tutor sees the session so far. Answered as JSON or
    as a stream, and kept, as an explanation is."""
    started = await turns.start_followup(
        turn.db,
        budget=await turn.budget(),
        learner=turn.learner,
        session_id=session_id,
        request=body,
    )
    return await turn.answer(started, stumped=says_lost(body.content))


@router.post(
    "/{session_id}/messages/{message_id}/retry",
    response_model=MessageEnvelope | CritiqueEnvelope,
    operation_id="retryAnswer",
    summary="Run a failed answer again",
    responses=_answer_responses(
        Refusal.of(MessageNotFound),
        Refusal.of(NotRetryable, "Only a failed or interrupted answer can be retried."),
    ),
)
async def retry(session_id: uuid.UUID, message_id: uuid.UUID, turn: TurnDep) -> Response:
    """Run a failed or interrupted answer or critique again, in place.

    A critique's retry answers `{message, critique}` as JSON, even to a request for a
    stream; every other retry `{message}`, or a stream as an explanation does.
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
            message=MessageOut.of(answer),
            critique=CritiqueOut.of(
                critique, answer, stumped=await critiques.is_stumped(turn.db, critique=critique)
            ),
        )
        return JSONResponse(envelope.model_dump(mode="json"))
    started = await turns.commit_turn(
        turn.db, learner=turn.learner, budget=await turn.budget(), session=session, answer=answer
    )
    return await turn.answer(started)
