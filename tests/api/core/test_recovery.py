"""Finding abandoned answers: an answer marked alive by the process writing it is left
to it, however long it runs; one nobody marks any more is ended, retryable.

The whole story, with a real server killed and restarted, is tests/system/faults/test_sigkill.py.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from service.db import Database, utcnow
from service.inflight import InFlight
from service.learners.service import IssuedKey
from service.sessions.models import Kind, Message, MessageStatus, Role, TutorSession
from service.sessions.recovery import ABANDONED_AFTER, end_abandoned, mark_alive


async def _answers_started(
    session: AsyncSession, learner: IssuedKey, when: datetime
) -> list[Message]:
    tutor_session = TutorSession(learner_id=learner.learner.id)
    answers = [
        Message(
            position=position,
            role=Role.tutor,
            kind=Kind.explanation,
            status=MessageStatus.streaming,
            updated_at=when,
        )
        for position in range(2)
    ]
    tutor_session.messages.extend(answers)
    session.add(tutor_session)
    await session.commit()
    return answers


async def _status(session: AsyncSession, answer: Message) -> tuple[MessageStatus, str | None]:
    await session.refresh(answer)
    return answer.status, answer.error_code


async def test_an_answer_marked_alive_is_left_and_a_forgotten_one_ended(
    app: FastAPI, session: AsyncSession, learner: IssuedKey
) -> None:
    # The app's own watch beats meanwhile: it may be the one that marks and ends.
    database: Database = app.state.database
    in_flight: InFlight = app.state.in_flight
    alive, forgotten = await _answers_started(session, learner, utcnow() - 3 * ABANDONED_AFTER)
    now = utcnow()
    with in_flight.writing(alive.id):
        await mark_alive(database, in_flight.being_written, now)
        await end_abandoned(database, now)
    assert await _status(session, alive) == (MessageStatus.streaming, None)
    assert await _status(session, forgotten) == (MessageStatus.failed, "server_stopped")
    # Once nobody marks it either, it is ended too.
    assert await end_abandoned(database, now + ABANDONED_AFTER + timedelta(seconds=1)) == 1
    assert await _status(session, alive) == (MessageStatus.failed, "server_stopped")


async def test_a_young_answer_is_not_taken_for_abandoned(
    app: FastAPI, session: AsyncSession, learner: IssuedKey
) -> None:
    database: Database = app.state.database
    started = utcnow()
    answers = await _answers_started(session, learner, started)
    assert await end_abandoned(database, started + ABANDONED_AFTER - timedelta(seconds=1)) == 0
    assert [await _status(session, answer) for answer in answers] == [
        (MessageStatus.streaming, None)
    ] * 2
