"""`tutor export` of a learner, then `tutor learner delete`: no row of theirs is left in
any table, on both databases, and every other learner's rows are as they were."""

from __future__ import annotations

import asyncio
import zipfile
from pathlib import Path

import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from typer.testing import CliRunner

from service.cli import app as cli
from service.models import Base


@pytest.fixture
def tutor(database_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """`tutor ARGS...` in-process against this test's database, off the test's event loop
    (the command runs one of its own)."""
    monkeypatch.setenv("TUTOR_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("TUTOR_DATABASE_URL", database_url)
    runner = CliRunner()

    async def run(*args: str, answer: str | None = None):
        return await asyncio.to_thread(runner.invoke, cli, list(args), input=answer)

    return run


async def test_export_then_delete_leaves_no_row_of_theirs(
    app: FastAPI, make_learner, fill, rows_of, every_row, tutor, tmp_path: Path
) -> None:
    ada = await make_learner("ada")
    grace = await make_learner("grace")
    async with app.state.database.sessionmaker() as db:
        await fill(db, ada.learner.id, words="Attention heads")
        await fill(db, grace.learner.id, words="Backprop through time")
    engine = app.state.database.engine
    async with engine.connect() as connection:
        before = await every_row(connection)
        adas = await rows_of(connection, ada.learner.id)
    # The walk finds a row of hers in every table: the test covers the whole schema.
    assert [name for name, rows in adas.items() if not rows] == []

    out = tmp_path / "ada.zip"
    exported = await tutor("export", "--learner", "ada", "--out", str(out))
    assert exported.exit_code == 0, exported.output
    assert zipfile.ZipFile(out).testzip() is None

    kept = await tutor("learner", "delete", "ada", answer="n\n")
    assert kept.exit_code == 1
    assert "Delete the learner 'ada' (1 sources, 1 sessions, 1 cards, 1 reviews)" in kept.stdout
    async with engine.connect() as connection:
        assert await every_row(connection) == before

    deleted = await tutor("learner", "delete", "ada", "--yes")
    assert deleted.exit_code == 0, deleted.output
    assert deleted.stdout == "Deleted the learner 'ada' and everything of theirs.\n"

    async with engine.connect() as connection:
        after = await every_row(connection)
        left = await rows_of(connection, ada.learner.id)
        with_her_id = {
            table.name: await connection.scalar(
                select(func.count()).where(table.c.learner_id == ada.learner.id)
            )
            for table in Base.metadata.sorted_tables
            if "learner_id" in table.c
        }
    assert all(not rows for rows in left.values()), left
    assert set(with_her_id.values()) == {0}, with_her_id
    # Everything else exactly as it was: Grace's rows, none of them set to null.
    assert after == {name: before[name] - adas[name] for name in before}


async def test_deleting_the_last_learner_says_what_happens_next(
    app: FastAPI, make_learner, fill, every_row, tutor
) -> None:
    ada = await make_learner("ada")
    async with app.state.database.sessionmaker() as db:
        await fill(db, ada.learner.id, words="Layer norm")

    deleted = await tutor("learner", "delete", "ada", "-y")

    assert deleted.exit_code == 0, deleted.output
    assert "No learners are left: the next `tutor serve` creates 'me'" in deleted.stdout
    async with app.state.database.engine.connect() as connection:
        assert {
            name: sum(rows.values()) for name, rows in (await every_row(connection)).items()
        } == {table.name: 0 for table in Base.metadata.sorted_tables}


async def test_an_unknown_learner_is_one_line(app: FastAPI, tutor) -> None:
    missing = await tutor("learner", "delete", "nobody", "--yes")
    assert (missing.exit_code, missing.stderr) == (1, "error: No learner named 'nobody'.\n")
