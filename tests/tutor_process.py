"""`tutor serve` as a real process, for the tests that need real signals and sockets:
started (and started again, on the same port and database), signalled, killed."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from helpers import free_port

STARTUP_SECONDS = 30
_KEY = re.compile(r"\b(tutor_[A-Za-z0-9]{40})\b")


class TutorServer:
    """One `tutor serve` on a port of its own, with `TUTOR_*` settings given by name
    (`llm_model="fake-model"` is TUTOR_LLM_MODEL) and none from the caller's shell."""

    def __init__(self, tmp_path: Path, **settings: object) -> None:
        self.data_dir = tmp_path / "data"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("TUTOR_", "OPENAI_"))}
        self.env |= {"PYTHONUNBUFFERED": "1", "TUTOR_DATA_DIR": str(self.data_dir)}
        self.env |= {f"TUTOR_{name.upper()}": str(value) for name, value in settings.items()}
        self.process: subprocess.Popen[str] | None = None
        self.output: list[str] = []
        self._reader: threading.Thread | None = None

    def start(self) -> str | None:
        """Starts the server and waits until it listens; the first learner's key when
        this start created it (a fresh database), else None."""
        self.process = subprocess.Popen(
            [sys.executable, "-m", "service", "serve", "--port", str(self.port)],
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert self.process.stdout is not None
        key = None
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            self.output.append(line)
            if found := _KEY.search(line):
                key = found.group(1)
            if "Uvicorn running" in line:
                self._reader = threading.Thread(target=self._drain, args=(self.process,))
                self._reader.daemon = True
                self._reader.start()
                return key
            if not line and self.process.poll() is not None:
                break
        self.kill()
        raise AssertionError("tutor serve did not start:\n" + "".join(self.output))

    def _drain(self, process: subprocess.Popen[str]) -> None:
        assert process.stdout is not None
        for line in process.stdout:
            self.output.append(line)

    def send_signal(self, sig: signal.Signals) -> None:
        assert self.process is not None
        self.process.send_signal(sig)

    def wait(self, timeout: float) -> int:
        """The exit status, once the process has ended and all it printed is read."""
        assert self.process is not None
        status = self.process.wait(timeout=timeout)
        if self._reader is not None:
            self._reader.join(timeout=5)
        return status

    def kill(self) -> None:
        """SIGKILL: nothing of the server's own shutdown runs."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def printed(self) -> str:
        return "".join(self.output)
