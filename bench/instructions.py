"""Instructions per grade and per streamed answer, counted by valgrind: what a change costs.

The other benchmarks time things, and on a shared machine the same code's CPU time per
grade moved by 30 % between runs an hour apart. An instruction count does not: the
server runs under `valgrind --tool=callgrind` with counting switched on only while the
measured requests run (after a warm-up), and the same code gives the same count to
within a few tenths of a percent. Compare two versions of the code with it; it says
nothing of speed on its own (valgrind runs the server some 50 times slower).

    .venv/bin/python -m bench.instructions [--grades 40] [--answers 20]

Needs valgrind (Debian: `apt-get install valgrind`). Takes a few minutes.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import subprocess
import tempfile
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

import httpx

from bench import review_throughput, stream_overhead
from bench.common import Server, machine, print_table, tutor_serve

CLIENTS = 8  # graders at once, as review_throughput.py has them
Work = Callable[[], Awaitable[int]]
WARM_UP = 5  # requests per client before counting starts


def _counted(server: Server, dump: Path, warm_up: Work, measure: Work) -> float:
    """Instructions per unit of `measure`, after `warm_up` (each says how many units)."""
    asyncio.run(warm_up())
    pid = str(server.process.pid)
    subprocess.run(["callgrind_control", "--instr=on", pid], check=True, capture_output=True)  # noqa: S603, S607
    units = asyncio.run(measure())
    subprocess.run(["callgrind_control", "--dump", pid], check=True, capture_output=True)  # noqa: S603, S607
    return _dumped_total(dump) / units


def _dumped_total(dump: Path) -> int:
    # The dump asked for is written next to the final one, numbered: `<file>.1`.
    text = Path(f"{dump}.1").read_text()
    found = re.search(r"^(?:totals|summary): (\d+)", text, re.MULTILINE)
    if found is None:
        raise RuntimeError(f"no instruction total in {dump}.1")
    return int(found.group(1))


def _callgrind(dump: Path) -> Sequence[str]:
    return ("valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={dump}")


def count_grades(directory: Path, grades: int) -> float:
    args = argparse.Namespace(clients=CLIENTS, warmup=0, grades=WARM_UP + grades)
    url, keys, decks = asyncio.run(review_throughput.prepare("sqlite", directory, args))
    dump = directory / "grades.callgrind"
    with tutor_serve(url, under=_callgrind(dump)) as server:

        def grading(start: int, end: int) -> Work:
            async def grade() -> int:
                cards = [deck[start:end] for deck in decks]
                result = await review_throughput.run(server.url, server.process.pid, keys, cards)
                if result.errors:
                    raise RuntimeError(f"{result.errors} grades failed")
                return len(result.latencies)

            return grade

        return _counted(server, dump, grading(0, WARM_UP), grading(WARM_UP, WARM_UP + grades))


def count_answers(directory: Path, answers: int, tokens: int) -> float:
    upstream_args = argparse.Namespace(first_token_ms=20, tokens=tokens, token_interval_ms=5)
    upstream = stream_overhead.start_upstream(upstream_args)
    try:
        url, keys = asyncio.run(stream_overhead.prepare("sqlite", directory, 1))
        dump = directory / f"answers-{tokens}.callgrind"
        settings = stream_overhead.tutor_settings(upstream_args.upstream_url)
        with tutor_serve(url, under=_callgrind(dump), **settings) as server:
            sessions = asyncio.run(_new_sessions(server, keys[0], WARM_UP + answers))

            def answering(rounds: range) -> Work:
                async def stream() -> int:
                    async with httpx.AsyncClient(base_url=server.url, timeout=120) as client:
                        once = stream_overhead.through_tutor(client, keys, [sessions])
                        streams = [await once(0, round_) for round_ in rounds]
                    if failed := [s.error for s in streams if s.error]:
                        raise RuntimeError(f"streams failed: {failed[:3]}")
                    return len(streams)

                return stream

            counted = range(WARM_UP, WARM_UP + answers)
            return _counted(server, dump, answering(range(WARM_UP)), answering(counted))
    finally:
        upstream.terminate()
        upstream.wait()


async def _new_sessions(server: Server, key: str, count: int) -> list[str]:
    async with httpx.AsyncClient(base_url=server.url, timeout=120) as client:
        return await stream_overhead.new_sessions(client, key, count)


def _fresh(directory: Path) -> Path:
    directory.mkdir()  # a database of its own for each workload
    return directory


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grades", type=int, default=40, help="counted grades per client")
    parser.add_argument("--answers", type=int, default=20, help="counted answers of each length")
    args = parser.parse_args()
    print(f"Machine: {machine()}\n")
    rows: list[list[object]] = []
    with tempfile.TemporaryDirectory(prefix="tutor-bench-instructions-") as directory:
        workloads = Path(directory)
        per_grade = count_grades(_fresh(workloads / "grades"), args.grades)
        rows.append(
            [
                f"POST /v1/reviews ({CLIENTS} clients, SQLite)",
                args.grades * CLIENTS,
                per_grade / 1e6,
            ]
        )
        for tokens in (1, 50):
            answers = _fresh(workloads / f"answers-{tokens}")
            per_answer = count_answers(answers, args.answers, tokens)
            what = f"explain, streamed, {tokens} token{'s' if tokens > 1 else ''} (SQLite)"
            rows.append([what, args.answers, per_answer / 1e6])
    print_table(["request", "counted", "M instructions each"], rows)


if __name__ == "__main__":
    main()
