"""What a plain `pip install .` gets, and the README and CI staying true to each other."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _readme_commands() -> list[str]:
    """The shell commands in the README before its first second-level heading."""
    readme = (ROOT / "README.md").read_text()
    opening = readme.split("\n## ", 1)[0]
    return re.findall(r"```(?:sh|bash|console)?\n(.*?)\n```", opening, flags=re.S)


def test_wheel_ships_migrations_static_files_and_prompts(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(ROOT)],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("tutor_service-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {
        "service/migrations/alembic.ini",
        "service/migrations/env.py",
        "service/migrations/script.py.mako",
        "service/web/index.html",
        "service/web/app.js",
        "prompts/__init__.py",
        "service/worker/main.py",
    }
    expected |= {
        f"service/migrations/versions/{p.name}"
        for p in (ROOT / "service/migrations/versions").glob("*.py")
    }
    expected |= {f"prompts/{p.name}" for p in (ROOT / "prompts").glob("*.md")}
    assert len(expected) > 12
    assert expected <= names
    assert not any(name.startswith("tests/") for name in names)
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "tutor = service.cli:app" in zipfile.ZipFile(wheel).read(entry_points).decode()


def test_dependencies_are_ranges_and_apscheduler_is_3() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["requires-python"] == ">=3.11"
    for requirement in project["dependencies"]:
        assert re.search(r"[<>=~]", requirement), f"unbounded dependency: {requirement}"
    (apscheduler,) = [d for d in project["dependencies"] if d.startswith("apscheduler")]
    assert "<4" in apscheduler


def test_readme_opens_with_exactly_two_setup_commands() -> None:
    commands = _readme_commands()
    assert len(commands) == 2, commands
    serve, tests = commands
    assert "pip install ." in serve
    assert serve.rstrip().endswith("tutor serve")
    assert "pip install -e '.[dev]'" in tests
    assert tests.rstrip().endswith("pytest")


def test_ci_runs_the_readme_test_command_word_for_word() -> None:
    ci = (ROOT / ".ci" / "run").read_text()
    _, test_command = _readme_commands()
    assert test_command in ci.splitlines()
    assert ci.startswith("#!/usr/bin/env bash")
    assert "set -euo pipefail" in ci
