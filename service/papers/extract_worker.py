"""The child process sandbox.py starts: one extractor on one file, within limits.

`python -m service.papers.extract_worker MODULE:FUNCTION FILE MEMORY_BYTES CPU_SECONDS`

The limits are set before the extractor (and pypdf) is imported. Its stdout carries
JSON lines to the parent, `{"progress": 0.4, "stage": "..."}` as the extractor reports,
then one `{"document": {...}}` or `{"error": {"code", "message"}}`; anything else the
code prints goes to stderr, so it cannot be mistaken for a line of the protocol.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import dataclasses
import inspect
import json
import logging
import os
import resource
import signal
import sys
from pathlib import Path
from typing import IO, Any

# Only the standard library and small modules of this package before the limits are set.
from service.papers import progress
from service.papers.failures import ExtractionFailed, FailureCode

_PR_SET_PDEATHSIG = 1


def set_limits(memory_bytes: int, cpu_seconds: int) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    # SIGXCPU at the soft limit ends the process; SIGKILL at the hard one, should
    # anything catch the first.
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 5))
    # No file written, no core dump of a process that filled its memory.
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def die_with_parent() -> None:
    """Be killed when the server that started this process dies (Linux's
    PR_SET_PDEATHSIG): nobody would read what this process found, nor stop it."""
    parent = os.getppid()
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # it died before the request took hold
        os._exit(1)


def main(argv: list[str]) -> int:
    extractor_name, file, memory_bytes, cpu_seconds = argv
    die_with_parent()
    set_limits(int(memory_bytes), int(cpu_seconds))
    channel = sys.stdout
    sys.stdout = sys.stderr
    progress.listen(lambda fraction, stage: _send(channel, progress=fraction, stage=stage))
    try:
        document = _run(extractor_name, Path(file))
        _send(channel, document=dataclasses.asdict(document))
    except ExtractionFailed as failure:
        _send(channel, error={"code": failure.code, "message": failure.message})
    except MemoryError:
        _send(channel, error=_out_of_memory(int(memory_bytes)))
    return 0


def _run(extractor_name: str, file: Path) -> Any:
    # Imported here, after the limits: pypdf itself counts against them.
    from service.papers.extractors import resolve_extractor
    from service.papers.symbols import find_symbols

    extractor = resolve_extractor(extractor_name)
    if extractor is None:
        raise ExtractionFailed(FailureCode.extraction_crashed, f"No extractor {extractor_name}.")
    document = extractor(file)
    if inspect.isawaitable(document):
        document = asyncio.run(_awaited(document))
    if not document.symbols:
        try:
            document = dataclasses.replace(document, symbols=find_symbols(document))
        except MemoryError:
            raise
        except Exception:  # the text is worth keeping without its symbol table
            logging.getLogger("tutor.papers").exception("finding symbols failed")
    return document


async def _awaited(awaitable: Any) -> Any:
    return await awaitable


def _out_of_memory(memory_bytes: int) -> dict[str, str]:
    return {
        "code": FailureCode.extraction_out_of_memory,
        "message": f"Reading the file needed more than {memory_bytes // (1024 * 1024)} MiB "
        "of memory, Tutor's limit: a file built to inflate (a compression bomb) does this.",
    }


def _send(channel: IO[str], **message: Any) -> None:
    channel.write(json.dumps(message) + "\n")
    channel.flush()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
