"""Poke holes: critique the learner's own explanation, attempt by attempt.

The attempt is stored (as a session message and a critique row) and committed before
the model is asked, so a failed critique loses nothing and can be retried.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from functools import partial

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from service.answers import Answer, Ending
from service.critiques.calibration import calibrate
from service.critiques.grounding import ground
from service.critiques.prompting import build_critique_call
from service.critiques.queries import (
    critique_in_session,
    critique_of_message,
    finished_critiques,
    latest_attempt,
    passages_newest_first,
    previous_critique,
    prompt_nonce,
    verdicts_up_to,
)
from service.critiques.schemas import CritiqueDraft, CritiqueRequest
from service.critiques.stumped import stumped
from service.critiques.writing import as_markdown
from service.db import release_connection, utcnow
from service.dbfaults import commit_retried
from service.errors import NotFound, TutorError
from service.inflight import InFlight
from service.knowledge.service import told_about
from service.learners.models import Learner
from service.llm.budget import Budget
from service.llm.model import Call, Model, Usage
from service.llm.tokens import PromptTooLong, count_text
from service.sessions.messages import SessionBusy, TooManyTokens, append_message
from service.sessions.models import (
    Critique,
    Kind,
    Level,
    Message,
    MessageStatus,
    Role,
    TutorSession,
    Verdict,
)
from service.sessions.passages import anchor, keep, passage_of
from service.sessions.service import get_session

# A Feynman explanation is a few paragraphs; an essay would need a different review.
MAX_EXPLANATION_TOKENS = 4000
# Fewer words than this is not an attempt ("idk", "attention?"): ask for a real one.
MIN_ATTEMPT_WORDS = 5


def concept_key(concept: str) -> str:
    return " ".join(concept.casefold().split())


def is_low_effort(explanation: str) -> bool:
    return len(explanation.split()) < MIN_ATTEMPT_WORDS


def low_effort_draft(concept: str) -> CritiqueDraft:
    return CritiqueDraft(
        verdict=Verdict.wrong,
        score=0,
        strengths=[],
        issues=[],
        questions=[
            f"In a few sentences of your own: what problem does {concept} solve?",
            f"What goes into {concept}, and what comes out of it?",
        ],
        low_effort=True,
    )


async def start_critique(
    db: AsyncSession,
    *,
    budget: Budget,
    learner: Learner,
    session_id: uuid.UUID,
    request: CritiqueRequest,
) -> Critique:
    """Store the attempt and a pending critique; commit before any model call."""
    session = await get_session(db, learner=learner, session_id=session_id, with_messages=True)
    explanation = request.explanation.strip()
    tokens = count_text(explanation, model=budget.model)
    limit = min(MAX_EXPLANATION_TOKENS, budget.passage)
    if tokens > limit:
        raise TooManyTokens("explanation", "explanation_too_long", tokens, limit)
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
    reference = request.passage or (from_paper.text if from_paper else None)
    if reference is not None:
        passage_tokens = count_text(reference, model=budget.model)
        if from_paper is not None:  # the paper context comes with the reference
            passage_tokens += from_paper.context_tokens
        if passage_tokens > budget.passage:
            raise TooManyTokens("passage", "passage_too_long", passage_tokens, budget.passage)
    key = concept_key(request.concept)
    latest = await latest_attempt(db, session_id=session.id, concept_key=key)
    attempt_message = append_message(
        session, role=Role.learner, kind=Kind.attempt, content=explanation, token_count=tokens
    )
    if from_paper is not None:
        keep(db, from_paper, attempt_message)
    critique_message = append_message(
        session, role=Role.tutor, kind=Kind.critique, status=MessageStatus.streaming
    )
    session.title = session.title or request.concept
    session.updated_at = utcnow()
    try:
        await db.flush()
        critique = Critique(
            session_id=session.id,
            attempt_message_id=attempt_message.id,
            critique_message_id=critique_message.id,
            concept=request.concept,
            concept_key=key,
            attempt=(latest or 0) + 1,
            explanation=explanation,
            reference=reference,
            level=request.level or _session_level(session),
        )
        db.add(critique)
        await db.commit()
    except IntegrityError:
        await db.rollback()
        raise SessionBusy() from None
    return critique


def _session_level(session: TutorSession) -> Level:
    """The depth the learner last asked for in the session: what their attempt aims at."""
    levels = [m.level for m in session.messages if m.level is not None]
    return levels[-1] if levels else Level.intuition


async def _reference(db: AsyncSession, critique: Critique, budget: Budget) -> str | None:
    """The passage given with the attempt, else the session's passages, newest first."""
    if critique.reference:
        return critique.reference
    passages = await passages_newest_first(db, session_id=critique.session_id)
    kept: list[str] = []
    used = 0
    for passage in passages:
        if used + passage.token_count > budget.passage:
            break
        kept.append(passage.content)
        used += passage.token_count
    return "\n\n".join(reversed(kept)) or None


