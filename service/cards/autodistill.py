"""Auto-distillation: a session idle for a while is distilled into drafts, once per
version of its content, so no session is forgotten."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from service.cards.distill import NothingToDistill, distill_session
from service.errors import TutorError
from service.jobs.claims import claim, finish
from service.jobs.models import JobRun
from service.learners.models import Learner
from service.llm.client import LLM
from service.tutor.models import Message, TutorSession

log = logging.getLogger(__name__)
JOB = "auto_distill"


async def _idle_sessions_with_new_content(
    db: AsyncSession, *, learner: Learner, idle_since: datetime
) -> list[tuple[TutorSession, int]]:
    last_position = (
        select(Message.session_id, func.max(Message.position).label("last"))
        .group_by(Message.session_id)
        .subquery()
    )
    rows = await db.execute(
        select(TutorSession, last_position.c.last)
        .join(last_position, last_position.c.session_id == TutorSession.id)
        .where(
            TutorSession.learner_id == learner.id,
            TutorSession.updated_at < idle_since,
            (TutorSession.distilled_position.is_(None))
            | (TutorSession.distilled_position < last_position.c.last),
        )
    )
    return [(session, last) for session, last in rows]


async def run_for_learner(
    db: AsyncSession, *, llm: LLM, learner: Learner, now: datetime, idle: timedelta
) -> None:
    for session, last in await _idle_sessions_with_new_content(
        db, learner=learner, idle_since=now - idle
    ):
        period = f"{session.id}:{last}"
        run = await claim(db, job=JOB, learner_id=learner.id, period=period, now=now)
        if run is None:
            continue
        try:
            result = await distill_session(
                db, llm=llm, learner=learner, session_id=session.id, max_cards=10, now=now
            )
        except NothingToDistill:
            await finish(db, run, outcome="nothing", now=now)
        except TutorError as failure:
            # Free the claim: the same content is tried again on a later run.
            log.info("auto-distillation of %s deferred: %s", session.id, failure.message)
            await db.execute(delete(JobRun).where(JobRun.id == run.id))
            await db.commit()
        else:
            await finish(
                db, run, outcome="distilled", now=now, detail=f"{len(result.cards)} drafts"
            )
