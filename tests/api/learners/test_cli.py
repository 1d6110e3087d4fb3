"""The `tutor` command: learners and keys, migrate, version, and bad input as one line."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from service import __version__
from service.cli import app

KEY = re.compile(r"tutor_[A-Za-z0-9]{40}")


@pytest.fixture
def tutor(database_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path):
    """Runs `tutor ARGS...` in-process against this test's database."""
    monkeypatch.setenv("TUTOR_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("TUTOR_DATABASE_URL", database_url)
    runner = CliRunner()

    def run(*args: str):
        return runner.invoke(app, list(args))

    return run


def test_learner_add_prints_a_key_once(tutor) -> None:
    result = tutor("learner", "add", "ada", "--timezone", "Europe/Berlin")
    assert result.exit_code == 0, result.output
    assert len(KEY.findall(result.stdout)) == 1

    listed = tutor("learner", "list")
    assert listed.exit_code == 0
    assert "ada  timezone=Europe/Berlin  active_keys=1" in listed.stdout
    assert KEY.search(listed.stdout) is None


def test_a_taken_name_is_one_line_and_exit_1(tutor) -> None:
    assert tutor("learner", "add", "ada").exit_code == 0
    again = tutor("learner", "add", "ada")
    assert again.exit_code == 1
    assert again.stderr == "error: A learner named 'ada' already exists.\n"


def test_the_operator_renames_a_learner(tutor) -> None:
    assert tutor("learner", "add", "ada").exit_code == 0
    assert tutor("learner", "add", "grace").exit_code == 0
    taken = tutor("learner", "rename", "ada", "grace")
    assert (taken.exit_code, taken.stderr) == (
        1,
        "error: A learner named 'grace' already exists.\n",
    )
    renamed = tutor("learner", "rename", "ada", "Ada Lovelace")
    assert (renamed.exit_code, renamed.stdout) == (0, "Renamed 'ada' to 'Ada Lovelace'.\n")
    assert "Ada Lovelace  timezone=UTC" in tutor("learner", "list").stdout


def test_an_unknown_timezone_is_refused(tutor) -> None:
    result = tutor("learner", "add", "ada", "--timezone", "Mars/Base")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: unknown IANA timezone 'Mars/Base'")
    assert result.stderr.count("\n") == 1
    assert tutor("learner", "list").stdout.startswith("No learners yet")


def test_key_issue_list_and_revoke(tutor) -> None:
    first = KEY.search(tutor("learner", "add", "ada").stdout)
    second_run = tutor("learner", "key", "ada")
    assert second_run.exit_code == 0
    second = KEY.search(second_run.stdout)
    assert first
    assert second
    assert first.group() != second.group()

    listed = tutor("learner", "list").stdout
    prefix = first.group()[:14]
    assert f"    {prefix}  active" in listed
    assert "active_keys=2" in listed

    revoked = tutor("learner", "revoke", prefix)
    assert revoked.exit_code == 0
    listed = tutor("learner", "list").stdout
    assert f"    {prefix}  revoked" in listed
    assert "active_keys=1" in listed


def test_unknown_names_and_prefixes(tutor) -> None:
    missing = tutor("learner", "key", "nobody")
    assert (missing.exit_code, missing.stderr) == (1, "error: No learner named 'nobody'.\n")
    unknown = tutor("learner", "revoke", "tutor_zzzzzzzz")
    assert unknown.exit_code == 1
    assert unknown.stderr == "error: No API key starts with 'tutor_zzzzzzzz'.\n"


def test_migrate_says_where(tutor, database_url: str) -> None:
    result = tutor("migrate")
    assert result.exit_code == 0
    assert result.stdout.startswith("Database is up to date: ")


def test_version(tutor) -> None:
    assert tutor("version").stdout == f"{__version__}\n"
    flag = tutor("--version")
    assert (flag.exit_code, flag.stdout) == (0, f"{__version__}\n")


def test_bad_setting_stops_the_command_with_one_line(
    tutor, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TUTOR_PORT", "eighty")
    result = tutor("learner", "list")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: TUTOR_PORT: ")
    assert result.stderr.count("\n") == 1


def test_unreachable_database_is_one_line(tutor, monkeypatch: pytest.MonkeyPatch) -> None:
    from helpers import free_port

    monkeypatch.setenv(
        "TUTOR_DATABASE_URL", f"postgresql://tutor:hunter2@127.0.0.1:{free_port()}/tutor"
    )
    result = tutor("learner", "list")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: cannot use the database at postgresql+asyncpg://")
    assert "hunter2" not in result.stderr
    assert result.stderr.count("\n") == 1
