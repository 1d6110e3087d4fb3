"""Every statement the learners domain runs: learners and their API keys."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from service.db import built, table_of
from service.learners.models import ApiKey, Learner

# Every request runs these, so they are built once (building a statement costs more
# than running it), on the tables: loading the key and the learner as ORM objects cost
# about a twentieth of a whole request.
_KEYS, _LEARNERS = table_of(ApiKey), table_of(Learner)
_KEY_AND_LEARNER = (
    select(_KEYS.c.id, _KEYS.c.revoked_at, _KEYS.c.last_used_at, _LEARNERS)
    .join(_LEARNERS, _KEYS.c.learner_id == _LEARNERS.c.id)
    .where(_KEYS.c.key_hash == bindparam("key_hash"))
)
_LEARNER_COLUMNS = tuple(_LEARNERS.columns.keys())
_MARK_USED = (
    update(_KEYS).where(_KEYS.c.id == bindparam("key_id")).values(last_used_at=bindparam("now"))
)


class KeyOwner(NamedTuple):
    """An API key found by its hash, and its learner: read-only, in no session."""

    key_id: uuid.UUID
    revoked_at: datetime | None
    last_used_at: datetime | None
    learner: Learner


async def key_owner(connection: AsyncConnection, *, key_hash: str) -> KeyOwner | None:
    found = (await connection.execute(_KEY_AND_LEARNER, {"key_hash": key_hash})).first()
    if found is None:
        return None
    key_id, revoked_at, last_used_at, *learner = found
    return KeyOwner(
        key_id,
        revoked_at,
        last_used_at,
        built(Learner, dict(zip(_LEARNER_COLUMNS, learner, strict=True))),
    )


async def mark_key_used(connection: AsyncConnection, *, key_id: uuid.UUID, now: datetime) -> None:
    await connection.execute(_MARK_USED, {"key_id": key_id, "now": now})


async def learner_id_named(session: AsyncSession, *, name: str) -> uuid.UUID | None:
    return await session.scalar(select(Learner.id).where(Learner.name == name))


async def learner_named(session: AsyncSession, *, name: str) -> Learner | None:
    return await session.scalar(select(Learner).where(Learner.name == name))


async def any_learner(session: AsyncSession) -> bool:
    return await session.scalar(select(Learner.id).limit(1)) is not None


async def learner_ids(session: AsyncSession) -> list[uuid.UUID]:
    """Every learner's id, for the background jobs that visit each in turn."""
    return list(await session.scalars(select(Learner.id)))


async def learners_with_active_keys(session: AsyncSession) -> list[tuple[Learner, int]]:
    """Every learner, oldest first, with how many of their keys are not revoked."""
    active = (
        select(func.count(ApiKey.id))
        .where(ApiKey.learner_id == Learner.id, ApiKey.revoked_at.is_(None))
        .scalar_subquery()
    )
    rows = await session.execute(select(Learner, active).order_by(Learner.created_at))
    return [(learner, count) for learner, count in rows]


async def api_key_with_prefix(session: AsyncSession, *, prefix: str) -> ApiKey | None:
    return await session.scalar(select(ApiKey).where(ApiKey.prefix == prefix))


async def keys_of(session: AsyncSession, *, learner_id: uuid.UUID) -> list[ApiKey]:
    result = await session.scalars(
        select(ApiKey).where(ApiKey.learner_id == learner_id).order_by(ApiKey.created_at)
    )
    return list(result)
