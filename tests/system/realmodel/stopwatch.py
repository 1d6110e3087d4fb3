"""How long each call to Tutor took, kept in the test's report and summed up at the end.

A small model on a CPU is slow in places a fake never is (prompt processing, grammar
constrained JSON): the timings show which daily use pays for what.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

TIMING = "timing"


class Stopwatch:
    """Times the steps of one test into its report's user properties, which xdist carries
    back to the main process for the summary."""

    def __init__(self, node: pytest.Item) -> None:
        self._node = node

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.record(name, time.perf_counter() - started)

    def record(self, name: str, seconds: float) -> None:
        self._node.user_properties.append((TIMING, (name, round(seconds, 2))))


def summarise(terminalreporter: pytest.TerminalReporter) -> None:
    """One line per timed step of every test that ran, then the total."""
    rows = [
        (report.nodeid.split("::", 1)[-1].split("@", 1)[0], *value)
        for reports in terminalreporter.stats.values()
        for report in reports
        if getattr(report, "when", None) == "call"
        for name, value in getattr(report, "user_properties", ())
        if name == TIMING
    ]
    if not rows:
        return
    terminalreporter.write_sep("=", "real-model timings (seconds per call to Tutor)")
    for test, step, seconds in rows:
        terminalreporter.write_line(f"{seconds:8.2f}  {test}  {step}")
    terminalreporter.write_line(f"{sum(row[2] for row in rows):8.2f}  total")
