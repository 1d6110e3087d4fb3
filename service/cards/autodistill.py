"""Auto-distillation: a session idle for a while is distilled into drafts, once per
version of its content, so no session is forgotten."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from service.cards.distill import NothingToDistill, distill_session
from service.cards.queries import delete_job_run, idle_sessions_with_new_content
from service.errors import TutorError
from service.jobs.claims import claim, finish
from service.learners.models import Learner
from service.llm.model import Model

log = logging.getLogger(__name__)
JOB = "auto_distill"


async def run_for_learner(
    db: AsyncSession, *, llm: Model, learner: Learner, now: datetime, idle: timedelta
) -> None:
    for session, last in await idle_sessions_with_new_content(
        db, learner_id=learner.id, idle_since=now - idle
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
            await delete_job_run(db, run_id=run.id)
            await db.commit()
        else:
            await finish(
                db, run, outcome="distilled", now=now, detail=f"{len(result.cards)} drafts"
            )
