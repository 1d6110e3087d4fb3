"""What every benchmark shares: the machine, percentiles, tables, a real `tutor serve`,
learners with keys, and scratch PostgreSQL databases.

The benchmarks run by hand from the repository root (`.venv/bin/python -m
bench.<name>`); they are not tests. Each one starts Tutor as its own process, so the
load generator (this process) and the server never share a CPU-bound event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import math
import os
import platform
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from service.db import Database
from service.learners.service import create_learner
from service.migrations import upgrade_async

REPO = Path(__file__).resolve().parent.parent

POSTGRES_SERVER = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432")


# numbers and tables


def percentile(values: Sequence[float], p: float) -> float:
    """The nearest-rank percentile (p in 0..100); NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def print_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    """A Markdown table, so a run's output can be pasted into docs/benchmarks.md."""
    cells = [[_cell(value) for value in row] for row in rows]
    widths = [max(len(h), *(len(row[i]) for row in cells)) for i, h in enumerate(headers)]
    print("| " + " | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in cells:
        print("| " + " | ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) + " |")
    print(flush=True)


def _cell(value: object) -> str:
    if isinstance(value, float):
        return "–" if math.isnan(value) else f"{value:.1f}" if abs(value) >= 10 else f"{value:.2f}"
    return str(value)


def ms(seconds: float) -> float:
    return seconds * 1000


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time a process has used, from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# the machine


def machine() -> str:
    """One line naming everything a reader needs to compare numbers."""
    return (
        f"{_cpu_model()}, {os.cpu_count()} cores, {_ram_gib():.0f} GiB RAM, "
        f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, "
        f"{_postgres_version()}, {datetime.date.today().isoformat()}, "
        "load average {:.2f} {:.2f} {:.2f} at the start".format(*os.getloadavg())
    )


def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


def _ram_gib() -> float:
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 1024 / 1024
    return math.nan


def _postgres_version() -> str:
    async def ask() -> str:
        engine = create_async_engine(asyncpg_url("postgres"))
        try:
            async with engine.connect() as connection:
                version = await connection.scalar(text("SHOW server_version"))
                return f"PostgreSQL {str(version).split()[0]}"
        finally:
            await engine.dispose()

    try:
        return asyncio.run(ask())
    except Exception:  # the line is informative; a missing server must not stop a run
        return "PostgreSQL unavailable"


# databases


def asyncpg_url(database: str) -> str:
    return f"{POSTGRES_SERVER.replace('postgresql://', 'postgresql+asyncpg://')}/{database}"


async def _admin(statement: str) -> None:
    engine = create_async_engine(asyncpg_url("postgres"), isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            await connection.execute(text(statement))
    finally:
        await engine.dispose()


async def postgres_exists(name: str) -> bool:
    engine = create_async_engine(asyncpg_url("postgres"))
    try:
        async with engine.connect() as connection:
            found = await connection.scalar(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
            )
            return found is not None
    finally:
        await engine.dispose()


async def create_postgres(name: str) -> str:
    """A fresh, migrated scratch database (dropped first if a run left it behind)."""
    await drop_postgres(name)
    await _admin(f'CREATE DATABASE "{name}"')
    url = asyncpg_url(name)
    await upgrade_async(url)
    return url


async def drop_postgres(name: str) -> None:
    await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def create_sqlite(directory: Path) -> str:
    url = f"sqlite+aiosqlite:///{directory / 'tutor.db'}"
    await upgrade_async(url)
    return url


@dataclass(frozen=True)
class BenchLearner:
    id: uuid.UUID
    key: str


async def add_learners(database_url: str, count: int) -> list[BenchLearner]:
    """`count` learners with one API key each, made by the service (keys are hashed)."""
    database = Database(database_url)
    learners = []
    try:
        for index in range(count):
            async with database.sessionmaker() as session:
                issued = await create_learner(session, name=f"bench-{index}")
                learners.append(BenchLearner(issued.learner.id, issued.key))
    finally:
        await database.dispose()
    return learners


# the server


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Server:
    url: str
    process: subprocess.Popen[bytes]


@contextlib.contextmanager
def tutor_serve(
    database_url: str, *, under: Sequence[str] = (), **settings: str
) -> Iterator[Server]:
    """`tutor serve` in its own process on loopback; `settings` become TUTOR_* variables.
    `under` runs it under another program (valgrind), which may take minutes to start."""
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="tutor-bench-") as data_dir:
        env = {
            **os.environ,
            "TUTOR_DATA_DIR": data_dir,
            "TUTOR_DATABASE_URL": database_url,
            "TUTOR_LOG_LEVEL": "warning",
            **{f"TUTOR_{name.upper()}": value for name, value in settings.items()},
        }
        command = [*under, sys.executable, "-m", "service", "serve", "--port", str(port)]
        process = subprocess.Popen(command, env=env, cwd=REPO, stdout=subprocess.DEVNULL)  # noqa: S603
        try:
            url = f"http://127.0.0.1:{port}"
            wait_until_up(f"{url}/healthz", process, timeout=300 if under else 30)
            yield Server(url=url, process=process)
        finally:
            process.terminate()
            process.wait(timeout=30)


def wait_until_up(url: str, process: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode} before answering")
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(url, timeout=1).status_code == 200:
                return
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {timeout:g} s")


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}
