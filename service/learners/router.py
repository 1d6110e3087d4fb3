"""/v1/me: the learner the API key belongs to."""

from __future__ import annotations

from fastapi import APIRouter, Request

from service.config import Settings
from service.db import SessionDep
from service.learners import service
from service.learners.auth import CurrentLearner
from service.learners.schemas import LearnerOut, LearnerUpdate
from service.learners.service import InvalidSetting
from service.openapi_docs import JSON_BODY, Refusal, error_responses

router = APIRouter(prefix="/v1/me", tags=["learner"])


_REFUSED_SETTING = Refusal.of(
    InvalidSetting,
    "A value the schema allows that Tutor will not take: a new `name` (the operator names "
    "learners), or a webhook URL whose host is not public (`error.details[].type` "
    "`read_only` or `webhook_refused`).",
)


@router.get("", operation_id="getMe", summary="Who you are, and your settings")
async def get_me(learner: CurrentLearner) -> LearnerOut:
    """The learner the API key belongs to: name, time zone, the hour their day starts,
    new cards a day, reminders and the scheduler."""
    return LearnerOut.model_validate(learner)


@router.patch(
    "",
    operation_id="updateMe",
    summary="Change your settings",
    responses=error_responses(JSON_BODY, _REFUSED_SETTING),
)
async def update_me(
    body: LearnerUpdate, learner: CurrentLearner, session: SessionDep, request: Request
) -> LearnerOut:
    """Change the fields sent and keep the rest. `reminder_hour` and `webhook_url` take
    null (no reminder, no webhook); the other fields refuse it: leave a field out to keep
    it. A new webhook URL is checked now, as delivery would check it."""
    settings: Settings = request.app.state.settings
    updated = await service.update_learner(
        session,
        learner=learner,
        changes=body.changes(),
        allow_private_webhooks=settings.allow_private_webhooks,
    )
    return LearnerOut.model_validate(updated)
