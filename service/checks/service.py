"""Answer the check question, have it graded, and keep what was missed as a card draft.

The learner's answer is stored and committed before the model is asked, so a failed
grading loses nothing and can be retried; no connection is held while the model thinks.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from functools import partial

from sqlalchemy.ext.asyncio import AsyncSession

from service.answers import Answer, Ending
from service.cards.distill import source_tag
from service.cards.models import CardKind, CardStatus
from service.cards.models import CardOrigin as Origin
from service.cards.service import NewCard, add_batch
from service.checks.models import CheckAnswer, CheckResult, CheckStatus
from service.checks.prompting import build_check_call
from service.checks.queries import (
    check_in_session,
    checks_of_session,
    message_in_session,
    passage_before,
)
from service.checks.question import check_question
from service.checks.schemas import CheckGrade, CheckRequest
from service.db import release_connection
from service.dbfaults import commit_retried
from service.errors import InvalidRequest, NotFound
from service.inflight import InFlight
from service.learners.models import Learner
from service.llm.errors import LLMFailure
from service.llm.model import Call, Model
from service.llm.tokens import PromptTooLong
from service.sessions.messages import TooManyTokens
from service.sessions.models import Kind, Message, MessageStatus, Role, TutorSession
from service.sessions.service import get_session
from service.sources.queries import source_title

log = logging.getLogger(__name__)
# The tag of cards made from missed checks, so the learner can find and review them.
MISSED_CHECK_TAG = "missed-check"


class MessageNotFound(NotFound):
    code = "message_not_found"

    def __init__(self) -> None:
        super().__init__("No such tutor message in this session.")


class CheckNotFound(NotFound):
    code = "check_not_found"

    def __init__(self) -> None:
        super().__init__("No such check answer in this session.")


class NoCheckQuestion(InvalidRequest):
    code = "no_check_question"

    def __init__(self) -> None:
        super().__init__("That message does not end with a check question to answer.")


async def _asking_message(
    db: AsyncSession, session: TutorSession, message_id: uuid.UUID
) -> tuple[Message, str]:
    message = await message_in_session(db, message_id=message_id, session_id=session.id)
    if message is None or message.role is not Role.tutor:
        raise MessageNotFound()
    question = check_question(message.content) if message.status is MessageStatus.complete else None
    if question is None or message.kind not in (Kind.explanation, Kind.answer):
        raise NoCheckQuestion()
    return message, question


async def start_check(
    db: AsyncSession,
    *,
    learner: Learner,
    session_id: uuid.UUID,
    message_id: uuid.UUID,
    request: CheckRequest,
) -> CheckAnswer:
    """Store the learner's answer; commit before any model call."""
    session = await get_session(db, learner=learner, session_id=session_id)
    _, question = await _asking_message(db, session, message_id)
    check = CheckAnswer(
        session_id=session.id,
        message_id=message_id,
        question=question,
        answer=request.answer,
        status=CheckStatus.grading,
    )
    db.add(check)
    await db.commit()
    return check


async def get_check(
    db: AsyncSession, *, learner: Learner, session_id: uuid.UUID, check_id: uuid.UUID
) -> CheckAnswer:
    session = await get_session(db, learner=learner, session_id=session_id)
    check = await check_in_session(db, check_id=check_id, session_id=session.id)
    if check is None:
        raise CheckNotFound()
    return check


async def _passage_before(db: AsyncSession, message: Message) -> str | None:
    """The passage under discussion when the question was asked: the latest before it."""
    return await passage_before(db, session_id=message.session_id, position=message.position)


async def grade_check(
    db: AsyncSession, *, llm: Model, in_flight: InFlight, learner: Learner, check: CheckAnswer
) -> CheckAnswer:
    """Ask the model to grade the answer; a missed check becomes a card draft.

    On failure the check is marked failed and the error (with the check's id, for a
    retry) is raised; the learner's answer stays stored.
    """
    budget = await llm.budget("check")
    message = await db.get_one(Message, check.message_id)
    session = await db.get_one(TutorSession, check.session_id)

    async def prepare() -> Call:
        try:
            call = build_check_call(
                learner_id=learner.id,
                budget=budget,
                nonce=session.prompt_nonce,
                passage=await _passage_before(db, message),
                explanation=message.content,
                question=check.question,
                answer=check.answer,
            )
        except PromptTooLong as exc:
            raise TooManyTokens("prompt", "prompt_too_long", exc.needed, exc.budget) from None
        await release_connection(db)
        return call

    async def keep(ending: Ending) -> CheckAnswer:
        if ending.error is not None:
            await _save_failure(db, check, ending.error[0])
        else:
            graded = partial(_graded, check, ending.value)
            await commit_retried(db, graded, what="saving a check", reload=(check,))
        return check

    try:
        await Answer(llm, keep=keep, in_flight=in_flight).structured(prepare, CheckGrade)
    except LLMFailure as failure:
        failure.details = {**(failure.details or {}), "check_id": str(check.id)}
        raise
    if check.result is not CheckResult.right:
        await _draft_card(db, learner=learner, session=session, check=check)
    return check


async def _save_failure(db: AsyncSession, check: CheckAnswer, code: str) -> None:
    def failed() -> None:
        check.status = CheckStatus.failed
        check.error_code = code

    await commit_retried(db, failed, what="saving a failed check", reload=(check,))


def _graded(check: CheckAnswer, grade: CheckGrade) -> None:
    check.status = CheckStatus.graded
    check.result = grade.result
    check.feedback = grade.feedback
    check.expected = grade.expected
    check.error_code = None


async def _draft_card(
    db: AsyncSession, *, learner: Learner, session: TutorSession, check: CheckAnswer
) -> None:
    """The missed question as a card draft, with the paper it is about as context (it
    is reviewed months later, alone). A card that asks the same already is linked."""
    paper = await source_title(db, source_id=session.source_id) if session.source_id else None
    context = paper or session.title
    front = f"{context}: {check.question}" if context else check.question
    tags = [MISSED_CHECK_TAG, *([source_tag(paper)] if paper else [])]
    assert check.expected is not None  # graded
    batch = await add_batch(
        db,
        learner=learner,
        drafts=[NewCard(front=front, back=check.expected, kind=CardKind.basic, tags=tags)],
        status=CardStatus.draft,
        origin=Origin.distilled,
        session_id=session.id,
        source_id=session.source_id,
    )
    if batch.cards:
        check.card_id = batch.cards[0].id
    elif batch.skipped and batch.skipped[0].duplicate_of is not None:
        check.card_id = batch.skipped[0].duplicate_of
    await db.commit()


async def list_checks(
    db: AsyncSession, *, learner: Learner, session_id: uuid.UUID
) -> Sequence[CheckAnswer]:
    session = await get_session(db, learner=learner, session_id=session_id)
    return await checks_of_session(db, session_id=session.id)
