"""Every statement the reviews domain runs: grading, undo, the queue, stats, FSRS fits."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    ColumnElement,
    Dialect,
    Row,
    Table,
    TypeDecorator,
    bindparam,
    case,
    func,
    insert,
    literal,
    select,
    union_all,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.orm import raiseload
from sqlalchemy.sql.selectable import ExecutableReturnsRows

from scheduler.grades import SCHEDULERS
from service.cards.models import Card, CardStatus, joined_tags, set_joined_tags
from service.cards.schedule import CardSchedule
from service.db import built, for_update, table_of
from service.learners.models import Learner
from service.reviews.models import FsrsOptimization, IdempotencyKey, Review

# Grading ---------------------------------------------------------------------------

# Grading runs Core statements on the tables, built once: the ORM's handling of a
# statement (and of a flush) costs more than running it, several times over, and every
# grade runs these. The card and review objects are built from the rows, never added.
_CARDS = table_of(Card)
_CARD_FOR_UPDATE = for_update(
    select(_CARDS, joined_tags(_CARDS.c.id)).where(
        _CARDS.c.id == bindparam("card_id"), _CARDS.c.learner_id == bindparam("learner_id")
    )
)
# What a review changes on its card (service/cards/schedule.py), and when.
_SCHEDULE = (*CardSchedule.__dataclass_fields__, "updated_at")
_UPDATE_SCHEDULE = (
    update(_CARDS)
    .where(_CARDS.c.id == bindparam("card_id"))
    .values({column: bindparam(column) for column in _SCHEDULE})
)
_REVIEWS = table_of(Review)
_INSERT_REVIEW = insert(_REVIEWS)
_KEYS = table_of(IdempotencyKey)
# The learner's scheduler, read after the card's row is locked: a switch of scheduler
# (service/reviews/scheduling.py) that committed meanwhile is seen, never half applied.
_LEARNER_SCHEDULER = select(
    Learner.scheduler, Learner.desired_retention, Learner.fsrs_parameters
).where(Learner.id == bindparam("learner_id"))


class _SerializedJSON(TypeDecorator[str]):
    """JSON already serialized, written as it is: the answer kept under a key is the
    body the response sends, serialized once for both."""

    impl = JSON
    cache_ok = True

    def bind_processor(self, dialect: Dialect) -> None:
        return None


def _keep_answer(insert: Callable[[Table], Any]) -> Any:
    """Store the answer under its key, or take over a key older than the window: one
    row either way. A key in use within the window is left as it is and no row comes
    back (PostgreSQL first waits for a transaction that holds the same key)."""
    columns: dict[str, Any] = {
        "learner_id": bindparam("learner_id"),
        "key": bindparam("key"),
        "request_hash": bindparam("request_hash"),
        "response": bindparam("response", type_=_SerializedJSON()),
        "review_id": bindparam("review_id"),
        "created_at": bindparam("created_at"),
    }
    keep = insert(_KEYS).values(id=bindparam("id"), **columns)
    return keep.on_conflict_do_update(
        index_elements=[_KEYS.c.learner_id, _KEYS.c.key],
        set_={"id": keep.excluded.id, **columns},
        where=_KEYS.c.created_at < bindparam("before"),
    ).returning(_KEYS.c.id)


_KEEP_ANSWER = {
    "postgresql": _keep_answer(postgresql.insert),
    "sqlite": _keep_answer(sqlite.insert),
}


async def card_for_grading(
    connection: AsyncConnection, *, card_id: uuid.UUID, learner_id: uuid.UUID
) -> Card | None:
    """The learner's card with its tags, its row locked; built from the row, not in the
    session."""
    ids = {"card_id": card_id, "learner_id": learner_id}
    row = (await connection.execute(_CARD_FOR_UPDATE, ids)).first()
    if row is None:
        return None
    *columns, tags = row
    card = built(Card, dict(zip(_CARDS.columns.keys(), columns, strict=True)))
    set_joined_tags(card, tags)
    return card


async def scheduler_for_grading(
    connection: AsyncConnection, *, learner_id: uuid.UUID
) -> Row[str, float, list[float] | None]:
    """The learner's scheduler, desired retention and FSRS parameters."""
    return (await connection.execute(_LEARNER_SCHEDULER, {"learner_id": learner_id})).one()


async def write_schedule(
    connection: AsyncConnection,
    *,
    card_id: uuid.UUID,
    updated_at: datetime,
    schedule: Mapping[str, Any],
) -> None:
    """Put a graded card's schedule (`CardSchedule.columns()`) on its row."""
    await connection.execute(
        _UPDATE_SCHEDULE, {"card_id": card_id, "updated_at": updated_at, **schedule}
    )


async def insert_review(connection: AsyncConnection, *, review: Mapping[str, Any]) -> None:
    """Write a review's row: `review` holds every column."""
    await connection.execute(_INSERT_REVIEW, review)


