"""Running an extractor on a file in a child process, within limits.

A PDF is a program's input written by anyone: a stream that inflates to gigabytes,
objects nested a hundred thousand deep, ten thousand pages. Whatever such a file does to
the reader, it does to a child process (extract_worker.py) that may use so much memory
(RLIMIT_AS), so much CPU time (RLIMIT_CPU), and that is killed after a wall time; the
server only reads the child's lines: progress reports, then the Document or a failure.
Every way the child can end becomes a Document or an ExtractionFailed with a clear code.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pydantic import TypeAdapter, ValidationError

from service.papers.document import Document
from service.papers.extractors import resolve_extractor
from service.papers.failures import ExtractionFailed, FailureCode

log = logging.getLogger("tutor.papers")

# Told each progress report: the fraction done and what is being done.
OnProgress = Callable[[float, str], None]

_MIB = 1024 * 1024
_WORKER_MODULE = "service.papers.extract_worker"
DOCUMENTS = TypeAdapter(Document)


@dataclass(frozen=True)
class SandboxLimits:
    # Address space: the interpreter and pypdf take about 100 MiB; a paper of a
    # thousand pages a few hundred more.
    memory_bytes: int = 1024 * _MIB
    cpu_seconds: int = 300
    wall_seconds: float = 600.0
    # What the child may send back: the Document as JSON (a 2,000-page paper's text is
    # about 10 MiB).
    result_bytes: int = 64 * _MIB


async def extract(
    extractor: str, file: Path, *, limits: SandboxLimits, on_progress: OnProgress
) -> Document:
    """Run extractor `extractor` ("module:function") on `file` in a child process.

    Raises ExtractionFailed: the extractor's own refusal, or a limit passed, or a crash.
    Cancelled, it kills the child before it returns.
    """
    if resolve_extractor(extractor) is None:
        raise ExtractionFailed(FailureCode.extraction_crashed, f"No extractor named {extractor}.")
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        _WORKER_MODULE,
        extractor,
        str(file),
        str(limits.memory_bytes),
        str(limits.cpu_seconds),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=_child_environment(),
        # Its own process group, so a kill reaches anything it started too.
        start_new_session=True,
        limit=limits.result_bytes,
    )
    stderr = asyncio.create_task(_tail(process.stderr))
    try:
        async with asyncio.timeout(limits.wall_seconds):
            outcome = await _read_outcome(process, on_progress)
            await process.wait()
    except TimeoutError:
        raise ExtractionFailed(
            FailureCode.extraction_timed_out,
            f"Reading the file took longer than Tutor allows ({limits.wall_seconds:g} s): "
            "it was stopped.",
        ) from None
    except _TooLarge:
        raise ExtractionFailed(
            FailureCode.extraction_too_large,
            "The text read from the file is larger than Tutor allows "
            f"({_amount(limits.result_bytes)}).",
        ) from None
    finally:
        _kill(process)
        await process.wait()
        errors = await stderr
    if outcome is None:
        raise _ended_without_outcome(process.returncode, errors, limits)
    return _document_or_failure(outcome)


class _TooLarge(Exception):
    pass


async def _read_outcome(
    process: asyncio.subprocess.Process, on_progress: OnProgress
) -> dict[str, object] | None:
    """Progress lines go to `on_progress`; the line with the document or the error is
    the outcome (None: the child ended without one)."""
    assert process.stdout is not None
    while True:
        try:
            line = await process.stdout.readline()
        except ValueError:  # a line over the stream's limit
            raise _TooLarge() from None
        if not line:
            return None
        message = json.loads(line)
        if "progress" in message:
            on_progress(float(message["progress"]), str(message.get("stage", "")))
            continue
        return dict(message)


def _document_or_failure(outcome: dict[str, object]) -> Document:
    error = outcome.get("error")
    if isinstance(error, dict):
        raise ExtractionFailed(str(error.get("code")), str(error.get("message")))
    try:
        return DOCUMENTS.validate_python(outcome.get("document"))
    except ValidationError as exc:
        raise ExtractionFailed(
            FailureCode.extraction_crashed, "The extractor sent back something not a document."
        ) from exc


def _ended_without_outcome(returncode: int | None, errors: str, limits: SandboxLimits) -> Exception:
    if returncode == -signal.SIGXCPU:
        return ExtractionFailed(
            FailureCode.extraction_timed_out,
            "Reading the file needed more CPU time than Tutor allows "
            f"({limits.cpu_seconds} s): it was stopped.",
        )
    last = errors.strip().splitlines()[-1:] or ["no message"]
    log.warning("paper extraction ended with %s without an outcome: %s", returncode, last[0])
    if returncode is not None and returncode < 0:
        how = f"was killed (signal {_signal_name(-returncode)})"
    else:
        how = f"ended unexpectedly (exit status {returncode})"
    return ExtractionFailed(
        FailureCode.extraction_crashed, f"The process reading the file {how}; try again."
    )


def _amount(size: int) -> str:
    return f"{size // _MIB} MiB" if size >= _MIB else f"{size} bytes"


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return str(number)


def _kill(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)


async def _tail(stream: asyncio.StreamReader | None, keep: int = 4096) -> str:
    """The last `keep` bytes the child wrote to stderr (it is read to the end, so a
    chatty child never blocks on a full pipe)."""
    if stream is None:
        return ""
    tail = b""
    while chunk := await stream.read(65536):
        tail = (tail + chunk)[-keep:]
    return tail.decode(errors="replace")


# The child gets no secret of the server's (API keys, database URLs): only what Python
# needs to start and to find Tutor's code.
_PASSED_ON = ("PATH", "PYTHONPATH", "LANG", "LC_ALL", "LC_CTYPE", "TMPDIR", "HOME")


def _child_environment() -> dict[str, str]:
    environment = {name: os.environ[name] for name in _PASSED_ON if name in os.environ}
    # It may write no file (RLIMIT_FSIZE is 0 there), bytecode caches included.
    environment["PYTHONDONTWRITEBYTECODE"] = "1"
    return environment
