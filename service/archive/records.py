"""A row as JSON: every column of a mapped object, in values JSON holds."""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime
from typing import Any

from service.db import Base


def record(row: Base, *, leave_out: frozenset[str] = frozenset()) -> dict[str, Any]:
    """Every column of `row` under its attribute's name (the schema's own names, so a
    reader can map the archive onto the tables), but those in `leave_out`."""
    return {
        column.key: json_value(getattr(row, column.key))
        for column in row.__mapper__.column_attrs
        if column.key not in leave_out
    }


def json_value(value: Any) -> Any:
    """Times as ISO 8601 (UTC, with the offset), days as dates, ids as text, enums by value;
    JSON columns are JSON already."""
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value
