"""The learner's choice of scheduler (SM-2 or FSRS) and FSRS's settings.

A change that moves due dates (another scheduler; for FSRS, another desired retention
or parameters) derives every card's schedule again from its review log, in the same
transaction as the setting, so no card is ever scheduled by a mix of the two.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from scheduler.fsrs_schedule import DEFAULT_PARAMETERS
from service.learners.models import Learner
from service.learners.service import lock_learner
from service.reviews.rederive import rederive_all
from service.reviews.schemas import SchedulerChange, SchedulerSettings


def settings_of(learner: Learner) -> SchedulerSettings:
    return SchedulerSettings(
        scheduler=learner.scheduler,
        desired_retention=learner.desired_retention,
        fsrs_parameters_fitted=learner.fsrs_parameters is not None,
        fsrs_parameters=list(learner.fsrs_parameters or DEFAULT_PARAMETERS),
    )


def _moves_due_dates(learner: Learner, changes: dict[str, Any]) -> bool:
    scheduler = changes.get("scheduler", learner.scheduler)
    if scheduler != learner.scheduler:
        return True
    if scheduler != "fsrs":
        return False
    return any(
        field in changes and changes[field] != getattr(learner, field)
        for field in ("desired_retention", "fsrs_parameters")
    )


async def change_settings(
    db: AsyncSession, *, learner: Learner, changes: dict[str, Any], now: datetime
) -> SchedulerChange:
    """Apply `changes` (scheduler, desired_retention, fsrs_parameters) and commit."""
    learner = await lock_learner(db, learner.id)
    rederive = _moves_due_dates(learner, changes)
    for field, value in changes.items():
        setattr(learner, field, value)
    rescheduled = 0
    if rederive:
        rescheduled = await rederive_all(db, learner=learner, scheduler=learner.scheduler, now=now)
    await db.commit()
    return SchedulerChange(**settings_of(learner).model_dump(), rescheduled_cards=rescheduled)