async def keep_answer(
    connection: AsyncConnection,
    *,
    learner_id: uuid.UUID,
    key: str,
    request_hash: str,
    response: str,
    review_id: uuid.UUID,
    created_at: datetime,
    before: datetime,
) -> bool:
    """Keep the answer (serialized JSON) under its key; False if the key is in use since
    `before`, and nothing was written."""
    keep = {
        "id": uuid.uuid4(),
        "learner_id": learner_id,
        "key": key,
        "request_hash": request_hash,
        "response": response,
        "review_id": review_id,
        "created_at": created_at,
        "before": before,
    }
    kept = await connection.execute(_KEEP_ANSWER[connection.dialect.name], keep)
    return kept.first() is not None


async def kept_answer(
    db: AsyncSession, *, learner_id: uuid.UUID, key: str, since: datetime
) -> IdempotencyKey | None:
    """The answer kept under this key since `since`, if there is one."""
    return await db.scalar(
        select(IdempotencyKey).where(
            IdempotencyKey.learner_id == learner_id,
            IdempotencyKey.key == key,
            IdempotencyKey.created_at >= since,
        )
    )


async def latest_grade_for_update(db: AsyncSession, *, learner_id: uuid.UUID) -> Review | None:
    """The learner's latest review given here, its row locked."""
    return await db.scalar(
        select(Review)
        # Reviews imported from Anki are history, not a grade given here to take back.
        .where(Review.learner_id == learner_id, Review.scheduler.in_(SCHEDULERS))
        .order_by(Review.created_at.desc(), Review.id.desc())
        .limit(1)
        .with_for_update()
    )


async def learner_scheduler(db: AsyncSession, *, learner_id: uuid.UUID) -> str | None:
    return await db.scalar(select(Learner.scheduler).where(Learner.id == learner_id))


async def reviews_of_card(db: AsyncSession, *, card_id: uuid.UUID) -> list[Review]:
    """A card's reviews, oldest first."""
    rows = await db.scalars(
        select(Review)
        .where(Review.card_id == card_id)
        .order_by(Review.reviewed_at, Review.created_at)
    )
    return list(rows)


# Deriving schedules again, fitting FSRS --------------------------------------------


async def review_log_rows(
    db: AsyncSession, *, learner_id: uuid.UUID, card_ids: Sequence[uuid.UUID] | None = None
) -> Sequence[Row[uuid.UUID, datetime, date, int, int]]:
    """(card_id, reviewed_at, review_date, grade, rating) of the learner's reviews (of
    these cards), each card's in the order they were made."""
    statement = (
        select(Review.card_id, Review.reviewed_at, Review.review_date, Review.grade, Review.rating)
        .where(Review.learner_id == learner_id)
        .order_by(Review.card_id, Review.reviewed_at, Review.created_at, Review.id)
    )
    if card_ids is not None:
        statement = statement.where(Review.card_id.in_(card_ids))
    return (await db.execute(statement)).all()


async def scheduled_cards_for_update(db: AsyncSession, *, learner_id: uuid.UUID) -> list[Card]:
    """The learner's cards that have a schedule, their rows locked (in id order)."""
    return list(
        await db.scalars(
            select(Card)
            .where(Card.learner_id == learner_id, Card.due.is_not(None))
            .order_by(Card.id)
            .with_for_update()
        )
    )


async def latest_optimization(
    db: AsyncSession, *, learner_id: uuid.UUID
) -> FsrsOptimization | None:
    return await db.scalar(
        select(FsrsOptimization)
        .where(FsrsOptimization.learner_id == learner_id)
        .order_by(FsrsOptimization.created_at.desc())
        .limit(1)
    )


# Today's queue ---------------------------------------------------------------------

# The queue is fetched for every review screen, so it costs two statements whatever its
# size: one counts the groups and the new cards already started today, one reads the cards
# of all three groups with their tags. Each group has a partial index holding exactly its
# cards in queue order (QUEUE_INDEXES in models.py), so neither reads a card it does not
# return. Both are built once, with bound parameters: building a statement with
# subqueries costs more than running it.
_LEARNER = bindparam("learner_id", type_=Card.learner_id.type)
_TODAY = bindparam("today", type_=Card.due.type)

# 'active' is rendered into the SQL, not sent as a parameter: PostgreSQL's generic plan
# for a prepared statement could not tell that the partial indexes apply.
_ACTIVE_STATUS = bindparam(None, CardStatus.active, type_=Card.status.type, literal_execute=True)
_ACTIVE = (Card.learner_id == _LEARNER, Card.status == _ACTIVE_STATUS)
# The three groups, each in queue order: most overdue first, among equals the hardest
# (lowest easiness); new cards in the order they were made; the drill, longest waiting
# first. The conditions match the partial indexes (QUEUE_INDEXES) exactly.
_GROUPS: list[tuple[str, tuple[ColumnElement[bool], ...], tuple[Any, ...]]] = [
    (
        "due",
        (*_ACTIVE, Card.drill.is_(False), Card.last_reviewed_at.is_not(None), Card.due <= _TODAY),
        (Card.due, Card.easiness, Card.id),
    ),
    ("new", (*_ACTIVE, Card.last_reviewed_at.is_(None)), (Card.created_at, Card.id)),
    ("drill", (*_ACTIVE, Card.drill.is_(True)), (Card.last_reviewed_at, Card.id)),
]

