"""GET /v1/export/all and `tutor export`: every row a learner owns, as a zip of JSON (a
file per kind) and an Anki package, and nothing of anyone else's."""

from __future__ import annotations

import asyncio
import io
import json
import re
import tempfile
import zipfile
from pathlib import Path

import pytest
from fastapi import FastAPI
from typer.testing import CliRunner

from helpers import bearer, error_of
from service.cli import app as cli
from service.learners.auth import hash_key
from service.models import Base

# Where each table's rows go.
FILES = {
    "sources": "sources.json",
    "papers": "papers.json",
    "sessions": "sessions.json",
    "messages": "messages.json",
    "critiques": "critiques.json",
    "check_answers": "check_answers.json",
    "prerequisite_paths": "prerequisite_paths.json",
    "cards": "cards.json",
    "reviews": "reviews.json",
    "study_log": "study_log.json",
    "knowledge_marks": "knowledge_marks.json",
    "fsrs_optimizations": "fsrs_optimizations.json",
    "llm_calls": "model_calls.json",
    "job_runs": "background_jobs.json",
}
# Tables whose rows are part of another's: the learner and their keys, a card's tags, what
# was read from a paper, the passage of a paper a message or a card came from.
FOLDED = {
    "learners",
    "api_keys",
    "card_tags",
    "paper_sections",
    "paper_blocks",
    "paper_symbols",
    "paper_passages",
    "card_passages",
}
OTHER_FILES = {"learner.json", "manifest.json", "cards.apkg"}
NAME = re.compile(r'attachment; filename="tutor-export-ada-\d{4}-\d{2}-\d{2}\.zip"')


@pytest.fixture
async def two_learners(app: FastAPI, make_learner, fill):
    ada = await make_learner("ada")
    grace = await make_learner("grace")
    async with app.state.database.sessionmaker() as db:
        await fill(db, ada.learner.id, words="Attention heads")
        await fill(db, grace.learner.id, words="Backprop through time")
    return ada, grace


async def test_the_archive_holds_every_row_of_theirs_and_nothing_else(
    app: FastAPI, client, two_learners, rows_of
) -> None:
    ada, grace = two_learners

    response = await client.get("/v1/export/all", headers=bearer(ada.key))

    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/zip"
    assert NAME.fullmatch(response.headers["content-disposition"])
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    assert set(archive.namelist()) == set(FILES.values()) | OTHER_FILES
    manifest = json.loads(archive.read("manifest.json"))
    # Every table is exported, folded into another's file, or said to be left out.
    left_out = {name for name in manifest["left_out"] if "." not in name}
    assert set(Base.metadata.tables) == set(FILES) | FOLDED | left_out

    async with app.state.database.engine.connect() as connection:
        owned = await rows_of(connection, ada.learner.id)
    for table, file in FILES.items():
        exported = json.loads(archive.read(file))
        assert sorted(map(_identity, exported)) == sorted(
            _identity(json.loads(row)) for row in owned[table].elements()
        ), file
        assert manifest["files"][file]["rows"] == len(exported) > 0

    (card,) = json.loads(archive.read("cards.json"))
    assert (card["front"], card["tags"]) == (
        "What is Attention heads?",
        ["archive-test", "attention"],
    )
    profile = json.loads(archive.read("learner.json"))
    assert (profile["name"], profile["id"]) == ("ada", str(ada.learner.id))
    assert [key["prefix"] for key in profile["api_keys"]] == [
        ada.key[: len(key["prefix"])] for key in profile["api_keys"]
    ]
    texts = [archive.read(name).decode() for name in archive.namelist() if name.endswith(".json")]
    assert "key_hash" not in profile["api_keys"][0]
    for text in texts:
        assert hash_key(ada.key) not in text
        assert "Backprop" not in text
        assert str(grace.learner.id) not in text


async def test_the_anki_package_in_it_imports(client, two_learners, make_learner) -> None:
    ada, _grace = two_learners
    archive = zipfile.ZipFile(
        io.BytesIO((await client.get("/v1/export/all", headers=bearer(ada.key))).content)
    )
    carol = await make_learner("carol")

    imported = await client.post(
        "/v1/import/apkg",
        headers=bearer(carol.key),
        files={"file": ("cards.apkg", archive.read("cards.apkg"), "application/octet-stream")},
    )

    assert imported.status_code == 200, imported.text
    assert (imported.json()["cards_created"], imported.json()["reviews_added"]) == (1, 1)


async def test_the_file_is_removed_once_sent(
    client, two_learners, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    ada, _grace = two_learners
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))

    response = await client.get("/v1/export/all", headers=bearer(ada.key))

    assert response.status_code == 200
    assert list(scratch.iterdir()) == []


async def test_no_key_no_archive(client) -> None:
    response = await client.get("/v1/export/all")
    assert response.status_code == 401
    assert error_of(response)["code"] == "unauthorized"


async def test_tutor_export_writes_the_same_archive(
    client, two_learners, database_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    ada, _grace = two_learners
    monkeypatch.setenv("TUTOR_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("TUTOR_DATABASE_URL", database_url)

    def tutor(*args: str):
        return asyncio.to_thread(CliRunner().invoke, cli, list(args))

    written = await tutor("export", "--learner", "ada")

    assert written.exit_code == 0, written.output
    (path,) = _here("tutor-export-ada-*.zip")  # the tests run in tmp_path
    assert (
        written.stdout
        == f"Wrote {path}: 17 rows of 'ada' as JSON, and their cards as an Anki package.\n"
    )
    downloaded = zipfile.ZipFile(
        io.BytesIO((await client.get("/v1/export/all", headers=bearer(ada.key))).content)
    )
    archive = zipfile.ZipFile(path)
    assert archive.namelist() == downloaded.namelist()
    for name in FILES.values():
        assert archive.read(name) == downloaded.read(name)

    again = await tutor("export", "--learner", "ada")
    assert again.exit_code == 1
    assert (
        again.stderr == f"error: {path} exists: name another file, or add --force to replace it\n"
    )
    assert (await tutor("export", "--learner", "ada", "--force")).exit_code == 0
    unknown = await tutor("export", "--learner", "nobody", "--out", "x.zip")
    assert (unknown.exit_code, unknown.stderr) == (1, "error: No learner named 'nobody'.\n")
    assert _here("x.zip") == []


def _here(pattern: str) -> list[Path]:
    return sorted(Path().glob(pattern))


def _identity(row: dict) -> object:
    # A knowledge mark is keyed by what it corrects; every other row has an id.
    return row.get("id") or (row["subject"], row["key"])
