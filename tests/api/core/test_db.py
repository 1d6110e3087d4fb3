"""The database layer on both backends: UTC timestamps, SQLite pragmas, migrations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import select, text
from sqlalchemy.exc import StatementError
from sqlalchemy.ext.asyncio import AsyncSession

from service.db import Database
from service.learners.models import Learner
from service.migrations import alembic_config, upgrade_async
from service.models import Base
from service.sources.models import Source


async def test_timestamps_come_back_aware_and_in_utc(session: AsyncSession) -> None:
    berlin_noon = datetime(2026, 3, 29, 12, 0, 0, 123456, tzinfo=timezone(timedelta(hours=2)))
    learner = Learner(name="tz", created_at=berlin_noon)
    session.add(learner)
    await session.commit()
    session.expunge_all()

    stored = await session.scalar(select(Learner.created_at).where(Learner.name == "tz"))
    assert stored == berlin_noon
    assert stored is not None
    assert stored.tzinfo is not None
    assert stored.utcoffset() == timedelta(0)
    assert stored.hour == 10


async def test_ordering_by_time_is_chronological_across_offsets(session: AsyncSession) -> None:
    learner = Learner(name="order")
    session.add(learner)
    await session.flush()
    base = datetime(2026, 1, 1, 12, tzinfo=UTC)
    # 13:00+02:00 is 11:00 UTC: earlier than 11:30Z although it reads later.
    for title, at in [
        ("second", base - timedelta(minutes=30)),
        ("first", datetime(2026, 1, 1, 13, tzinfo=timezone(timedelta(hours=2)))),
        ("third", base),
    ]:
        session.add(
            Source(learner_id=learner.id, title=title, kind="paper", created_at=at, updated_at=at)
        )
    await session.commit()
    titles = await session.scalars(select(Source.title).order_by(Source.created_at))
    assert list(titles) == ["first", "second", "third"]


async def test_naive_timestamps_are_refused(session: AsyncSession) -> None:
    session.add(Learner(name="naive", created_at=datetime(2026, 1, 1, 12)))
    with pytest.raises(StatementError, match="naive datetime"):
        await session.commit()


async def test_foreign_keys_are_enforced(session: AsyncSession) -> None:
    import uuid

    from sqlalchemy.exc import IntegrityError

    session.add(Source(learner_id=uuid.uuid4(), title="orphan", kind="paper"))
    with pytest.raises(IntegrityError):
        await session.commit()


async def test_sqlite_runs_in_wal_mode(tmp_path: Path) -> None:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'nested' / 'tutor.db'}")
    try:
        async with database.engine.connect() as connection:
            mode = await connection.scalar(text("PRAGMA journal_mode"))
            foreign_keys = await connection.scalar(text("PRAGMA foreign_keys"))
    finally:
        await database.dispose()
    assert (mode, foreign_keys) == ("wal", 1)


async def test_migrations_match_the_models(database_url: str) -> None:
    """A model change without a migration fails here, on both backends."""
    database = Database(database_url)
    try:
        async with database.engine.connect() as connection:
            differences = await connection.run_sync(
                lambda sync: compare_metadata(
                    MigrationContext.configure(sync, opts={"compare_type": True}), Base.metadata
                )
            )
    finally:
        await database.dispose()
    assert differences == []


async def test_migrating_twice_changes_nothing(database_url: str) -> None:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    await upgrade_async(database_url)
    database = Database(database_url)
    try:
        async with database.engine.connect() as connection:
            version = await connection.scalar(text("SELECT version_num FROM alembic_version"))
    finally:
        await database.dispose()
    assert version == head


async def test_every_migration_downgrades_and_upgrades_again(database_url: str) -> None:
    """Each downgrade undoes its upgrade, on both backends (CHECK changes included)."""
    from alembic import command

    def roundtrip(connection) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.downgrade(config, "base")
        command.upgrade(config, "head")

    database = Database(database_url)
    try:
        async with database.engine.begin() as connection:
            await connection.run_sync(roundtrip)
        async with database.engine.connect() as connection:
            differences = await connection.run_sync(
                lambda sync: compare_metadata(MigrationContext.configure(sync), Base.metadata)
            )
    finally:
        await database.dispose()
    assert differences == []


async def test_sessions_from_before_prompt_nonces_each_get_their_own(database_url: str) -> None:
    from alembic import command

    from service.learners.service import create_learner
    from service.sessions.models import TutorSession

    database = Database(database_url)
    try:
        async with database.sessionmaker() as db:
            learner = (await create_learner(db, name="ada", timezone="UTC")).learner
            db.add_all([TutorSession(learner_id=learner.id, messages=[]) for _ in range(3)])
            await db.commit()

        def back_and_forth(connection) -> None:
            config = alembic_config()
            config.attributes["connection"] = connection
            command.downgrade(config, "0008")
            command.upgrade(config, "head")

        async with database.engine.begin() as connection:
            await connection.run_sync(back_and_forth)
        async with database.engine.connect() as connection:
            nonces = (await connection.scalars(text("SELECT prompt_nonce FROM sessions"))).all()
    finally:
        await database.dispose()
    assert len(set(nonces)) == 3
    assert all(len(nonce) == 12 and int(nonce, 16) >= 0 for nonce in nonces)


async def test_fsrs_columns_arrive_without_touching_a_row_already_there(database_url: str) -> None:
    """0015 adds columns to the tables everything refers to (learners, cards, reviews):
    on SQLite a rebuilt table would take every referring row with it (foreign keys on)."""
    from alembic import command

    from helpers import reviewed_card
    from service.learners.service import create_learner

    database = Database(database_url)
    try:
        async with database.sessionmaker() as db:
            learner = (await create_learner(db, name="ada", timezone="UTC")).learner
            card, reviews = reviewed_card(
                learner.id, [datetime(2026, 3, d).date() for d in (1, 2, 9)]
            )
            card.tags = ["gqa"]
            db.add(card)
            await db.flush()
            for review, grade in zip(reviews, (2, 3, 5), strict=True):
                review.grade = grade
            db.add_all(reviews)
            await db.commit()

        def back_and_forth(connection) -> None:
            config = alembic_config()
            config.attributes["connection"] = connection
            command.downgrade(config, "0014")
            command.upgrade(config, "head")

        async with database.engine.begin() as connection:
            await connection.run_sync(back_and_forth)
        async with database.engine.connect() as connection:
            counts = {
                table: (await connection.scalar(text(f"SELECT count(*) FROM {table}")))  # noqa: S608
                for table in ("learners", "cards", "card_tags", "reviews")
            }
            ratings = (
                await connection.execute(
                    text("SELECT grade, rating, scheduler FROM reviews ORDER BY grade")
                )
            ).all()
            scheduler = await connection.scalar(text("SELECT scheduler FROM learners"))
    finally:
        await database.dispose()
    assert counts == {"learners": 1, "cards": 1, "card_tags": 1, "reviews": 3}
    assert [tuple(row) for row in ratings] == [(2, 1, "sm2"), (3, 2, "sm2"), (5, 4, "sm2")]
    assert scheduler == "sm2"
