"""/v1/sessions/{id}/checks: answer the "Check:" question that ended an explanation."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, status

from service.auth import CurrentLearner
from service.checks import service
from service.checks.models import CheckStatus
from service.checks.schemas import CheckList, CheckOut, CheckRequest
from service.db import SessionDep
from service.errors import Conflict, ErrorResponse
from service.inflight import InFlightDep, InFlightStateDep
from service.limits.service import ModelCallAllowed
from service.llm.client import LLMDep
from service.llm.errors import MODEL_ERRORS

router = APIRouter(prefix="/v1/sessions/{session_id}", tags=["checks"])


class AlreadyGraded(Conflict):
    code = "already_graded"

    def __init__(self) -> None:
        super().__init__("This answer is graded already; answer the question again instead.")


@router.post(
    "/messages/{message_id}/check", status_code=status.HTTP_201_CREATED, responses=MODEL_ERRORS
)
async def answer_check(
    session_id: uuid.UUID,
    message_id: uuid.UUID,
    body: CheckRequest,
    learner: CurrentLearner,
    db: SessionDep,
    llm: LLMDep,
    _allowed: ModelCallAllowed,
    _in_flight: InFlightDep,
    in_flight: InFlightStateDep,
) -> CheckOut:
    """Answer the check question that ends this tutor message, and have it graded:
    right, partly or wrong, with what to look at. A missed check becomes a card draft
    (tag `missed-check`). The answer is kept even when grading fails."""
    check = await service.start_check(
        db, learner=learner, session_id=session_id, message_id=message_id, request=body
    )
    check = await service.grade_check(
        db, llm=llm, in_flight=in_flight, learner=learner, check=check
    )
    return CheckOut.model_validate(check)


_RETRY_ERRORS: dict[int | str, dict[str, Any]] = {
    **MODEL_ERRORS,
    409: {"model": ErrorResponse, "description": "Graded already (`already_graded`)."},
}


@router.post("/checks/{check_id}/retry", responses=_RETRY_ERRORS)
async def retry_check(
    session_id: uuid.UUID,
    check_id: uuid.UUID,
    learner: CurrentLearner,
    db: SessionDep,
    llm: LLMDep,
    _allowed: ModelCallAllowed,
    _in_flight: InFlightDep,
    in_flight: InFlightStateDep,
) -> CheckOut:
    """Grade again an answer whose grading failed."""
    check = await service.get_check(db, learner=learner, session_id=session_id, check_id=check_id)
    if check.status is CheckStatus.graded:
        raise AlreadyGraded()
    check = await service.grade_check(
        db, llm=llm, in_flight=in_flight, learner=learner, check=check
    )
    return CheckOut.model_validate(check)


@router.get("/checks")
async def list_checks(session_id: uuid.UUID, learner: CurrentLearner, db: SessionDep) -> CheckList:
    """The session's check answers, oldest first."""
    checks = await service.list_checks(db, learner=learner, session_id=session_id)
    return CheckList(items=[CheckOut.model_validate(check) for check in checks])
