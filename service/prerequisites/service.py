"""Prerequisites when stumped: ask the model what the passage rests on, then decide in
code which of those concepts the learner's own history shows they know, and the step
back for each of the others.

Nothing the learner wrote is at stake here (the request is a trigger), so nothing is
written before the model answers: the path is stored whole once it has, and a failed
call leaves no row behind. No connection is held while the model thinks.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import replace

from sqlalchemy.ext.asyncio import AsyncSession

from service.answers import Answer, Ending
from service.critiques.service import concept_key
from service.db import release_connection
from service.errors import Conflict
from service.inflight import InFlight
from service.knowledge.models import Subject
from service.knowledge.queries import critiques_of, marks_of
from service.learners.models import Learner
from service.llm.model import Call, Model, Usage
from service.llm.tokens import PromptTooLong
from service.prerequisites.knowing import Explained, History, cards_naming, judge
from service.prerequisites.matching import same_name
from service.prerequisites.models import PrerequisitePath, Trigger
from service.prerequisites.prompting import Attempt, Grounds, build_prerequisites_call
from service.prerequisites.queries import (
    active_cards,
    attempts_on,
    earlier_sessions,
    latest_content,
    latest_critiqued_concept,
    latest_learner_words,
    latest_ratings,
    paths_of_session,
    reading_queue,
)
from service.prerequisites.schemas import (
    ConceptDraft,
    PrerequisiteOut,
    PrerequisiteRequest,
    PrerequisitesDraft,
)
from service.prerequisites.steps import step_for
from service.sessions.messages import TooManyTokens
from service.sessions.models import Kind, TutorSession
from service.sessions.service import get_session
from service.sources.queries import source_title

# The latest attempts are what the learner is stuck on; older ones repeat them.
ATTEMPTS_SHOWN = 3


class NothingToGround(Conflict):
    code = "nothing_to_ground"

    def __init__(self) -> None:
        super().__init__(
            "The session holds nothing to find prerequisites for yet: no passage, no "
            "explanation, and no critiqued attempt on that concept."
        )


async def _grounds(
    db: AsyncSession, session: TutorSession, request: PrerequisiteRequest
) -> Grounds:
    """The passage (or explanation) and, for failed critiques, the attempts."""
    paper = await source_title(db, source_id=session.source_id) if session.source_id else None
    passage = await latest_content(db, session_id=session.id, kinds=[Kind.passage])
    asked = await latest_learner_words(db, session_id=session.id)
    concept = request.concept
    if request.trigger is Trigger.critiques:
        concept = concept or await latest_critiqued_concept(db, session_id=session.id)
        critiques = (
            await attempts_on(db, session_id=session.id, concept_key=concept_key(concept))
            if concept
            else []
        )
        if not critiques:
            raise NothingToGround()
        reference = next((c.reference for c in reversed(critiques) if c.reference), None)
        attempts = [
            Attempt(c.attempt, c.explanation, str(c.verdict), c.score)
            for c in critiques[-ATTEMPTS_SHOWN:]
        ]
        return Grounds(
            passage=reference or passage,
            explanation=None,
            paper=paper,
            concept=concept,
            attempts=attempts,
            asked=asked,
        )
    explanation = None
    if passage is None:
        explanation = await latest_content(
            db, session_id=session.id, kinds=[Kind.explanation, Kind.answer]
        )
        if explanation is None:
            raise NothingToGround()
    return Grounds(
        passage=passage, explanation=explanation, paper=paper, concept=concept, asked=asked
    )


async def _history(
    db: AsyncSession, *, learner: Learner, session: TutorSession, concepts: Sequence[ConceptDraft]
) -> History:
    """The learner's history, with the latest review of each card that names a concept."""
    cards = await active_cards(db, learner_id=learner.id)
    naming = {
        card.id
        for concept in concepts
        for card in cards_naming([concept.name, *concept.also_called], cards)
    }
    reviews = await latest_ratings(db, card_ids=sorted(naming))
    cards = [
        replace(
            card, last_rating=reviews[card.id].rating, last_reviewed=reviews[card.id].reviewed_at
        )
        if card.id in reviews
        else card
        for card in cards
    ]
    marks = {
        mark.name or mark.key: mark.mark.value
        for mark in await marks_of(db, learner.id)
        if mark.subject is Subject.concept
    }
    explained = [
        Explained(seen.concept, seen.verdict, seen.score, seen.at)
        for seen in await critiques_of(db, learner.id)
    ]
    studied = await earlier_sessions(db, learner_id=learner.id, but=session.id)
    return History(marks=marks, explained=explained, cards=cards, studied=studied)