async def _previous(db: AsyncSession, critique: Critique) -> Critique | None:
    """The latest earlier attempt on the same concept that got a critique."""
    return await previous_critique(
        db,
        session_id=critique.session_id,
        concept_key=critique.concept_key,
        before_attempt=critique.attempt,
    )


async def _critique_call(
    db: AsyncSession, budget: Budget, learner: Learner, critique: Critique
) -> tuple[Call, Critique | None]:
    """The model call for `critique`, and the earlier attempt it is compared with."""
    previous = await _previous(db, critique)
    nonce = await prompt_nonce(db, session_id=critique.session_id)
    assert nonce is not None  # the critique's session exists: it holds the critique
    reference = await _reference(db, critique, budget)
    material = "\n\n".join([critique.concept, critique.explanation, reference or ""])
    anchored = await passage_of(db, message_id=critique.attempt_message_id)
    try:
        call = build_critique_call(
            learner_id=learner.id,
            budget=budget,
            nonce=nonce,
            critique=critique,
            reference=reference,
            paper_context=anchored.context if anchored else None,
            previous=previous,
            learner_notes=await told_about(db, learner.id, material),
        )
    except PromptTooLong as exc:
        raise TooManyTokens("prompt", "prompt_too_long", exc.needed, exc.budget) from None
    return call, previous


def _finished(draft: CritiqueDraft, previous: Critique | None, explanation: str) -> CritiqueDraft:
    """The model's critique as the service keeps it: its quotes grounded in the learner's
    words, its verdict calibrated, and its progress read against the previous attempt."""
    # Whatever a server without a schema let through: only the service says low effort.
    answered = draft.model_copy(update={"low_effort": False})
    finished = calibrate(ground(answered, explanation))
    if previous is None:
        return finished.model_copy(update={"improved_since_last": None})
    if finished.improved_since_last is None:
        improved = finished.score > (previous.score or 0)
        return finished.model_copy(update={"improved_since_last": improved})
    return finished


async def run_critique(
    db: AsyncSession, *, llm: Model, in_flight: InFlight, learner: Learner, critique: Critique
) -> Critique:
    """Ask the model, ground its quotes, and record the critique and its message.

    No connection is held while the model thinks. On failure the critique's message is
    marked failed and the error (with the message id, for a retry) is raised; the
    attempt itself stays stored.
    """
    budget = await llm.budget("critique")
    message = await db.get_one(Message, critique.critique_message_id)
    reload = (critique, message)
    previous: Critique | None = None

    async def prepare() -> Call:
        nonlocal previous
        call, previous = await _critique_call(db, budget, learner, critique)
        await release_connection(db)
        return call

    async def keep(ending: Ending) -> Critique:
        if ending.error is not None:
            failed = partial(_failed, message, *ending.error)
            await commit_retried(db, failed, what="saving a failed critique", reload=reload)
            return critique
        draft: CritiqueDraft = ending.value
        if not is_low_effort(critique.explanation):
            draft = _finished(draft, previous, critique.explanation)
        done = partial(_completed, critique, message, draft, ending.usage)
        await commit_retried(db, done, what="saving a critique", reload=reload)
        return critique

    answer = Answer(llm, keep=keep, in_flight=in_flight, answer_id=message.id)
    if is_low_effort(critique.explanation):
        return await answer.given(low_effort_draft(critique.concept))
    try:
        return await answer.structured(prepare, CritiqueDraft)
    except TutorError as failure:
        failure.details = {**(failure.details or {}), "message_id": str(message.id)}
        raise


