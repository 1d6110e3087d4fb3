"""Every statement the archive runs: each kind of row a learner owns, read for an export
or counted before the learner is deleted."""

from __future__ import annotations

import uuid
from typing import Any, TypeVar

from sqlalchemy import Select, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from service.calls.models import LLMCall
from service.cards.models import Card
from service.checks.models import CheckAnswer
from service.db import Base
from service.jobs.models import JobRun
from service.knowledge.models import KnowledgeMark
from service.papers.models import Paper
from service.prerequisites.models import PrerequisitePath
from service.reviews.models import FsrsOptimization, Review
from service.sessions.models import Critique, Message, TutorSession
from service.sources.models import Source
from service.studylog.models import StudyLogEntry

_Row = TypeVar("_Row", bound=Base)


async def begin_snapshot(db: AsyncSession) -> None:
    """Read the session's next transaction from one snapshot on PostgreSQL, so that an
    export taken while the learner studies holds no review of a card it lacks.

    SQLite's reads are left as they are: each sees the database as last committed, and
    one learner's writes there come from one process taking turns.
    """
    if db.get_bind().dialect.name == "postgresql":
        await db.connection(execution_options={"isolation_level": "REPEATABLE READ"})


async def schema_revision(db: AsyncSession) -> str | None:
    """The Alembic revision the database is at (the shape of every row exported)."""
    revision: str | None = await db.scalar(text("SELECT version_num FROM alembic_version"))
    return revision


async def _rows(db: AsyncSession, statement: Select[tuple[_Row]]) -> list[_Row]:
    return list(await db.scalars(statement))


async def sources_of(db: AsyncSession, *, learner_id: uuid.UUID) -> list[Source]:
    return await _rows(db, _owned(Source, learner_id).order_by(Source.created_at, Source.id))


async def papers_of(db: AsyncSession, *, learner_id: uuid.UUID) -> list[Paper]:
    """With what was read from each: sections, blocks and symbols."""
    statement = _owned(Paper, learner_id).options(
        selectinload(Paper.sections), selectinload(Paper.blocks), selectinload(Paper.symbols)
    )
    return await _rows(db, statement.order_by(Paper.created_at, Paper.id))


async def sessions_of(db: AsyncSession, *, learner_id: uuid.UUID) -> list[TutorSession]:
    statement = _owned(TutorSession, learner_id)
    return await _rows(db, statement.order_by(TutorSession.created_at, TutorSession.id))


async def messages_of(db: AsyncSession, *, learner_id: uuid.UUID) -> list[Message]:
    """With the passage of a paper each came from, if any."""
    statement = _in_sessions(Message, Message.session_id, learner_id).options(
        selectinload(Message.paper_passage)
    )
    return await _rows(db, statement.order_by(Message.session_id, Message.position))


async def critiques_of(db: AsyncSession, *, learner_id: uuid.UUID) -> list[Critique]:
    statement = _in_sessions(Critique, Critique.session_id, learner_id)
    return await _rows(db, statement.order_by(Critique.created_at, Critique.id))


async def check_answers_of(db: AsyncSession, *, learner_id: uuid.UUID) -> list[CheckAnswer]:
    statement = _in_sessions(CheckAnswer, CheckAnswer.session_id, learner_id)
    return await _rows(db, statement.order_by(CheckAnswer.created_at, CheckAnswer.id))


async def prerequisite_paths_of(
    db: AsyncSession, *, learner_id: uuid.UUID
) -> list[PrerequisitePath]:
    statement = _in_sessions(PrerequisitePath, PrerequisitePath.session_id, learner_id)
    return await _rows(db, statement.order_by(PrerequisitePath.created_at, PrerequisitePath.id))


async def cards_of(db: AsyncSession, *, learner_id: uuid.UUID) -> list[Card]:
    """With their tags and the passage each came from (the relationships load them in
    a statement each)."""
    return await _rows(db, _owned(Card, learner_id).order_by(Card.created_at, Card.id))


async def reviews_of(db: AsyncSession, *, learner_id: uuid.UUID) -> list[Review]:
    statement = _owned(Review, learner_id)
    return await _rows(db, statement.order_by(Review.reviewed_at, Review.created_at, Review.id))


async def study_log_of(db: AsyncSession, *, learner_id: uuid.UUID) -> list[StudyLogEntry]:
    return await _rows(db, _owned(StudyLogEntry, learner_id).order_by(StudyLogEntry.day))


async def knowledge_marks_of(db: AsyncSession, *, learner_id: uuid.UUID) -> list[KnowledgeMark]:
    statement = _owned(KnowledgeMark, learner_id)
    return await _rows(db, statement.order_by(KnowledgeMark.subject, KnowledgeMark.key))


async def fsrs_optimizations_of(
    db: AsyncSession, *, learner_id: uuid.UUID
) -> list[FsrsOptimization]:
    statement = _owned(FsrsOptimization, learner_id)
    return await _rows(db, statement.order_by(FsrsOptimization.created_at, FsrsOptimization.id))


async def model_calls_of(db: AsyncSession, *, learner_id: uuid.UUID) -> list[LLMCall]:
    return await _rows(db, _owned(LLMCall, learner_id).order_by(LLMCall.created_at, LLMCall.id))


async def job_runs_of(db: AsyncSession, *, learner_id: uuid.UUID) -> list[JobRun]:
    return await _rows(db, _owned(JobRun, learner_id).order_by(JobRun.created_at, JobRun.id))


async def counts_of(db: AsyncSession, *, learner_id: uuid.UUID) -> dict[str, int]:
    """How many sources, sessions, cards and reviews the learner has: what an operator is
    shown before deleting them."""
    owners = {
        "sources": Source.learner_id,
        "sessions": TutorSession.learner_id,
        "cards": Card.learner_id,
        "reviews": Review.learner_id,
    }
    statement = select(
        *(
            select(func.count()).where(owner == learner_id).scalar_subquery().label(name)
            for name, owner in owners.items()
        )
    )
    row = (await db.execute(statement)).one()
    return dict(row._mapping)


def _owned(model: Any, learner_id: uuid.UUID) -> Select[Any]:
    """`model`'s rows that hold `learner_id` (every table with that column has it)."""
    return select(model).where(model.learner_id == learner_id)


def _in_sessions(model: Any, session_id: Any, learner_id: uuid.UUID) -> Select[Any]:
    """`model`'s rows in the learner's sessions (they belong to the learner through them)."""
    return (
        select(model)
        .join(TutorSession, TutorSession.id == session_id)
        .where(TutorSession.learner_id == learner_id)
    )
