"""Answers nobody is writing any more: found and ended, so none stays `streaming`.

An answer (or critique) is `streaming` from the moment the learner's turn is stored
until the end of the answer is recorded. A process killed in between (SIGKILL, the
OOM killer, a lost host), or an end that could not be written, would leave it so for
ever: the web app showing "still being written", a retry refused. So each API process
marks the answers it is writing as alive every few seconds, and ends every answer
nobody has marked for a while: `failed`, code `server_stopped`, retryable; the
learner's own message was stored before the model was asked and stays.

This runs in every API process, at start and then on every beat, so an answer of a
replica that died is ended by the replicas still running. It compares times written by
different processes: their clocks must agree (NTP), as any shared database needs.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection
from datetime import datetime, timedelta

from sqlalchemy import update

from service.db import Database, table_of, utcnow
from service.inflight import InFlight
from service.tutor.models import Message, Status

log = logging.getLogger(__name__)

# How often a process says its answers are alive, and how long an answer may go
# unmarked before it is taken for abandoned (four beats missed: never a live one).
BEAT_SECONDS = 5.0
ABANDONED_AFTER = timedelta(seconds=20)
ABANDONED = (
    "server_stopped",
    "The server stopped while this answer was being written, and nothing of it was "
    "kept. Your message is saved: retry the answer.",
)

_MESSAGES = table_of(Message)


async def mark_alive(database: Database, message_ids: Collection[object], now: datetime) -> None:
    if not message_ids:
        return
    statement = (
        update(_MESSAGES)
        .where(_MESSAGES.c.id.in_(message_ids), _MESSAGES.c.status == Status.streaming)
        .values(updated_at=now)
    )
    async with database.engine.begin() as connection:
        await connection.execute(statement)


async def end_abandoned(database: Database, now: datetime) -> int:
    """End every answer nobody has marked alive for ABANDONED_AFTER; how many."""
    # An answer's text reaches the database only when it ends: an abandoned one is empty.
    code, message = ABANDONED
    statement = (
        update(_MESSAGES)
        .where(
            _MESSAGES.c.status == Status.streaming,
            _MESSAGES.c.updated_at < now - ABANDONED_AFTER,
        )
        .values(status=Status.failed, error_code=code, error_message=message, updated_at=now)
    )
    async with database.engine.begin() as connection:
        result = await connection.execute(statement)
    return result.rowcount


async def keep_watch(database: Database, in_flight: InFlight) -> None:
    """Forever, one beat at a time: this process's answers marked alive, everyone's
    abandoned answers ended. A database that does not answer is tried next beat."""
    while True:
        try:
            now = utcnow()
            await mark_alive(database, in_flight.being_written, now)
            if ended := await end_abandoned(database, now):
                log.warning("ended %d answer(s) abandoned by a stopped server", ended)
        except Exception as exc:
            log.warning("could not look for abandoned answers: %s", type(exc).__name__)
        await asyncio.sleep(BEAT_SECONDS)
