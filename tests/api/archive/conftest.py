"""A learner with a row in every table, and the rows a learner owns found by walking the
schema (every `learner_id`, then every ON DELETE CASCADE foreign key from those rows), so
that a table added later is covered by the tests here without anyone remembering to."""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import timedelta

import pytest
from sqlalchemy import RowMapping, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from service.calls.models import LLMCall
from service.cards.models import Card, CardKind, CardOrigin, CardPassage, CardStatus
from service.cards.schedule import CardSchedule
from service.checks.models import CheckAnswer, CheckResult, CheckStatus
from service.db import utcnow
from service.jobs.models import JobRun
from service.knowledge.models import KnowledgeMark, Mark, Subject
from service.models import Base
from service.papers.document import BlockKind, Origin
from service.papers.models import (
    Paper,
    PaperBlock,
    PaperSection,
    PaperStatus,
    PaperSymbol,
)
from service.prerequisites.models import PrerequisitePath, Trigger
from service.reviews.models import FsrsOptimization, IdempotencyKey, Review
from service.sessions.models import (
    Critique,
    Kind,
    Message,
    PaperPassage,
    Role,
    TutorSession,
    Verdict,
)
from service.sources.models import Source, SourceKind
from service.studylog.models import StudyLogEntry

# A row of some table, as comparable text (JSON columns hold dicts, which do not hash).
FrozenRow = str
TableRows = dict[str, Counter[FrozenRow]]


async def fill_everything(db: AsyncSession, learner_id: uuid.UUID, *, words: str) -> None:
    """A row of every kind for the learner, each naming `words` somewhere."""
    now = utcnow()
    today = now.date()
    source = Source(
        id=uuid.uuid4(), learner_id=learner_id, title=f"{words}: the paper", kind=SourceKind.paper
    )
    session = TutorSession(id=uuid.uuid4(), learner_id=learner_id, title=words, source_id=source.id)
    messages = [
        Message(
            id=uuid.uuid4(),
            session_id=session.id,
            position=position,
            role=role,
            kind=kind,
            content=f"{words} {kind.value}",
        )
        for position, (role, kind) in enumerate(
            [
                (Role.learner, Kind.passage),
                (Role.tutor, Kind.explanation),
                (Role.learner, Kind.attempt),
                (Role.tutor, Kind.critique),
            ]
        )
    ]
    critique = Critique(
        session_id=session.id,
        attempt_message_id=messages[2].id,
        critique_message_id=messages[3].id,
        concept=words,
        concept_key=words.lower(),
        attempt=1,
        explanation=f"{words}, in my words",
        verdict=Verdict.shaky,
        score=60,
        strengths=["the gist"],
        issues=[{"quote": words, "problem": "vague"}],
        questions=["why?"],
    )
    card = Card(
        id=uuid.uuid4(),
        learner_id=learner_id,
        front=f"What is {words}?",
        back=words,
        kind=CardKind.basic,
        status=CardStatus.active,
        origin=CardOrigin.distilled,
        session_id=session.id,
        source_id=source.id,
        due=today,
        activated_on=today,
        repetitions=0,
        easiness=2.5,
        interval=0,
        drill=False,
        lapses=0,
    )
    card.tags = ["archive-test", words.split()[0].lower()]
    # Where in the paper the passage and the card came from.
    place = {
        "source_id": source.id,
        "first_block": 0,
        "last_block": 0,
        "paper_title": f"{words}: the paper",
        "section_number": "1",
        "section_heading": words,
        "page": 1,
    }
    card.passage = CardPassage(**place)
    passage = PaperPassage(
        message_id=messages[0].id, **place, context=f"Paper: {words}", context_tokens=4
    )
    check = CheckAnswer(
        session_id=session.id,
        message_id=messages[1].id,
        question=f"{words}?",
        answer="this",
        status=CheckStatus.graded,
        result=CheckResult.partly,
        card_id=card.id,
    )
    path = PrerequisitePath(
        session_id=session.id,
        trigger=Trigger.critiques,
        concept=words,
        summary=f"{words} rests on the softmax.",
        concepts=[{"name": "softmax", "why": words, "known": False, "evidence": None}],
    )
    before = CardSchedule.of(card).snapshot()
    card.repetitions, card.interval, card.due = 1, 1, today + timedelta(days=1)
    card.last_reviewed_at, card.started_on = now, today
    review = Review(
        id=uuid.uuid4(),
        card_id=card.id,
        learner_id=learner_id,
        grade=4,
        rating=3,
        scheduler="sm2",
        reviewed_at=now,
        review_date=today,
        duration_ms=4000,
        drill=False,
        before=before,
        after=CardSchedule.of(card).snapshot(),
    )
    paper = Paper(
        id=uuid.uuid4(),
        learner_id=learner_id,
        source_id=source.id,
        status=PaperStatus.ready,
        stage="Ready",
        file_name=f"{words}.pdf",
        file_suffix="pdf",
        file_bytes=1000,
        file_sha256="0" * 64,
        extractor="service.papers.pdf:document_from_pdf",
        touched_at=now,
        title=f"{words}: the paper",
        origin=Origin.pdf,
        page_count=1,
    )
    paper_rows = [
        PaperSection(
            paper_id=paper.id,
            position=0,
            heading=words,
            number="1",
            level=1,
            page=1,
            first_block=0,
            block_count=1,
        ),
        PaperBlock(
            paper_id=paper.id,
            position=0,
            section_position=0,
            index_in_section=0,
            kind=BlockKind.text,
            text=f"{words}, where d_k is the dimension of the keys.",
            page=1,
        ),
        PaperSymbol(
            paper_id=paper.id,
            position=0,
            symbol="d_k",
            definition=f"the dimension of the keys of {words}",
            section_position=0,
            block_index=0,
        ),
    ]
    # Written parent first: without relationships between them the unit of work does not
    # order these tables' inserts.
    for rows in (
        [source],
        [session, paper],
        messages,
        [critique, card, *paper_rows],
        [check, review, path, passage],
    ):
        db.add_all(rows)
        await db.flush()
    db.add_all(
        [
            IdempotencyKey(
                learner_id=learner_id,
                key=f"grade-{words}",
                request_hash="0" * 64,
                review_id=review.id,
                response={"ok": True},
            ),
            StudyLogEntry(
                learner_id=learner_id,
                day=today,
                number=0,
                title=words,
                facts={"cards": 1},
                narrative=f"Studied {words}.",
            ),
            KnowledgeMark(
                learner_id=learner_id, subject=Subject.concept, key=words.lower(), mark=Mark.known
            ),
            FsrsOptimization(
                learner_id=learner_id,
                status="done",
                stage="done",
                reviews=1,
                estimated_seconds=1.0,
                touched_at=now,
                finished_at=now + timedelta(seconds=1),
            ),
            LLMCall(
                learner_id=learner_id,
                purpose="explain",
                prompt_name="tutor",
                prompt_version=1,
                model="tiny",
                prompt_tokens=10,
                completion_tokens=5,
                duration_ms=100,
                outcome="ok",
            ),
            JobRun(
                job="study_log",
                learner_id=learner_id,
                period=today.isoformat(),
                outcome="done",
                finished_at=now,
            ),
        ]
    )
    await db.commit()