_QUEUE_COUNTS = select(
    select(func.count())
    .where(Card.learner_id == _LEARNER, Card.started_on == _TODAY)
    .scalar_subquery()
    .label("started"),
    *(
        select(func.count()).where(*where).scalar_subquery().label(name)
        for name, where, _ in _GROUPS
    ),
)


def _queue_cards_statement() -> ExecutableReturnsRows:
    parts = []
    for position, (name, where, order) in enumerate(_GROUPS):
        ranked = (
            select(
                Card,
                joined_tags(Card.id),
                literal(position).label("queue_group"),
                func.row_number().over(order_by=order).label("queue_position"),
            )
            .where(*where)
            .order_by(*order)
            .limit(bindparam(f"{name}_room"))
            .subquery()
        )
        parts.append(select(ranked))
    combined = union_all(*parts).subquery()
    ordered = select(combined).order_by(combined.c.queue_group, combined.c.queue_position)
    cards = select(Card, combined.c.joined_tags).options(raiseload(Card.tag_rows))
    return cards.from_statement(ordered)


_QUEUE_CARDS = _queue_cards_statement()


async def queue_counts(
    db: AsyncSession, *, learner_id: uuid.UUID, today: date
) -> Row[int, int, int, int]:
    """(started, due, new, drill): new cards started today, and each group's cards."""
    params = {"learner_id": learner_id, "today": today}
    return (await db.execute(_QUEUE_COUNTS, params)).one()


async def queue_cards(
    db: AsyncSession, *, learner_id: uuid.UUID, today: date, rooms: Mapping[str, int]
) -> list[Card]:
    """The cards of the queue in order, with their tags: up to `rooms[group]` a group
    (groups "due", "new", "drill")."""
    params: dict[str, Any] = {"learner_id": learner_id, "today": today}
    for name, room in rooms.items():
        params[f"{name}_room"] = room
    cards = []
    for card, tags in await db.execute(_QUEUE_CARDS, params):
        set_joined_tags(card, tags)
        cards.append(card)
    return cards


# Stats -----------------------------------------------------------------------------


def _correct() -> ColumnElement[int]:
    return func.sum(case((Review.grade >= 3, 1), else_=0))


async def reviews_on(db: AsyncSession, *, learner_id: uuid.UUID, day: date) -> Row[int, int]:
    """(reviews, correct ones: NULL when none) of the learner's day."""
    return (
        await db.execute(
            select(func.count(Review.id), _correct()).where(
                Review.learner_id == learner_id, Review.review_date == day
            )
        )
    ).one()


async def cards_started_on(db: AsyncSession, *, learner_id: uuid.UUID, day: date) -> int | None:
    return await db.scalar(
        select(func.count(Card.id)).where(Card.learner_id == learner_id, Card.started_on == day)
    )


async def reviews_per_day(
    db: AsyncSession, *, learner_id: uuid.UUID, since: date
) -> dict[date, int]:
    rows = await db.execute(
        select(Review.review_date, func.count(Review.id))
        .where(Review.learner_id == learner_id, Review.review_date >= since)
        .group_by(Review.review_date)
    )
    return dict(rows.all())


async def reviews_out_of_drill_after(
    db: AsyncSession, *, learner_id: uuid.UUID, after: date
) -> Row[int, int]:
    """(reviews, correct ones: NULL when none) outside the drill on the days after `after`."""
    return (
        await db.execute(
            select(func.count(Review.id), _correct()).where(
                Review.learner_id == learner_id,
                Review.drill.is_(False),
                Review.review_date > after,
            )
        )
    ).one()


async def active_cards_due_per_day(
    db: AsyncSession, *, learner_id: uuid.UUID, after: date, through: date
) -> dict[date | None, int]:
    rows = await db.execute(
        select(Card.due, func.count(Card.id))
        .where(
            Card.learner_id == learner_id,
            Card.status == CardStatus.active,
            Card.due > after,
            Card.due <= through,
        )
        .group_by(Card.due)
    )
    return dict(rows.all())


async def cards_per_status(
    db: AsyncSession, *, learner_id: uuid.UUID
) -> Sequence[Row[CardStatus, int]]:
    rows = await db.execute(
        select(Card.status, func.count(Card.id))
        .where(Card.learner_id == learner_id)
        .group_by(Card.status)
    )
    return rows.all()
