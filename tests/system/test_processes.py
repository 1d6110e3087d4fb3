"""`tutor serve` and `tutor scheduler` as real processes, the way a learner starts them."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from helpers import bearer, free_port

STARTUP_SECONDS = 30


def _environment(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TUTOR_")}
    env.update(PYTHONUNBUFFERED="1", TUTOR_DATA_DIR=str(data_dir), **extra)
    return env


def _start(args: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "service", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _read_until(process: subprocess.Popen[str], pattern: str) -> str:
    """Lines of output up to the first one matching `pattern`."""
    assert process.stdout is not None
    seen = []
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        seen.append(line)
        if re.search(pattern, line):
            return "".join(seen)
    process.kill()
    raise AssertionError(f"never printed {pattern!r}; output was:\n{''.join(seen)}")


def _stop(process: subprocess.Popen[str]) -> int:
    process.send_signal(signal.SIGTERM)
    try:
        return process.wait(timeout=15)
    finally:
        if process.poll() is None:
            process.kill()


@pytest.fixture
def serve(tmp_path: Path) -> Iterator:
    processes: list[subprocess.Popen[str]] = []

    def start(port: int) -> tuple[subprocess.Popen[str], str]:
        process = _start(["serve", "--port", str(port)], _environment(tmp_path / "data"))
        processes.append(process)
        return process, _read_until(process, r"Uvicorn running on")

    yield start
    for process in processes:
        if process.poll() is None:
            _stop(process)


def test_serve_on_an_empty_data_dir_creates_me_and_prints_the_key(serve, tmp_path: Path) -> None:
    port = free_port()
    process, output = serve(port)
    match = re.search(rf"Open Tutor at http://127\.0\.0\.1:{port}/#key=(tutor_\w+)", output)
    assert match, output
    key = match.group(1)
    assert output.count(key) == 2  # once on its own line, once in the URL

    base = f"http://127.0.0.1:{port}"
    ready = httpx.get(f"{base}/readyz").json()
    assert ready["status"] == "ok"
    assert ready["database"] == "sqlite"
    me = httpx.get(f"{base}/v1/me", headers=bearer(key))
    assert me.status_code == 200
    assert me.json()["name"] == "me"
    assert "<title>Tutor</title>" in httpx.get(f"{base}/").text
    assert (tmp_path / "data" / "tutor.db").exists()
    # Uvicorn shuts down gracefully, then re-raises SIGTERM so the exit status tells why.
    assert _stop(process) in (0, -signal.SIGTERM)
    assert process.stdout is not None
    assert "Application shutdown complete" in process.stdout.read()

    # A second start finds the learner and prints no key.
    _, output = serve(port)
    assert "#key=" not in output
    assert re.search(r"tutor_\w{40}", output) is None
    assert httpx.get(f"{base}/v1/me", headers=bearer(key)).status_code == 200


def test_scheduler_idles_without_jobs_and_stops_on_sigterm(tmp_path: Path) -> None:
    # Its /metrics on a free port: the default one may be taken by another test's scheduler.
    env = _environment(tmp_path / "data", TUTOR_SCHEDULER_METRICS_PORT=str(free_port()))
    process = _start(["scheduler"], env)
    try:
        _read_until(process, r"scheduler started with jobs: auto_distill, reminder, study_log")
        assert process.poll() is None
        assert _stop(process) == 0
        assert process.stdout is not None
        assert "scheduler stopped" in process.stdout.read()
    finally:
        if process.poll() is None:
            process.kill()


def test_console_script_is_installed() -> None:
    script = Path(sys.executable).parent / "tutor"
    result = subprocess.run([script, "version"], capture_output=True, text=True, check=True)
    assert re.fullmatch(r"\d+\.\d+\.\d+\n", result.stdout)