async def owned_rows(connection: AsyncConnection, learner_id: uuid.UUID) -> TableRows:
    """Every table's rows that belong to the learner: the learner's own, those holding
    its id, and, table by table in dependency order, those a cascading foreign key ties
    to a row already found."""
    owned: dict[str, list[RowMapping]] = {}
    for table in Base.metadata.sorted_tables:
        ties = [table.c.id == learner_id] if table.name == "learners" else []
        for key in table.foreign_keys:
            parents = owned.get(key.column.table.name, [])
            if key.ondelete == "CASCADE" and parents:
                ties.append(key.parent.in_({row[key.column.name] for row in parents}))
        found = await connection.execute(select(table).where(or_(*ties))) if ties else []
        owned[table.name] = [row._mapping for row in found]
    return {name: Counter(map(frozen, rows)) for name, rows in owned.items()}


async def table_rows(connection: AsyncConnection) -> TableRows:
    """Every row of every table."""
    return {
        table.name: Counter(frozen(row._mapping) for row in await connection.execute(select(table)))
        for table in Base.metadata.sorted_tables
    }


def frozen(row: RowMapping) -> FrozenRow:
    """A row as JSON text: comparable, countable, and its ids as the export writes them."""
    return json.dumps(dict(row), sort_keys=True, default=str)


@pytest.fixture
def fill() -> Callable[..., Awaitable[None]]:
    """`await fill(db, learner_id, words=...)`: a row of every kind for the learner."""
    return fill_everything


@pytest.fixture
def rows_of() -> Callable[[AsyncConnection, uuid.UUID], Awaitable[TableRows]]:
    """`await rows_of(connection, learner_id)`: the learner's rows, table by table."""
    return owned_rows


@pytest.fixture
def every_row() -> Callable[[AsyncConnection], Awaitable[TableRows]]:
    """`await every_row(connection)`: all rows of all tables."""
    return table_rows
