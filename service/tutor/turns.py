"""One exchange in a session: store what the learner sent, then record the answer.

A turn is two steps with the model call between them. `start_*` stores the learner's
words and an empty tutor message (status `streaming`) and commits, so nothing the
learner wrote depends on the model answering. `finish` records how the answer ended:
complete, or failed, or interrupted with its partial text; a failed or interrupted
answer can be run again with `start_retry`.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import takewhile

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from service.answers import Ending
from service.db import Database, utcnow
from service.dbfaults import retried
from service.errors import Conflict, TutorError
from service.knowledge.service import told_about
from service.learners.models import Learner
from service.llm.budget import Budget
from service.llm.model import Call
from service.llm.tokens import PromptTooLong, count_text
from service.sessions.messages import SessionBusy, TooManyTokens, append_message
from service.sessions.models import (
    Kind,
    Level,
    Message,
    MessageStatus,
    PaperPassage,
    Role,
    TutorSession,
)
from service.sessions.passages import anchor, keep, passages_in
from service.sessions.schemas import ExplainRequest, FollowUpRequest
from service.sessions.service import get_session
from service.sources.queries import source_title
from service.tutor.prompting import build_call, paper_part_tokens
from service.tutor.queries import mark_answer_ended

_TITLE_LENGTH = 200


class NotRetryable(Conflict):
    code = "not_retryable"


class MessageNotFound(TutorError):
    status_code = 404
    code = "message_not_found"

    def __init__(self) -> None:
        super().__init__("No such message in this session.")


@dataclass(frozen=True)
class Turn:
    session_id: uuid.UUID
    answer_id: uuid.UUID
    call: Call


def _title_from(passage: str) -> str:
    first_line = next((line.strip() for line in passage.splitlines() if line.strip()), "")
    title = first_line.lstrip("#").strip() or "Untitled session"
    if len(title) > _TITLE_LENGTH:
        title = title[: _TITLE_LENGTH - 1].rstrip() + "…"
    return title


def _check_size(text: str, *, budget: Budget, what: str, code: str) -> int:
    tokens = count_text(text, model=budget.model)
    if tokens > budget.passage:
        raise TooManyTokens(what, code, tokens, budget.passage)
    return tokens


async def _paper_of(db: AsyncSession, session: TutorSession) -> str | None:
    """The title of the paper (or other source) the session reads, if linked to one."""
    if session.source_id is None:
        return None
    return await source_title(db, source_id=session.source_id)


def _material(earlier: Sequence[Message]) -> str:
    """What the answer is about: the passage under discussion and what was just asked
    (for what Tutor knows about the learner that bears on it)."""
    passages = [m.content for m in earlier if m.kind is Kind.passage]
    asked = list(takewhile(lambda m: m.role is Role.learner, reversed(earlier)))
    return "\n\n".join([*passages[-1:], *(m.content for m in reversed(asked))])


async def _papers_of(
    db: AsyncSession, session: TutorSession, new: PaperPassage | None
) -> dict[int, PaperPassage]:
    """The session's passages of papers by the position of their message: those stored,
    and the one being added with this turn (its message has no id before the flush)."""
    positions = {m.id: m.position for m in session.messages}
    with db.no_autoflush:
        stored = await passages_in(db, session_id=session.id)
    papers = {positions[id_]: row for id_, row in stored.items() if id_ in positions}
    if new is not None:
        papers[new.message.position] = new
    return papers


async def commit_turn(
    db: AsyncSession,
    *,
    learner: Learner,
    budget: Budget,
    session: TutorSession,
    answer: Message,
    new_passage: PaperPassage | None = None,
) -> Turn:
    # Build the prompt before committing: a prompt that cannot fit is refused whole.
    earlier = [m for m in session.messages if m.position < answer.position]
    paper = await _paper_of(db, session)
    papers = await _papers_of(db, session, new_passage)
    notes = await told_about(db, learner.id, _material(earlier))
    try:
        call = build_call(
            learner_id=learner.id,
            budget=budget,
            nonce=session.prompt_nonce,
            earlier=earlier,
            answer=answer,
            paper=paper,
            papers=papers,
            learner_notes=notes,
        )
    except PromptTooLong as exc:
        await db.rollback()
        raise TooManyTokens("prompt", "prompt_too_long", exc.needed, exc.budget) from None
    session.updated_at = utcnow()
    try:
        await db.commit()
    except IntegrityError:
        await db.rollback()
        raise SessionBusy() from None
    return Turn(session_id=session.id, answer_id=answer.id, call=call)


async def start_explain(
    db: AsyncSession,
    *,
    budget: Budget,
    learner: Learner,
    session_id: uuid.UUID,
    request: ExplainRequest,
) -> Turn:
    session = await get_session(db, learner=learner, session_id=session_id, with_messages=True)
    passage_tokens = _check_size(
        request.passage, budget=budget, what="passage", code="passage_too_long"
    )
    from_paper = None
    if request.from_paper is not None:
        from_paper = await anchor(
            db,
            learner=learner,
            session=session,
            where=request.from_paper,
            selected=request.passage,
            budget=budget,
        )
        # The context goes with the passage into every later prompt: it counts as it.
        total = passage_tokens + paper_part_tokens(from_paper.context_tokens)
        if total > budget.passage:
            raise TooManyTokens("passage", "passage_too_long", total, budget.passage)
    if session.title is None:
        session.title = _title_from(request.passage)
    message = append_message(
        session,
        role=Role.learner,
        kind=Kind.passage,
        content=request.passage,
        level=request.level,
        token_count=passage_tokens,
    )
    stored = keep(db, from_paper, message) if from_paper is not None else None
    if request.question and request.question.strip():
        question = request.question.strip()
        append_message(
            session,
            role=Role.learner,
            kind=Kind.question,
            content=question,
            level=request.level,
            token_count=count_text(question, model=budget.model),
        )
    answer = append_message(
        session,
        role=Role.tutor,
        kind=Kind.explanation,
        level=request.level,
        status=MessageStatus.streaming,
    )
    return await commit_turn(
        db, learner=learner, budget=budget, session=session, answer=answer, new_passage=stored
    )


def _latest_level(messages: Sequence[Message]) -> Level:
    levels = [m.level for m in messages if m.role is Role.tutor and m.level is not None]
    return levels[-1] if levels else Level.intuition


async def start_followup(
    db: AsyncSession,
    *,
    budget: Budget,
    learner: Learner,
    session_id: uuid.UUID,
    request: FollowUpRequest,
) -> Turn:
    session = await get_session(db, learner=learner, session_id=session_id, with_messages=True)
    tokens = _check_size(request.content, budget=budget, what="message", code="message_too_long")
    level = request.level or _latest_level(session.messages)
    if session.title is None:
        session.title = _title_from(request.content)
    append_message(
        session,
        role=Role.learner,
        kind=Kind.question,
        content=request.content,
        level=level,
        token_count=tokens,
    )
    answer = append_message(
        session, role=Role.tutor, kind=Kind.answer, level=level, status=MessageStatus.streaming
    )
    return await commit_turn(db, learner=learner, budget=budget, session=session, answer=answer)


async def reopen_answer(
    db: AsyncSession, *, learner: Learner, session_id: uuid.UUID, message_id: uuid.UUID
) -> tuple[TutorSession, Message]:
    """A failed or interrupted answer, emptied and marked `streaming` again (not committed)."""
    session = await get_session(db, learner=learner, session_id=session_id, with_messages=True)
    answer = next((m for m in session.messages if m.id == message_id), None)
    if answer is None:
        raise MessageNotFound()
    if answer.role is not Role.tutor or answer.status not in (
        MessageStatus.failed,
        MessageStatus.interrupted,
    ):
        raise NotRetryable(
            f"Only a failed or interrupted answer can be retried; this message is "
            f"{answer.status.value}."
        )
    answer.status = MessageStatus.streaming
    answer.content = ""
    answer.truncated = False
    answer.error_code = answer.error_message = None
    answer.prompt_tokens = answer.completion_tokens = answer.usage_estimated = None
    return session, answer


async def finish(database: Database, turn: Turn, ending: Ending) -> Message:
    """Record how the answer ended, in a transaction of its own (the request's may be
    gone): one Core update, which the ORM's flush cost several times over."""
    values: dict[str, object] = {
        "content": ending.text,
        "truncated": ending.truncated,
        "token_count": count_text(ending.text) if ending.text else 0,
        "status": MessageStatus(ending.status),
        "error_code": ending.error[0] if ending.error else None,
        "error_message": ending.error[1] if ending.error else None,
    }
    if ending.usage is not None:
        values |= {
            "prompt_tokens": ending.usage.prompt_tokens,
            "completion_tokens": ending.usage.completion_tokens,
            "usage_estimated": ending.usage.estimated,
        }

    async def record() -> Message:
        async with database.engine.begin() as connection:
            return await mark_answer_ended(connection, answer_id=turn.answer_id, values=values)

    # The one write that keeps the model's answer: a passing fault does not lose it.
    return await retried(record, what="saving an answer")
