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

from service.db import Database, utcnow
from service.inflight import InFlight
from service.sessions.queries import end_answers_unmarked_since, mark_answers_alive

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


async def mark_alive(database: Database, message_ids: Collection[object], now: datetime) -> None:
    if not message_ids:
        return
    async with database.engine.begin() as connection:
        await mark_answers_alive(connection, message_ids=message_ids, now=now)


async def end_abandoned(database: Database, now: datetime) -> int:
    """End every answer nobody has marked alive for ABANDONED_AFTER; how many."""
    # An answer's text reaches the database only when it ends: an abandoned one is empty.
    code, message = ABANDONED
    async with database.engine.begin() as connection:
        return await end_answers_unmarked_since(
            connection, since=now - ABANDONED_AFTER, now=now, code=code, message=message
        )


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
