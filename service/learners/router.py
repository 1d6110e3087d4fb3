"""/v1/me: the learner the API key belongs to."""

from __future__ import annotations

from fastapi import APIRouter, Request

from service.config import Settings
from service.db import SessionDep
from service.learners import service
from service.learners.auth import CurrentLearner
from service.learners.schemas import LearnerOut, LearnerUpdate

router = APIRouter(prefix="/v1/me", tags=["learner"])


@router.get("")
async def get_me(learner: CurrentLearner) -> LearnerOut:
    return LearnerOut.model_validate(learner)


@router.patch("")
async def update_me(
    body: LearnerUpdate, learner: CurrentLearner, session: SessionDep, request: Request
) -> LearnerOut:
    settings: Settings = request.app.state.settings
    updated = await service.update_learner(
        session,
        learner=learner,
        changes=body.changes(),
        allow_private_webhooks=settings.allow_private_webhooks,
    )
    return LearnerOut.model_validate(updated)
