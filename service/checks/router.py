"""/v1/sessions/{id}/checks: answer the "Check:" question that ended an explanation."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, status

from service.checks import service
from service.checks.models import CheckAnswer, CheckStatus
from service.checks.schemas import CheckList, CheckOut, CheckRequest
from service.checks.service import CheckNotFound, MessageNotFound, NoCheckQuestion
from service.db import SessionDep
from service.errors import Conflict
from service.learners.auth import CurrentLearner
from service.modelcall import ModelCallContext, ModelCallDep
from service.openapi_docs import JSON_BODY, MODEL_CALL, PARAMETERS, Refusal, error_responses
from service.sessions.messages import TooManyTokens
from service.sessions.service import SessionNotFound

router = APIRouter(prefix="/v1/sessions/{session_id}", tags=["checks"])


class AlreadyGraded(Conflict):
    code = "already_graded"

    def __init__(self) -> None:
        super().__init__("This answer is graded already; answer the question again instead.")


_NO_SUCH_SESSION = Refusal.of(SessionNotFound)
# Grading calls the model with the explanation, its question and the answer.
_GRADING = (
    Refusal(
        TooManyTokens.status_code,
        "prompt_too_long",
        "The explanation, its question and the answer do not fit the model's context.",
    ),
    *MODEL_CALL,
)


@router.post(
    "/messages/{message_id}/check",
    status_code=status.HTTP_201_CREATED,
    operation_id="answerCheck",
    summary="Answer an explanation's check question",
    responses=error_responses(
        JSON_BODY,
        _NO_SUCH_SESSION,
        Refusal.of(MessageNotFound),
        Refusal.of(NoCheckQuestion),
        _GRADING,
    ),
)
async def answer_check(
    session_id: uuid.UUID, message_id: uuid.UUID, body: CheckRequest, call: ModelCallDep
) -> CheckOut:
    """Answer the check question that ends this tutor message, and have it graded:
    right, partly or wrong, with what to look at. A missed check becomes a card draft
    (tag `missed-check`). The answer is kept even when grading fails."""
    check = await service.start_check(
        call.db, learner=call.learner, session_id=session_id, message_id=message_id, request=body
    )
    return CheckOut.model_validate(await _graded(call, check))


async def _graded(call: ModelCallContext, check: CheckAnswer) -> CheckAnswer:
    return await service.grade_check(
        call.db, llm=call.llm, in_flight=call.in_flight, learner=call.learner, check=check
    )


@router.post(
    "/checks/{check_id}/retry",
    operation_id="retryCheck",
    summary="Grade a check answer again",
    responses=error_responses(
        PARAMETERS,
        _NO_SUCH_SESSION,
        Refusal.of(CheckNotFound),
        Refusal.of(AlreadyGraded),
        _GRADING,
    ),
)
async def retry_check(session_id: uuid.UUID, check_id: uuid.UUID, call: ModelCallDep) -> CheckOut:
    """Grade again an answer whose grading failed."""
    check = await service.get_check(
        call.db, learner=call.learner, session_id=session_id, check_id=check_id
    )
    if check.status is CheckStatus.graded:
        raise AlreadyGraded()
    return CheckOut.model_validate(await _graded(call, check))


@router.get(
    "/checks",
    operation_id="listChecks",
    summary="List a session's check answers",
    responses=error_responses(PARAMETERS, _NO_SUCH_SESSION),
)
async def list_checks(session_id: uuid.UUID, learner: CurrentLearner, db: SessionDep) -> CheckList:
    """The session's check answers, oldest first."""
    checks = await service.list_checks(db, learner=learner, session_id=session_id)
    return CheckList(items=[CheckOut.model_validate(check) for check in checks])
