"""Cursor pagination, newest first: stable under inserts, cheap on large tables.

A cursor is opaque to clients: base64 of the (created_at, id) of the last item seen.
The next page is every row strictly after that pair in (created_at DESC, id DESC)
order, which an index on (learner_id, created_at, id) answers directly.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel
from sqlalchemy import Select, and_, or_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from service.errors import InvalidRequest
from service.timestamps import check_moment

MAX_PAGE_SIZE = 200

Limit = Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE, description="Items per page.")]
CursorParam = Annotated[
    str | None, Query(description="`next_cursor` from the previous page.", max_length=200)
]

ItemT = TypeVar("ItemT")
RowT = TypeVar("RowT")


class Page(BaseModel, Generic[ItemT]):
    items: list[ItemT]
    next_cursor: str | None


class InvalidCursor(InvalidRequest):
    code = "invalid_cursor"

    def __init__(self) -> None:
        super().__init__("The cursor is not one this API handed out; start again without it.")


def encode_cursor(created_at: datetime, row_id: uuid.UUID) -> str:
    raw = json.dumps([created_at.isoformat(), row_id.hex]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        created, row_id = json.loads(raw)
        # UUID() fails on a number or a list with AttributeError, not a ValueError.
        if not isinstance(created, str) or not isinstance(row_id, str):
            raise TypeError("a cursor holds two strings")
        # A timestamp this API never handed out (year 9999 with an offset, say) would
        # overflow when shifted to UTC for the query.
        created_at = check_moment(datetime.fromisoformat(created))
        return created_at, uuid.UUID(row_id)
    except (binascii.Error, UnicodeDecodeError, TypeError, ValueError) as exc:
        raise InvalidCursor() from exc


async def newest_first(
    session: AsyncSession,
    statement: Select[RowT],
    *,
    created_at: InstrumentedAttribute[datetime],
    row_id: InstrumentedAttribute[uuid.UUID],
    cursor: str | None,
    limit: int,
) -> tuple[Sequence[RowT], str | None]:
    """One page of `statement`'s rows and the cursor for the next page, if any."""
    if cursor is not None:
        after_created, after_id = decode_cursor(cursor)
        # Spelled out rather than a row-value comparison so each bound value takes its
        # column's type (UTC handling on SQLite, UUID storage on both backends).
        statement = statement.where(
            or_(
                created_at < after_created,
                and_(created_at == after_created, row_id < after_id),
            )
        )
    statement = statement.order_by(created_at.desc(), row_id.desc()).limit(limit + 1)
    rows = list((await session.scalars(statement)).all())
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    last: Any = rows[-1]
    return rows, encode_cursor(getattr(last, created_at.key), getattr(last, row_id.key))