def _failed(message: Message, code: str, error: str) -> None:
    message.status = MessageStatus.failed
    message.error_code = code
    message.error_message = error


def _completed(
    critique: Critique, message: Message, draft: CritiqueDraft, usage: Usage | None
) -> None:
    critique.verdict = draft.verdict
    critique.score = draft.score
    critique.strengths = list(draft.strengths)
    critique.issues = [issue.model_dump() for issue in draft.issues]
    critique.questions = list(draft.questions)
    critique.next_step = draft.next_step
    critique.improved_since_last = draft.improved_since_last
    critique.low_effort = draft.low_effort
    message.content = as_markdown(draft, attempt=critique.attempt)
    message.token_count = count_text(message.content)
    message.status = MessageStatus.complete
    if usage is not None:
        message.prompt_tokens = usage.prompt_tokens
        message.completion_tokens = usage.completion_tokens
        message.usage_estimated = usage.estimated


async def is_stumped(db: AsyncSession, *, critique: Critique) -> bool:
    """Whether this critique leaves the learner stumped on its concept (stumped.py)."""
    verdicts = await verdicts_up_to(
        db,
        session_id=critique.session_id,
        concept_key=critique.concept_key,
        attempt=critique.attempt,
    )
    return stumped(verdicts)


async def critique_for_message(db: AsyncSession, *, message_id: uuid.UUID) -> Critique:
    critique = await critique_of_message(db, message_id=message_id)
    if critique is None:
        raise LookupError(f"no critique for message {message_id}")
    return critique


async def list_critiques(
    db: AsyncSession, *, learner: Learner, session_id: uuid.UUID, concept: str | None
) -> Sequence[tuple[Critique, Message]]:
    """The session's finished critiques, oldest first, optionally for one concept."""
    session: TutorSession = await get_session(db, learner=learner, session_id=session_id)
    key = concept_key(concept) if concept is not None else None
    return await finished_critiques(db, session_id=session.id, concept_key=key)


class CritiqueNotFound(NotFound):
    code = "critique_not_found"

    def __init__(self) -> None:
        super().__init__("No such critique in this session.")


class NoSuchIssue(NotFound):
    code = "issue_not_found"

    def __init__(self, issue: int) -> None:
        super().__init__(f"The critique has no issue {issue} with a fix to show.")


async def reveal_fix(
    db: AsyncSession,
    *,
    learner: Learner,
    session_id: uuid.UUID,
    critique_id: uuid.UUID,
    issue: int,
) -> tuple[Critique, Message]:
    """Show the fix of one issue, and remember that the learner asked for it: a fix
    seen is help taken, not a mistake found alone."""
    session = await get_session(db, learner=learner, session_id=session_id)
    critique = await critique_in_session(db, critique_id=critique_id, session_id=session.id)
    if critique is None or critique.verdict is None:
        raise CritiqueNotFound()
    if not 0 <= issue < len(critique.issues) or not critique.issues[issue].get("fix"):
        raise NoSuchIssue(issue)

    def mark_revealed() -> None:
        issues = [dict(item) for item in critique.issues]  # a new list: JSON is not tracked
        issues[issue]["revealed"] = True
        critique.issues = issues

    await commit_retried(db, mark_revealed, what="saving a revealed fix", reload=(critique,))
    message = await db.get_one(Message, critique.critique_message_id)
    return critique, message
