"""The drivers that come in extras, asyncpg (`[postgres]`) and redis (`[redis]`), are
needed only where they are configured: without them `tutor serve` runs on SQLite, and
configuring PostgreSQL or Redis stops it at start with one line naming the extra.

Both are installed here (`dev` brings them), so each process these tests start has them
hidden: a `sitecustomize` on its PYTHONPATH puts a finder first on `sys.meta_path` that
answers their imports as Python answers a package that is not installed.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from helpers import bearer, free_port
from tutor_process import TutorServer

HIDDEN = ("asyncpg", "redis")
_HIDING = f"""
import sys


class _NotInstalled:
    hidden = {HIDDEN!r}

    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in self.hidden:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        return None


sys.meta_path.insert(0, _NotInstalled())
"""


@pytest.fixture
def without_drivers(tmp_path: Path) -> str:
    """A PYTHONPATH whose processes cannot import the extras' packages."""
    directory = tmp_path / "hide-drivers"
    directory.mkdir()
    (directory / "sitecustomize.py").write_text(_HIDING, encoding="utf-8")
    return str(directory)


def _python(pythonpath: str, code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code],
        env={"PYTHONPATH": pythonpath, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("package", HIDDEN)
def test_the_drivers_are_hidden_from_the_processes_started(
    without_drivers: str, package: str
) -> None:
    # What the other tests rest on: the import fails as for a package never installed.
    hidden = _python(without_drivers, f"import {package}")
    assert hidden.returncode == 1
    assert f"ModuleNotFoundError: No module named '{package}'" in hidden.stderr
    assert _python("", f"import {package}").returncode == 0


def test_tutor_serves_on_sqlite_without_the_drivers(tmp_path: Path, without_drivers: str) -> None:
    server = TutorServer(tmp_path)
    server.env["PYTHONPATH"] = without_drivers
    key = server.start()
    assert key is not None
    try:
        ready = httpx.get(f"{server.url}/readyz", timeout=10)
        assert ready.status_code == 200, ready.text
        assert ready.json()["database"] == "sqlite"
        assert ready.json()["limits"] == "memory"
        # A request through the limits, the database and the learner's key.
        me = httpx.get(f"{server.url}/v1/me", headers=bearer(key), timeout=10)
        assert me.status_code == 200, me.text
    finally:
        server.send_signal(signal.SIGTERM)
        # uvicorn re-raises the signal once it has stopped cleanly.
        assert server.wait(timeout=30) in (0, -signal.SIGTERM), server.printed()
    assert "Traceback" not in server.printed()


@pytest.mark.parametrize(
    ("variable", "url", "extra"),
    [
        ("TUTOR_DATABASE_URL", "postgresql://tutor@127.0.0.1:5432/tutor", "postgres"),
        ("TUTOR_REDIS_URL", "redis://127.0.0.1:6379/0", "redis"),
    ],
)
def test_configuring_a_driver_that_is_missing_names_the_extra(
    tmp_path: Path, without_drivers: str, variable: str, url: str, extra: str
) -> None:
    server = TutorServer(tmp_path)
    env = server.env | {"PYTHONPATH": without_drivers, variable: url}
    result = subprocess.run(
        [sys.executable, "-m", "service", "serve", "--port", str(free_port())],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    # One line, before anything is started or connected to.
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"error: {variable}: needs the {extra} extra")
    assert line.endswith(f"pip install 'tutor-service[{extra}]'")
