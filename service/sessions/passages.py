"""A learner's message anchored to the passage of a paper it came from.

An explanation asked of a passage selected in the reader, or an attempt to explain one
back, keeps where in which paper the passage is (a `paper_passages` row), with the
paper context its prompt carried, built once and frozen. A session reads one paper: a
session with no source takes the passage's, one with another source refuses it.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection

from sqlalchemy.ext.asyncio import AsyncSession

from service.errors import Conflict
from service.learners.models import Learner
from service.llm.budget import Budget
from service.openapi_docs import Refusal
from service.papers.passages import (
    MOST_BLOCKS,
    DocumentNotReady,
    Passage,
    PassageNotInPaper,
    read_passage,
)
from service.sessions.models import Message, PaperPassage, TutorSession
from service.sessions.queries import (
    latest_paper_passages,
    paper_passage_of,
    session_paper_passages,
)
from service.sessions.schemas import PaperPassageIn
from service.sources.service import SourceNotFound


class SessionReadsAnotherSource(Conflict):
    code = "session_reads_another_source"

    def __init__(self) -> None:
        super().__init__(
            "This session is about another source: explain a passage of this paper in a "
            "new session (or link this one to the paper first)."
        )


# What a request with `from_paper` can be refused for, for the routes that take one.
FROM_PAPER_REFUSALS = (
    Refusal.of(SourceNotFound, "`from_paper.source_id` names no source of yours."),
    Refusal.of(DocumentNotReady),
    Refusal(
        PassageNotInPaper.status_code,
        PassageNotInPaper.code,
        f"`from_paper` names blocks the paper does not have, or more than {MOST_BLOCKS} "
        "of them (`error.details` has `block_count`).",
    ),
    Refusal.of(SessionReadsAnotherSource),
)


async def anchor(
    db: AsyncSession,
    *,
    learner: Learner,
    session: TutorSession,
    where: PaperPassageIn,
    selected: str | None,
    budget: Budget,
) -> Passage:
    """The passage `where` names, checked against the learner's paper and the session
    (which takes the paper's source if it has none), with its context built."""
    passage = await read_passage(
        db,
        learner=learner,
        source_id=where.source_id,
        first_block=where.first_block,
        last_block=where.last_block,
        selected=selected,
        passage_budget=budget.passage,
        model=budget.model,
    )
    if session.source_id is not None and session.source_id != passage.source_id:
        raise SessionReadsAnotherSource()
    session.source_id = passage.source_id
    return passage


def keep(db: AsyncSession, passage: Passage, message: Message) -> PaperPassage:
    """The passage stored for `message` (added to the unit of work, not flushed)."""
    row = PaperPassage(
        message=message,
        source_id=passage.source_id,
        first_block=passage.first_block,
        last_block=passage.last_block,
        paper_title=passage.paper_title,
        section_number=passage.section_number,
        section_heading=passage.section_heading,
        page=passage.page,
        context=passage.context,
        context_tokens=passage.context_tokens,
    )
    db.add(row)
    return row


async def passages_in(db: AsyncSession, *, session_id: uuid.UUID) -> dict[uuid.UUID, PaperPassage]:
    """The session's passages of papers, by the id of the message each came from."""
    return await session_paper_passages(db, session_id=session_id)


async def latest_passages(
    db: AsyncSession, *, session_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, PaperPassage]:
    """Each session's latest passage of a paper, by session id."""
    return await latest_paper_passages(db, session_ids=session_ids)


async def passage_of(db: AsyncSession, *, message_id: uuid.UUID) -> PaperPassage | None:
    """The passage of a paper the message came from, if it came from one."""
    return await paper_passage_of(db, message_id=message_id)
