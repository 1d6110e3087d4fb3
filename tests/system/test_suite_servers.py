"""The suite finds PostgreSQL and Redis by itself and says loudly what it leaves out
(tests/conftest.py). Each case runs pytest itself, on two tests, in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from helpers import free_port

REPO = Path(__file__).resolve().parents[2]
PYTEST = [sys.executable, "-m", "pytest", "-n", "0", "-p", "no:cacheprovider", "-rA"]
POSTGRES_TEST = "tests/api/core/test_db.py::test_foreign_keys_are_enforced[postgres]"
REDIS_TEST = "tests/api/limits/test_limit_stores.py::test_two_redis_clients_share_the_counts"


def run_suite(**variables: str) -> subprocess.CompletedProcess[str]:
    # Nothing of this run's own findings, CI flag or xdist worker leaks into the inner run.
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("TUTOR_", "PYTEST_")) and name != "CI"
    }
    return subprocess.run(
        [*PYTEST, POSTGRES_TEST, REDIS_TEST],
        cwd=REPO,
        env=env | variables,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_servers_that_do_not_answer_are_skipped_and_said_so() -> None:
    pg_port, redis_port = free_port(), free_port()  # nothing listens there
    run = run_suite(
        TUTOR_TEST_POSTGRES_URL=f"postgresql://postgres:hunter2@127.0.0.1:{pg_port}/postgres",
        TUTOR_TEST_REDIS_URL=f"redis://127.0.0.1:{redis_port}/0",
    )
    out = run.stdout
    assert run.returncode == 0, out + run.stderr
    shown = f"postgresql://postgres:***@127.0.0.1:{pg_port}/postgres"  # no password
    assert f"PostgreSQL tests: OFF, nothing answers at {shown}" in out
    assert f"Redis tests: OFF, nothing answers at redis://127.0.0.1:{redis_port}/0" in out
    assert "PostgreSQL tests NOT run: nothing answers" in out  # the red line at the end
    assert "Redis tests NOT run: nothing answers" in out
    assert "2 skipped" in out
    assert "hunter2" not in out


def test_under_ci_an_absent_server_fails_and_only_off_skips() -> None:
    run = run_suite(
        CI="true",
        TUTOR_TEST_POSTGRES_URL="off",
        TUTOR_TEST_REDIS_URL=f"redis://127.0.0.1:{free_port()}/0",
    )
    out = run.stdout
    assert run.returncode == 1, out + run.stderr
    assert "PostgreSQL tests: OFF, TUTOR_TEST_POSTGRES_URL='off'" in out
    assert "PostgreSQL tests NOT run: TUTOR_TEST_POSTGRES_URL='off'" in out
    assert "Redis tests: FAIL under CI, nothing answers" in out
    assert "Redis tests FAILED: CI is set and nothing answers" in out
    assert "1 skipped" in out
    assert "1 error" in out
