"""What a plain `pip install .` gets, what the image installs (requirements.lock), and the
README and CI staying true to each other."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version

from bench.licences import runtime_distributions

ROOT = Path(__file__).resolve().parents[2]
LOCK = ROOT / "requirements.lock"
# The drivers a deployment chooses; the image installs both.
RUNTIME_EXTRAS = ("postgres", "redis")
# How uv names the project in the lock's `# via` notes.
VIA_PYPROJECT = "tutor-service (pyproject.toml)"
_HASH = re.compile(r"--hash=(sha256:[0-9a-f]{64})")


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


# --- the extras -----------------------------------------------------------------------


def _project() -> dict[str, object]:
    project: dict[str, object] = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return project


def _names(requirements: object) -> set[NormalizedName]:
    assert isinstance(requirements, list)
    return {canonicalize_name(Requirement(line).name) for line in requirements}


def test_the_drivers_are_extras_the_sqlite_install_goes_without() -> None:
    project = _project()
    extras = project["optional-dependencies"]
    assert isinstance(extras, dict)
    assert _names(extras["postgres"]) == {"asyncpg"}
    assert _names(extras["redis"]) == {"redis"}
    assert not {"asyncpg", "redis"} & _names(project["dependencies"])
    # The test suite runs on PostgreSQL and Redis too.
    (itself,) = [line for line in extras["dev"] if canonicalize_name(line).startswith("tutor-")]
    assert set(RUNTIME_EXTRAS) <= Requirement(itself).extras


# --- requirements.lock ----------------------------------------------------------------


@dataclass
class Pin:
    """One entry of the lock: the pin, the hashes of its files, what asked for it."""

    requirement: Requirement
    hashes: list[str] = field(default_factory=list)
    via: set[str] = field(default_factory=set)

    @property
    def version(self) -> Version:
        (pinned,) = self.requirement.specifier
        assert pinned.operator == "==", self.requirement
        return Version(pinned.version)


def locked() -> dict[NormalizedName, Pin]:
    """requirements.lock as uv writes it: `name==version ; marker \\`, then its
    `--hash=` lines, then `# via` notes."""
    pins: dict[NormalizedName, Pin] = {}
    current: Pin | None = None
    for line in LOCK.read_text(encoding="utf-8").splitlines():
        text = line.strip().removesuffix("\\").strip()
        if not text:
            continue
        if not line[0].isspace():
            if text.startswith("#"):
                continue  # the header
            current = Pin(Requirement(text))
            name = canonicalize_name(current.requirement.name)
            assert name not in pins, f"{name} is pinned twice"
            pins[name] = current
            continue
        assert current is not None
        if hashed := _HASH.fullmatch(text):
            current.hashes.append(hashed.group(1))
        elif text.startswith("#"):
            note = text.lstrip("#").strip().removeprefix("via").strip()
            if note:
                current.via.add(note)
        else:
            raise AssertionError(f"unexpected line in {LOCK.name}: {line!r}")
    return pins


def _runtime_requirements() -> list[Requirement]:
    project = _project()
    extras = project["optional-dependencies"]
    assert isinstance(extras, dict)
    lines = [*project["dependencies"], *(line for e in RUNTIME_EXTRAS for line in extras[e])]
    return [Requirement(line) for line in lines]


def test_lock_pins_every_runtime_dependency_within_its_range() -> None:
    pins = locked()
    for requirement in _runtime_requirements():
        pin = pins.get(canonicalize_name(requirement.name))
        assert pin is not None, f"{requirement.name} is not in {LOCK.name}"
        assert requirement.specifier.contains(pin.version, prereleases=True), (
            f"{LOCK.name} pins {pin.requirement}, outside {requirement}: regenerate it"
        )


def test_lock_holds_no_dependency_pyproject_dropped() -> None:
    asked = {name for name, pin in locked().items() if VIA_PYPROJECT in pin.via}
    assert asked == {canonicalize_name(r.name) for r in _runtime_requirements()}


def test_every_pin_is_exact_and_hashed() -> None:
    pins = locked()
    assert len(pins) > 50
    for name, pin in pins.items():
        assert pin.version.release, name
        assert pin.hashes, f"{name} has no hash: pip --require-hashes would refuse the lock"
        assert pin.via, f"{name}: nothing asks for it"


def test_lock_holds_every_distribution_the_runtime_needs() -> None:
    # What the installed packages' own metadata requires, walked from pyproject.toml.
    needed = {distribution.name for distribution in runtime_distributions()}
    assert needed <= locked().keys()


def test_lock_says_how_to_make_it_again_for_the_images_python() -> None:
    header = LOCK.read_text(encoding="utf-8").split("\n", 2)[:2]
    command = header[1].lstrip("#").split()
    assert command[:4] == ["uv", "pip", "compile", "pyproject.toml"]
    assert {"--universal", "--generate-hashes"} <= set(command)
    extras = {command[i + 1] for i, word in enumerate(command) if word == "--extra"}
    assert extras == set(RUNTIME_EXTRAS)
    assert command[command.index("-o") + 1] == LOCK.name
    # The Python of the image that installs it.
    python = command[command.index("--python-version") + 1]
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    bases = set(re.findall(r"^FROM\s+python:(\d+\.\d+)-slim", dockerfile, flags=re.M))
    assert bases == {python}
