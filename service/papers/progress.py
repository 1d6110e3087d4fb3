"""How an extractor reports its progress, wherever it runs.

Inside the sandbox's child process (extract_worker.py) a report goes to the parent,
which keeps the latest on the paper's row for GET to show; anywhere else (a unit test
calling an extractor directly) it goes nowhere. An extractor calls `report` and needs to
know neither.
"""

from __future__ import annotations

from collections.abc import Callable

Listener = Callable[[float, str], None]

_listener: Listener | None = None


def report(fraction: float, stage: str) -> None:
    """`fraction` of the work is done (0 to 1); `stage` says what is being done now."""
    if _listener is not None:
        _listener(min(max(fraction, 0.0), 1.0), stage[:200])


def listen(listener: Listener | None) -> None:
    """Send the reports to `listener` (the child process's pipe to its parent)."""
    # One listener per process, set once by its entry point.
    global _listener
    _listener = listener
