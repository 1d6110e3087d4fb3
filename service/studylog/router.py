"""/v1/study-log: the diary Tutor writes each night."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter

from service.auth import CurrentLearner
from service.db import SessionDep
from service.limits.errors import LIMIT_ERRORS
from service.limits.service import ModelCallAllowed
from service.llm.client import LLMDep
from service.studylog import service
from service.studylog.schemas import EntryList, EntryOut

router = APIRouter(prefix="/v1/study-log", tags=["study log"])


@router.get("")
async def list_entries(learner: CurrentLearner, db: SessionDep) -> EntryList:
    """Newest first."""
    entries = await service.list_entries(db, learner=learner)
    return EntryList(items=[EntryOut.of(entry) for entry in entries])


@router.get("/{day}")
async def get_entry(day: date, learner: CurrentLearner, db: SessionDep) -> EntryOut:
    return EntryOut.of(await service.get_entry(db, learner=learner, day=day))


@router.post("/{day}/regenerate", responses=LIMIT_ERRORS)
async def regenerate(
    day: date, learner: CurrentLearner, db: SessionDep, llm: LLMDep, _allowed: ModelCallAllowed
) -> EntryOut:
    """Count the day again and write a new narrative (the old one stays if the model fails)."""
    return EntryOut.of(await service.regenerate(db, llm=llm, learner=learner, day=day))
