"""The `tutor` command: learners and keys (as text and as JSON), migrate, version, shell
completion, the OpenAPI schema, and bad input as one line."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from service import __version__
from service.app import create_app
from service.cli import app
from service.config import Settings

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


def test_learner_list_as_json_has_stable_keys(tutor) -> None:
    assert tutor("learner", "list", "--json").stdout == "[]\n"
    first = KEY.search(tutor("learner", "add", "ada", "--timezone", "Europe/Berlin").stdout)
    assert first
    tutor("learner", "add", "grace")
    tutor("learner", "revoke", first.group()[:14])

    listed = tutor("learner", "list", "--json")

    assert listed.exit_code == 0, listed.output
    ada, grace = json.loads(listed.stdout)
    assert set(ada) == {"name", "id", "timezone", "created_at", "active_keys", "keys"}
    assert (ada["name"], ada["timezone"], ada["active_keys"]) == ("ada", "Europe/Berlin", 0)
    (key,) = ada["keys"]
    assert set(key) == {"prefix", "state", "created_at", "last_used_at", "revoked_at"}
    assert (key["prefix"], key["state"], key["last_used_at"]) == (
        first.group()[:14],
        "revoked",
        None,
    )
    assert datetime.fromisoformat(key["revoked_at"]).tzinfo is not None
    assert (grace["name"], grace["active_keys"], grace["keys"][0]["state"]) == (
        "grace",
        1,
        "active",
    )


def test_learner_delete_asks_first(tutor) -> None:
    tutor("learner", "add", "ada")
    tutor("learner", "add", "grace")

    kept = CliRunner().invoke(app, ["learner", "delete", "ada"], input="n\n")
    assert kept.exit_code == 1
    assert kept.stdout.startswith("Delete the learner 'ada' (0 sources, 0 sessions, 0 cards,")
    assert [
        learner["name"] for learner in json.loads(tutor("learner", "list", "--json").stdout)
    ] == [
        "ada",
        "grace",
    ]

    gone = CliRunner().invoke(app, ["learner", "delete", "ada"], input="y\n")
    assert gone.exit_code == 0, gone.output
    assert gone.stdout.endswith("Deleted the learner 'ada' and everything of theirs.\n")
    assert [
        learner["name"] for learner in json.loads(tutor("learner", "list", "--json").stdout)
    ] == ["grace"]


def _complete(line: str) -> list[str]:
    """What `tutor` offers for the last word of `line`, asked as bash asks it."""
    words = line.split(" ")
    environment = {
        "_TUTOR_COMPLETE": "complete_bash",
        "COMP_WORDS": line,
        "COMP_CWORD": str(len(words) - 1),
    }
    result = CliRunner().invoke(app, [], prog_name="tutor", env=environment)
    assert result.exit_code == 0, result.output
    return result.stdout.split()


def test_shell_completion_offers_commands_and_options() -> None:
    assert _complete("tutor lea") == ["learner"]
    assert _complete("tutor re") == ["restore"]
    assert _complete("tutor learner d") == ["delete"]
    assert _complete("tutor learner list --j") == ["--json"]
    assert {"backup", "export", "openapi", "serve"} <= set(_complete("tutor "))


def test_the_completion_script_is_for_tutor(monkeypatch: pytest.MonkeyPatch) -> None:
    # Typer's switch for naming the shell rather than detecting it (read as the command
    # is built, before the runner sets its environment).
    monkeypatch.setenv("_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION", "1")
    shown = CliRunner().invoke(app, ["--show-completion", "bash"], prog_name="tutor")

    assert shown.exit_code == 0, shown.output
    assert "_TUTOR_COMPLETE=complete_bash" in shown.stdout
    assert shown.stdout.rstrip().endswith("complete -o default -F _tutor_completion tutor")
    # The installed command answers the same protocol (its name is `tutor`).
    installed = subprocess.run(
        [str(Path(sys.executable).parent / "tutor")],
        env={
            **os.environ,
            "_TUTOR_COMPLETE": "complete_bash",
            "COMP_WORDS": "tutor exp",
            "COMP_CWORD": "1",
        },
        capture_output=True,
        text=True,
        check=True,
    )
    assert installed.stdout.split() == ["export"]


def test_openapi_writes_the_schema_with_sorted_keys(tutor, tmp_path: Path) -> None:
    printed = tutor("openapi")
    written = tutor("openapi", "--out", str(tmp_path / "openapi.json"))

    assert printed.exit_code == 0, printed.output
    assert (written.exit_code, written.stdout) == (
        0,
        f"Wrote the OpenAPI schema to {tmp_path / 'openapi.json'}.\n",
    )
    text = (tmp_path / "openapi.json").read_text(encoding="utf-8")
    assert text == printed.stdout
    schema = json.loads(text)
    assert text == json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    assert schema == create_app(Settings(_env_file=None)).openapi()
    assert schema["paths"]["/v1/export/all"]["get"]["operationId"] == "exportEverything"
