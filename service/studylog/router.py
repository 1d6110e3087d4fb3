"""/v1/study-log: the diary Tutor writes each night."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from service.db import SessionDep
from service.learners.auth import CurrentLearner
from service.limits.service import ModelCallAllowed
from service.llm.errors import MODEL_ERRORS
from service.llm.model import LLMDep
from service.studylog import service
from service.studylog.schemas import EntryList, EntryOut
from service.timestamps import FIRST_YEAR, LAST_YEAR, Day

# Bounded, so that counting a day (its start and the next day's) cannot overflow.
DayParam = Annotated[
    Day,
    Path(description=f"The learner's day, YYYY-MM-DD, in the years {FIRST_YEAR} to {LAST_YEAR}."),
]

router = APIRouter(prefix="/v1/study-log", tags=["study log"])


@router.get("")
async def list_entries(learner: CurrentLearner, db: SessionDep) -> EntryList:
    """Newest first."""
    entries = await service.list_entries(db, learner=learner)
    return EntryList(items=[EntryOut.of(entry) for entry in entries])


@router.get("/{day}")
async def get_entry(day: DayParam, learner: CurrentLearner, db: SessionDep) -> EntryOut:
    return EntryOut.of(await service.get_entry(db, learner=learner, day=day))


# MODEL_ERRORS, not only the limits': the learner asked, so a model failure is theirs to see.
@router.post("/{day}/regenerate", responses=MODEL_ERRORS)
async def regenerate(
    day: DayParam, learner: CurrentLearner, db: SessionDep, llm: LLMDep, _allowed: ModelCallAllowed
) -> EntryOut:
    """Count the day again and write a new narrative (the old one stays if the model fails)."""
    return EntryOut.of(await service.regenerate(db, llm=llm, learner=learner, day=day))