def _distinct(concepts: Sequence[ConceptDraft]) -> list[ConceptDraft]:
    """The model's concepts, each once (a small model names one twice)."""
    kept: list[ConceptDraft] = []
    for concept in concepts:
        if not any(same_name(concept.name, other.name) for other in kept):
            kept.append(concept)
    return kept


async def _decided(
    db: AsyncSession,
    *,
    learner: Learner,
    session: TutorSession,
    concepts: Sequence[ConceptDraft],
) -> list[PrerequisiteOut]:
    history = await _history(db, learner=learner, session=session, concepts=concepts)
    queue = await reading_queue(db, learner_id=learner.id, but=session.source_id)
    decided = []
    for concept in concepts:
        knowing = judge([concept.name, *concept.also_called], history)
        decided.append(
            PrerequisiteOut(
                name=concept.name,
                why=concept.why,
                known=knowing.known,
                evidence=knowing.evidence,
                step=step_for(concept, known=knowing.known, queue=queue),
            )
        )
    return decided


def summary_of(said: str, concepts: Sequence[PrerequisiteOut]) -> str:
    """The model's sentence on what the passage rests on, and the code's on where to
    start (the model does not know what the learner knows)."""
    first = next((concept for concept in concepts if not concept.known), None)
    known = sum(concept.known for concept in concepts)
    if first is None:
        where = "Your history shows you know all of these: go over how the passage uses them."
    elif known:
        where = (
            f"Your history shows you know {known} of these {len(concepts)}; "
            f"start with “{first.name}”."
        )
    else:
        where = f"Start with “{first.name}”."
    return f"{said.rstrip()} {where}"


async def create_path(
    db: AsyncSession,
    *,
    llm: Model,
    in_flight: InFlight,
    learner: Learner,
    session_id: uuid.UUID,
    request: PrerequisiteRequest,
) -> PrerequisitePath:
    """Name the prerequisites of what the learner is stuck on, and store the path."""
    session = await get_session(db, learner=learner, session_id=session_id)
    grounds = await _grounds(db, session, request)
    budget = await llm.budget("prerequisites")

    async def prepare() -> Call:
        try:
            call = build_prerequisites_call(
                learner_id=learner.id, budget=budget, nonce=session.prompt_nonce, grounds=grounds
            )
        except PromptTooLong as exc:
            raise TooManyTokens("prompt", "prompt_too_long", exc.needed, exc.budget) from None
        await release_connection(db)
        return call

    async def keep(ending: Ending) -> Ending:
        return ending  # nothing was written before; the path is written whole below

    ending = await Answer(llm, keep=keep, in_flight=in_flight).structured(
        prepare, PrerequisitesDraft
    )
    draft: PrerequisitesDraft = ending.value
    concepts = await _decided(
        db, learner=learner, session=session, concepts=_distinct(draft.concepts)
    )
    path = PrerequisitePath(
        session_id=session.id,
        trigger=request.trigger,
        concept=grounds.concept,
        summary=summary_of(draft.summary, concepts),
        concepts=[concept.model_dump(mode="json") for concept in concepts],
    )
    _usage(path, ending.usage)
    db.add(path)
    await db.commit()
    return path


def _usage(path: PrerequisitePath, usage: Usage | None) -> None:
    if usage is not None:
        path.prompt_tokens = usage.prompt_tokens
        path.completion_tokens = usage.completion_tokens
        path.usage_estimated = usage.estimated


async def list_paths(
    db: AsyncSession, *, learner: Learner, session_id: uuid.UUID
) -> list[PrerequisitePath]:
    """The session's paths, newest first."""
    session = await get_session(db, learner=learner, session_id=session_id)
    return await paths_of_session(db, session_id=session.id)
