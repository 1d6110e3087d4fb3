"""/v1/sessions/{id}/checks: answer the "Check:" question that ended an explanation."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, status

from service.checks import service
from service.checks.models import CheckAnswer, CheckStatus
from service.checks.schemas import CheckList, CheckOut, CheckRequest
from service.db import SessionDep
from service.errors import Conflict, ErrorResponse
from service.learners.auth import CurrentLearner
from service.llm.errors import MODEL_ERRORS
from service.modelcall import ModelCallContext, ModelCallDep

router = APIRouter(prefix="/v1/sessions/{session_id}", tags=["checks"])


class AlreadyGraded(Conflict):
    code = "already_graded"

    def __init__(self) -> None:
        super().__init__("This answer is graded already; answer the question again instead.")


@router.post(
    "/messages/{message_id}/check", status_code=status.HTTP_201_CREATED, responses=MODEL_ERRORS
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


_RETRY_ERRORS: dict[int | str, dict[str, Any]] = {
    **MODEL_ERRORS,
    409: {"model": ErrorResponse, "description": "Graded already (`already_graded`)."},
}


@router.post("/checks/{check_id}/retry", responses=_RETRY_ERRORS)
async def retry_check(session_id: uuid.UUID, check_id: uuid.UUID, call: ModelCallDep) -> CheckOut:
    """Grade again an answer whose grading failed."""
    check = await service.get_check(
        call.db, learner=call.learner, session_id=session_id, check_id=check_id
    )
    if check.status is CheckStatus.graded:
        raise AlreadyGraded()
    return CheckOut.model_validate(await _graded(call, check))


@router.get("/checks")
async def list_checks(session_id: uuid.UUID, learner: CurrentLearner, db: SessionDep) -> CheckList:
    """The session's check answers, oldest first."""
    checks = await service.list_checks(db, learner=learner, session_id=session_id)
    return CheckList(items=[CheckOut.model_validate(check) for check in checks])
