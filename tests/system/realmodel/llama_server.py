"""A `llama-server` process on loopback, run as a user would run it.

Only the model, the address and the port are given: the context size comes from the
model (8192 for SmolLM2), the chat template from the GGUF through the Jinja engine (on by
default), and the threads, slots and KV cache are the server's defaults. A test that
passes here passes against what a learner gets from `llama-server -m model.gguf`.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from helpers import free_port

STARTUP_SECONDS = 120.0
STOP_SECONDS = 10.0
LOG_TAIL_LINES = 40


class ServerFailed(RuntimeError):
    """llama-server exited or never became healthy; the message ends with its log."""


@dataclass(frozen=True)
class LlamaServer:
    root_url: str  # http://127.0.0.1:PORT, where /health and /props are
    log: Path

    @property
    def base_url(self) -> str:
        """The OpenAI-compatible API, as clients are configured with it."""
        return f"{self.root_url}/v1"

    def log_tail(self) -> str:
        lines = self.log.read_text(errors="replace").splitlines()
        return "\n".join(lines[-LOG_TAIL_LINES:])


@contextmanager
def running_server(binary: Path, model: Path, *, log: Path) -> Iterator[LlamaServer]:
    """llama-server serving `model` until the block ends, healthy when it starts."""
    port = free_port()
    command = [str(binary), "-m", str(model), "--host", "127.0.0.1", "--port", str(port)]
    server = LlamaServer(root_url=f"http://127.0.0.1:{port}", log=log)
    # LLAMA_ARG_* variables set flags too: the developer's shell must not change the run.
    env = {name: value for name, value in os.environ.items() if not name.startswith("LLAMA_")}
    with log.open("wb") as log_file:
        process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=log_file, stderr=subprocess.STDOUT, env=env
        )
    try:
        _wait_until_healthy(process, server)
        yield server
    finally:
        _stop(process)


def _wait_until_healthy(process: subprocess.Popen[bytes], server: LlamaServer) -> None:
    # /health answers 503 while the model loads and 200 once requests are served.
    deadline = time.monotonic() + STARTUP_SECONDS
    with httpx.Client(timeout=5.0) as http:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise ServerFailed(
                    f"llama-server exited with {process.returncode} while starting; "
                    f"its log ({server.log}):\n{server.log_tail()}"
                )
            try:
                if http.get(f"{server.root_url}/health").status_code == 200:
                    return
            except httpx.TransportError:
                pass  # not listening yet
            time.sleep(0.2)
    raise ServerFailed(
        f"llama-server was not healthy after {STARTUP_SECONDS:.0f} s; "
        f"its log ({server.log}):\n{server.log_tail()}"
    )


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(STOP_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
