"""What a turn reads and writes beyond its session: the paper it reads, the answer's end."""

from __future__ import annotations

import uuid
from collections.abc import Mapping

from sqlalchemy import bindparam, update
from sqlalchemy.ext.asyncio import AsyncConnection

from service.db import built, table_of
from service.sessions.models import Message

_MESSAGES = table_of(Message)
# How an answer ended: the SET clause is made of the values given to it.
_FINISH = update(_MESSAGES).where(_MESSAGES.c.id == bindparam("answer_id")).returning(*_MESSAGES.c)


async def mark_answer_ended(
    connection: AsyncConnection, *, answer_id: uuid.UUID, values: Mapping[str, object]
) -> Message:
    """The answer's row set to `values` in one Core update, which the ORM's flush cost
    several times over; the row as written (a Message in no session)."""
    statement = await connection.execute(_FINISH, {"answer_id": answer_id, **values})
    return built(Message, statement.one()._asdict())
