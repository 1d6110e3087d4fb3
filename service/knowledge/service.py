"""Read what Tutor knows about a learner, and keep the learner's corrections to it."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from service.db import utcnow
from service.errors import InvalidRequest, NotFound
from service.knowledge.evidence import cards_by_tag, critiques_of, marks_of
from service.knowledge.models import KnowledgeMark, Mark, Subject
from service.knowledge.notes import Told, told
from service.knowledge.profile import Concept, Knowledge, Misconception, concept_key, derive
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


# Both dialects say "insert, or update the row with this key" the same way.
_UPSERTS: dict[str, Callable[[Any], Any]] = {
    "postgresql": postgresql.insert,
    "sqlite": sqlite.insert,
}


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
    where = (
        (KnowledgeMark.learner_id == learner.id)
        & (KnowledgeMark.subject == subject)
        & (KnowledgeMark.key == key)
    )
    if mark is None:
        await db.execute(delete(KnowledgeMark).where(where))
    else:
        values: dict[str, Any] = {"mark": mark, "updated_at": utcnow()}
        insert = _UPSERTS[db.get_bind().dialect.name](KnowledgeMark).values(
            learner_id=learner.id, subject=subject, key=key, name=name, **values
        )
        await db.execute(
            insert.on_conflict_do_update(
                index_elements=["learner_id", "subject", "key"], set_=values
            )
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
