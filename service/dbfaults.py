"""Database faults that pass: what they are, and one short unit of work tried again.

A PostgreSQL backend terminated (a failover, a restart, an operator's
`pg_terminate_backend`), a serialization failure or deadlock, a SQLite file held by
another process's writer past the busy timeout, a pool with no free connection: none of
these is the request's fault, and the same request a moment later succeeds. Clients get
503 with Retry-After for them (service/errors.py), never 500; the few writes that must
not be lost (an answer's end, a model call's log row) are tried again here.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Awaitable, Callable, Sequence
from enum import Enum
from typing import TypeVar

from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncSession

log = logging.getLogger(__name__)

_Result = TypeVar("_Result")

# SQLSTATE classes and codes that mean "the connection or the server went away" or "run
# the transaction again": 08 connection exception, 57P01-03 admin/crash shutdown or
# cannot connect now, 40001 serialization failure, 40P01 deadlock, 53300 too many
# connections.
_TRANSIENT_SQLSTATE_CLASSES = ("08",)
_TRANSIENT_SQLSTATES = frozenset({"57P01", "57P02", "57P03", "40001", "40P01", "53300"})
_ATTEMPTS = 3
_FIRST_PAUSE_SECONDS = 0.2


class Fault(Enum):
    """A passing fault: (error code, what the client is told, seconds to wait)."""

    busy = (
        "database_busy",
        "The database is busy (another writer holds it, or every connection is in use).",
        1,
    )
    unavailable = (
        "database_unavailable",
        "The connection to the database was lost or the server is restarting.",
        2,
    )


def _sqlstate(exc: DBAPIError) -> str | None:
    code = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
    return code if isinstance(code, str) else None


def passing_fault(exc: BaseException) -> Fault | None:
    """The kind of passing fault `exc` is, or None for any other error."""
    if isinstance(exc, PoolTimeout):
        return Fault.busy
    if not isinstance(exc, DBAPIError):
        return None
    if isinstance(exc.orig, sqlite3.OperationalError) and "locked" in str(exc.orig):
        return Fault.busy
    if exc.connection_invalidated:
        return Fault.unavailable
    sqlstate = _sqlstate(exc)
    if sqlstate and (
        sqlstate in _TRANSIENT_SQLSTATES or sqlstate[:2] in _TRANSIENT_SQLSTATE_CLASSES
    ):
        return Fault.unavailable
    # asyncpg reports a connection closed under it without a SQLSTATE.
    if "connection is closed" in str(exc.orig) or "connection was closed" in str(exc.orig):
        return Fault.unavailable
    return None


async def retried(work: Callable[[], Awaitable[_Result]], *, what: str) -> _Result:
    """`work` (one whole transaction), tried again after a passing fault, three tries in
    all within about a second; any other error, or the third fault, is raised."""
    for attempt in range(1, _ATTEMPTS + 1):
        try:
            return await work()
        except Exception as exc:
            if attempt == _ATTEMPTS or passing_fault(exc) is None:
                raise
            log.warning(
                "%s: %s; trying again (%d of %d)", what, type(exc).__name__, attempt, _ATTEMPTS
            )
            await asyncio.sleep(_FIRST_PAUSE_SECONDS * 2 ** (attempt - 1))
    raise AssertionError("unreachable: the last attempt returns or raises")


async def commit_retried(
    db: AsyncSession, apply: Callable[[], None], *, what: str, reload: Sequence[object] = ()
) -> None:
    """Make the changes `apply` makes to `db`'s objects and commit them, tried again
    after a passing fault: rolled back, the objects in `reload` read again, the changes
    made again (a rollback forgets them)."""
    tries = 0

    async def attempt() -> None:
        nonlocal tries
        tries += 1
        if tries > 1:
            for instance in reload:
                await db.refresh(instance)
        apply()
        try:
            await db.commit()
        except Exception:
            await db.rollback()
            raise

    await retried(attempt, what=what)
