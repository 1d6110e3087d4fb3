"""/v1/study-log: the diary Tutor writes each night."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from service.db import SessionDep
from service.learners.auth import CurrentLearner
from service.limits.service import ModelCallAllowed
from service.llm.model import LLMDep
from service.openapi_docs import MODEL_CALL, PARAMETERS, Refusal, error_responses
from service.studylog import service
from service.studylog.schemas import EntryList, EntryOut
from service.studylog.service import EntryNotFound
from service.timestamps import FIRST_YEAR, LAST_YEAR, Day

# Bounded, so that counting a day (its start and the next day's) cannot overflow.
DayParam = Annotated[
    Day,
    Path(description=f"The learner's day, YYYY-MM-DD, in the years {FIRST_YEAR} to {LAST_YEAR}."),
]

router = APIRouter(prefix="/v1/study-log", tags=["study log"])

_NO_SUCH_ENTRY = Refusal.of(EntryNotFound)


@router.get("", operation_id="listStudyLog", summary="Your study log")
async def list_entries(learner: CurrentLearner, db: SessionDep) -> EntryList:
    """The entries Tutor wrote, a day each, newest first: what the day's study came to
    (its facts), and a short narrative of it."""
    entries = await service.list_entries(db, learner=learner)
    return EntryList(items=[EntryOut.of(entry) for entry in entries])


@router.get(
    "/{day}",
    operation_id="getStudyLogEntry",
    summary="One day of the study log",
    responses=error_responses(PARAMETERS, _NO_SUCH_ENTRY),
)
async def get_entry(day: DayParam, learner: CurrentLearner, db: SessionDep) -> EntryOut:
    """The entry of that day of yours, if Tutor wrote one."""
    return EntryOut.of(await service.get_entry(db, learner=learner, day=day))


# The model's failures, not only the limits': the learner asked, so they are theirs to see.
@router.post(
    "/{day}/regenerate",
    operation_id="regenerateStudyLogEntry",
    summary="Write a day's entry again",
    responses=error_responses(PARAMETERS, _NO_SUCH_ENTRY, MODEL_CALL),
)
async def regenerate(
    day: DayParam, learner: CurrentLearner, db: SessionDep, llm: LLMDep, _allowed: ModelCallAllowed
) -> EntryOut:
    """Count the day again and write a new narrative (the old one stays if the model fails)."""
    return EntryOut.of(await service.regenerate(db, llm=llm, learner=learner, day=day))
