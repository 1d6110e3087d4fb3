"""Read what Tutor knows about a learner, and keep the learner's corrections to it."""

from __future__ import annotations

import re
import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from service.db import utcnow
from service.errors import InvalidRequest, NotFound
from service.knowledge.models import Mark, Subject
from service.knowledge.notes import Told, told
from service.knowledge.profile import Concept, Knowledge, Misconception, concept_key, derive
from service.knowledge.queries import cards_by_tag, clear_mark, critiques_of, marks_of, set_mark
from service.learners.models import Learner


async def knowledge_of(db: AsyncSession, learner_id: uuid.UUID) -> Knowledge:
    critiques = await critiques_of(db, learner_id)
    tagged = await cards_by_tag(db, learner_id)
    return derive(critiques, tagged, await marks_of(db, learner_id))


async def told_about(db: AsyncSession, learner_id: uuid.UUID, material: str) -> Told | None:
    """What the tutor is told about the learner when answering on `material`."""
    return told(await knowledge_of(db, learner_id), material)


class NotAConcept(InvalidRequest):
    code = "invalid_concept"

    def __init__(self) -> None:
        super().__init__("A concept's name needs a letter or a digit.")


class MisconceptionNotFound(NotFound):
    code = "misconception_not_found"

    def __init__(self) -> None:
        super().__init__("Tutor has noted no such mistake of yours.")


async def _keep_mark(
    db: AsyncSession,
    learner: Learner,
    subject: Subject,
    key: str,
    mark: Mark | None,
    name: str | None = None,
) -> None:
    """Set (or with None, clear) one correction, in one statement: two tabs marking the
    same concept at once end with one of the marks, never an error."""
    if mark is None:
        await clear_mark(db, learner_id=learner.id, subject=subject, key=key)
    else:
        await set_mark(
            db,
            learner_id=learner.id,
            subject=subject,
            key=key,
            mark=mark,
            name=name,
            updated_at=utcnow(),
        )
    await db.commit()


async def mark_concept(
    db: AsyncSession, *, learner: Learner, concept: str, mark: Mark | None
) -> Concept:
    """Correct what Tutor thinks of a concept; naming one it has not seen adds it."""
    key = concept_key(concept)
    if not re.search(r"\w", key):
        raise NotAConcept()
    await _keep_mark(db, learner, Subject.concept, key, mark, name=" ".join(concept.split()))
    knowledge = await knowledge_of(db, learner.id)
    found = next((c for c in knowledge.concepts if c.key == key), None)
    # Clearing the mark of a concept only the learner had named leaves nothing behind.
    return found or Concept(key=key, name=" ".join(concept.split()))


async def dismiss_misconception(
    db: AsyncSession, *, learner: Learner, misconception_id: str, dismissed: bool
) -> Misconception:
    knowledge = await knowledge_of(db, learner.id)
    if not any(m.id == misconception_id for m in knowledge.misconceptions):
        raise MisconceptionNotFound()
    mark = Mark.dismissed if dismissed else None
    await _keep_mark(db, learner, Subject.misconception, misconception_id, mark)
    knowledge = await knowledge_of(db, learner.id)
    return next(m for m in knowledge.misconceptions if m.id == misconception_id)
