"""Writing the nightly study log: the numbers always, the model's narrative when it answers."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

import prompts
from service.answers import Answer, Ending
from service.db import release_connection
from service.errors import NotFound
from service.jobs.claims import claim, finish
from service.learners.days import learner_day
from service.learners.models import Learner
from service.llm.blocks import delimit, new_nonce
from service.llm.errors import LLMFailure
from service.llm.model import Call, Model
from service.llm.tokens import ChatMessage
from service.studylog.facts import anything_happened, day_facts
from service.studylog.models import StudyLogEntry
from service.studylog.queries import (
    days_written,
    entries_newest_first,
    entries_without_narrative,
    entry_count,
    entry_on,
)

log = logging.getLogger(__name__)

JOB = "study_log"
# After downtime, days this far back are still written; older ones are let go.
CATCH_UP_DAYS = 7


class EntryNotFound(NotFound):
    code = "study_log_entry_not_found"

    def __init__(self) -> None:
        super().__init__("No study log entry for that day.")


async def narrative(llm: Model, *, learner: Learner, facts: dict[str, Any]) -> str | None:
    """The diary text, or None when the model cannot be reached (a later run retries)."""
    try:
        return await write_narrative(llm, learner=learner, facts=facts)
    except LLMFailure as failure:
        log.info("study log narrative for %s deferred: %s", learner.name, failure.message)
        return None


async def write_narrative(llm: Model, *, learner: Learner, facts: dict[str, Any]) -> str | None:
    """The diary text (None if the model wrote nothing); raises the model's failure."""
    prompt = prompts.load("study_log")
    nonce = new_nonce()
    call = Call(
        learner_id=learner.id,
        purpose="studylog",
        prompt=prompt,
        messages=[
            ChatMessage.of("system", prompt.render()),
            ChatMessage.of("user", delimit("FACTS", json.dumps(facts, indent=1), nonce)),
        ],
    )
    answer = Answer(llm, keep=_narrative_of)
    answer.open(call)
    return await answer.whole()


async def _narrative_of(ending: Ending) -> str | None:
    # The entry is written by the caller, with the day's facts; nothing else to keep.
    return (ending.text.strip() or None) if ending.status == "complete" else None


async def write_entry(
    db: AsyncSession, *, llm: Model, learner: Learner, day: date
) -> StudyLogEntry | None:
    """The entry for `day`, if anything happened that day (committed)."""
    facts = await day_facts(db, learner=learner, day=day)
    if not anything_happened(facts):
        return None
    count = await entry_count(db, learner_id=learner.id)
    number = count or 0
    await release_connection(db)
    entry = StudyLogEntry(
        learner_id=learner.id,
        day=day,
        number=number,
        title=f"Study log {number}",
        facts=facts,
        narrative=await narrative(llm, learner=learner, facts=facts),
    )
    db.add(entry)
    await db.commit()
    return entry


async def _fill_missing_narratives(
    db: AsyncSession, *, llm: Model, learner: Learner, since: date
) -> None:
    entries = await entries_without_narrative(db, learner_id=learner.id, since=since)
    for entry in entries:
        await release_connection(db)
        text = await narrative(llm, learner=learner, facts=entry.facts)
        if text is None:
            return  # the model is still away: try again next run
        entry.narrative = text
        await db.commit()


async def run_for_learner(db: AsyncSession, *, llm: Model, learner: Learner, now: datetime) -> None:
    """Every ended day of the last week without an entry gets one, once, however many
    schedulers run and however long they were down."""
    today = learner_day(learner, now)
    first = today - timedelta(days=CATCH_UP_DAYS)
    written = await days_written(db, learner_id=learner.id, since=first)
    for offset in range(CATCH_UP_DAYS, 0, -1):
        day = today - timedelta(days=offset)
        if day in written:
            continue
        run = await claim(db, job=JOB, learner_id=learner.id, period=day.isoformat(), now=now)
        if run is None:
            continue
        try:
            entry = await write_entry(db, llm=llm, learner=learner, day=day)
        except IntegrityError:
            await db.rollback()
            entry = None
        await finish(db, run, outcome="written" if entry else "nothing", now=now)
    await _fill_missing_narratives(db, llm=llm, learner=learner, since=first)


async def list_entries(db: AsyncSession, *, learner: Learner) -> Sequence[StudyLogEntry]:
    return await entries_newest_first(db, learner_id=learner.id)


async def get_entry(db: AsyncSession, *, learner: Learner, day: date) -> StudyLogEntry:
    entry = await entry_on(db, learner_id=learner.id, day=day)
    if entry is None:
        raise EntryNotFound()
    return entry


async def regenerate(db: AsyncSession, *, llm: Model, learner: Learner, day: date) -> StudyLogEntry:
    """Count the day again and ask for a fresh narrative.

    The learner asked for this one, so a model failure is raised for them to see, not
    deferred as the nightly job does; the recount is saved first and the old narrative
    stays.
    """
    entry = await get_entry(db, learner=learner, day=day)
    entry.facts = await day_facts(db, learner=learner, day=day)
    await db.commit()
    entry.narrative = (
        await write_narrative(llm, learner=learner, facts=entry.facts) or entry.narrative
    )
    await db.commit()
    return entry
