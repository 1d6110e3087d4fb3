"""Streaming overhead: the same reply straight from the model, and through Tutor.

(a) the openai AsyncOpenAI client streams from bench/upstream.py directly;
(b) httpx streams POST /v1/sessions/{id}/explain (Accept: text/event-stream) from a real
`tutor serve` that uses the same upstream. Both at each concurrency level; the table
gives time to first token, what Tutor adds to it, token throughput and errors, and the
CPU each process used (if the load generator or the upstream were near 100 % of a core,
they, not Tutor, would be what is measured).

Each concurrent client is its own learner, with a fresh session per stream (so every
prompt is the same size). The per-learner limits stay on, so their checks are part of
what is measured, but the rate and the daily quota are raised far above this load.

    .venv/bin/python -m bench.stream_overhead [--backends sqlite,postgresql]
        [--levels 1,10,50,200] [--arrivals burst|spread]

With `--arrivals burst` (the default) every client starts its stream at the same moment,
round after round, so the last of 50 waits behind the other 49's set-up; `spread`
staggers the clients over one stream's length, as learners' requests arrive in use.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import openai

from bench.common import (
    REPO,
    Server,
    add_learners,
    auth,
    cpu_seconds,
    create_postgres,
    create_sqlite,
    drop_postgres,
    free_port,
    machine,
    ms,
    percentile,
    print_table,
    tutor_serve,
)

PASSAGE = (
    "We call our particular attention 'Scaled Dot-Product Attention'. The input consists "
    "of queries and keys of dimension d_k, and values of dimension d_v. We compute the dot "
    "products of the query with all keys, divide each by sqrt(d_k), and apply a softmax."
)
MESSAGES = [
    {"role": "system", "content": "You are a patient tutor."},
    {"role": "user", "content": f"Explain this passage:\n\n{PASSAGE}"},
]
POSTGRES_DATABASE = "tutor_bench_stream"


@dataclass(frozen=True)
class Stream:
    ttft: float  # seconds from sending the request to the first token; NaN on error
    tokens: int
    error: str | None = None


@dataclass(frozen=True)
class Level:
    streams: list[Stream]
    wall: float
    client_cpu: float
    server_cpu: float
    upstream_cpu: float

    @property
    def ttfts(self) -> list[float]:
        return [s.ttft for s in self.streams if s.error is None]

    @property
    def errors(self) -> int:
        return sum(1 for s in self.streams if s.error is not None)

    @property
    def tokens_per_second(self) -> float:
        return sum(s.tokens for s in self.streams) / self.wall


StreamOnce = Callable[[int, int], Awaitable[Stream]]


# the two ways to stream


def direct(client: openai.AsyncOpenAI) -> StreamOnce:
    async def once(_worker: int, _round: int) -> Stream:
        started = time.perf_counter()
        first, tokens = float("nan"), 0
        try:
            stream = await client.chat.completions.create(
                model="bench",
                messages=MESSAGES,  # type: ignore[arg-type]
                stream=True,
                stream_options={"include_usage": True},
            )
            async for chunk in stream:
                for choice in chunk.choices:
                    if choice.delta and choice.delta.content:
                        if tokens == 0:
                            first = time.perf_counter() - started
                        tokens += 1
        except openai.OpenAIError as exc:
            return Stream(float("nan"), tokens, type(exc).__name__)
        return Stream(first, tokens)

    return once


def through_tutor(
    client: httpx.AsyncClient, keys: list[str], sessions: list[list[str]]
) -> StreamOnce:
    async def once(worker: int, round_: int) -> Stream:
        url = f"/v1/sessions/{sessions[worker][round_]}/explain"
        headers = {**auth(keys[worker]), "Accept": "text/event-stream"}
        started = time.perf_counter()
        try:
            async with client.stream("POST", url, json={"passage": PASSAGE}, headers=headers) as r:
                if r.status_code != 200:
                    await r.aread()
                    return Stream(float("nan"), 0, f"{r.status_code} {r.text[:80]}")
                return await _read_events(r, started)
        except httpx.HTTPError as exc:
            return Stream(float("nan"), 0, type(exc).__name__)

    return once


async def _read_events(response: httpx.Response, started: float) -> Stream:
    """Just enough SSE: split events on the blank line, look at the event name only."""
    buffer, first, tokens, ending = b"", float("nan"), 0, b""
    async for data in response.aiter_raw():
        *events, buffer = (buffer + data).split(b"\r\n\r\n")
        for event in events:
            if event.startswith(b"event: delta"):
                if tokens == 0:
                    first = time.perf_counter() - started
                tokens += 1
            elif event.startswith(b"event: "):
                ending = event.split(b"\r\n", 1)[0]
    if ending != b"event: done":
        return Stream(float("nan"), tokens, ending.decode() or "no done event")
    return Stream(first, tokens)


# running a level


async def run_level(
    once: StreamOnce,
    *,
    concurrency: int,
    rounds: int,
    server_pid: int,
    upstream_pid: int,
    stagger: float = 0.0,
) -> Level:
    async def worker(index: int) -> list[Stream]:
        # Staggered, the clients start spread over `stagger` seconds and so stay spread:
        # `concurrency` streams open at any moment, but not all starting at once.
        await asyncio.sleep(stagger * index / concurrency)
        return [await once(index, round_) for round_ in range(rounds)]

    cpu = (time.process_time(), cpu_seconds(server_pid), cpu_seconds(upstream_pid))
    started = time.perf_counter()
    results = await asyncio.gather(*(worker(i) for i in range(concurrency)))
    wall = time.perf_counter() - started
    return Level(
        streams=[stream for streams in results for stream in streams],
        wall=wall,
        client_cpu=(time.process_time() - cpu[0]) / wall,
        server_cpu=(cpu_seconds(server_pid) - cpu[1]) / wall,
        upstream_cpu=(cpu_seconds(upstream_pid) - cpu[2]) / wall,
    )


async def new_sessions(client: httpx.AsyncClient, key: str, count: int) -> list[str]:
    ids = []
    for _ in range(count):
        response = await client.post("/v1/sessions", json={}, headers=auth(key))
        response.raise_for_status()
        ids.append(response.json()["id"])
    return ids


def rounds_for(concurrency: int, minimum_streams: int) -> int:
    return max(3, -(-minimum_streams // concurrency))


async def measure(
    server: Server, upstream: subprocess.Popen[bytes], args: argparse.Namespace, keys: list[str]
) -> list[list[object]]:
    # A kept-alive connection idle for uvicorn's keep-alive timeout (5 s) is closed by the
    # server; reused at that moment, the request meets a reset (ReadError). Idle for
    # more than a second (while the direct streams run, say), it is not reused.
    limits = httpx.Limits(max_connections=1000, max_keepalive_connections=1000, keepalive_expiry=1)
    timeout = httpx.Timeout(120)
    rows: list[list[object]] = []
    async with (
        openai.AsyncOpenAI(
            base_url=args.upstream_url, api_key="bench", max_retries=0, timeout=120
        ) as model,
        httpx.AsyncClient(base_url=server.url, limits=limits, timeout=timeout) as tutor,
    ):
        pids = {"server_pid": server.process.pid, "upstream_pid": upstream.pid}
        # One stream's length: spread over it, arrivals are even, as from many learners.
        length = (args.first_token_ms + args.tokens * args.token_interval_ms) / 1000
        stagger = length if args.arrivals == "spread" else 0.0
        warmup = await new_sessions(tutor, keys[0], 5)
        await run_level(direct(model), concurrency=5, rounds=1, **pids)
        await run_level(through_tutor(tutor, keys, [warmup]), concurrency=1, rounds=5, **pids)
        for concurrency in args.levels:
            rounds = rounds_for(concurrency, args.min_streams)
            sessions = await asyncio.gather(
                *(new_sessions(tutor, keys[i], rounds) for i in range(concurrency))
            )
            level = {"concurrency": concurrency, "rounds": rounds, "stagger": stagger, **pids}
            plain = await run_level(direct(model), **level)
            served = await run_level(through_tutor(tutor, keys, sessions), **level)
            rows.append(row(concurrency, plain, served))
            print(f"  {concurrency} concurrent: done", file=sys.stderr, flush=True)
            for way, level_run in (("direct", plain), ("tutor", served)):
                for error, count in Counter(s.error for s in level_run.streams if s.error).items():
                    print(f"    {way} error x{count}: {error}", file=sys.stderr, flush=True)
    return rows


def row(concurrency: int, plain: Level, served: Level) -> list[object]:
    p50 = (ms(percentile(plain.ttfts, 50)), ms(percentile(served.ttfts, 50)))
    p99 = (ms(percentile(plain.ttfts, 99)), ms(percentile(served.ttfts, 99)))
    return [
        concurrency,
        len(served.streams),
        p50[0], p99[0], p50[1], p99[1], p50[1] - p50[0], p99[1] - p99[0],
        plain.tokens_per_second, served.tokens_per_second,
        served.tokens_per_second / plain.tokens_per_second,
        f"{plain.errors}/{served.errors}",
        f"{plain.client_cpu:.0%}/{served.client_cpu:.0%}",
        f"{served.server_cpu:.0%}",
        ms(served.server_cpu * served.wall / len(served.streams)),
        f"{max(plain.upstream_cpu, served.upstream_cpu):.0%}",
    ]  # fmt: skip


HEADERS = [
    "streams", "n", "direct p50", "direct p99", "tutor p50", "tutor p99", "added p50",
    "added p99", "direct tok/s", "tutor tok/s", "ratio", "errors d/t", "client CPU d/t",
    "server CPU", "CPU ms/stream", "upstream CPU",
]  # fmt: skip


def start_upstream(args: argparse.Namespace) -> subprocess.Popen[bytes]:
    port = free_port()
    command = [
        sys.executable, "-m", "bench.upstream", "--port", str(port),
        "--first-token-ms", str(args.first_token_ms), "--tokens", str(args.tokens),
        "--token-interval-ms", str(args.token_interval_ms),
    ]  # fmt: skip
    process = subprocess.Popen(command, cwd=REPO)  # noqa: S603
    args.upstream_url = f"http://127.0.0.1:{port}/v1"
    _wait_for_port(port, process)
    return process


def _wait_for_port(port: int, process: subprocess.Popen[bytes]) -> None:
    for _ in range(100):
        if process.poll() is not None:
            raise RuntimeError("the upstream exited")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError("the upstream did not start")


async def prepare(backend: str, directory: Path, learners: int) -> tuple[str, list[str]]:
    if backend == "postgresql":
        url = await create_postgres(POSTGRES_DATABASE)
    else:
        url = await create_sqlite(directory)
    return url, [learner.key for learner in await add_learners(url, learners)]


def tutor_settings(upstream_url: str) -> dict[str, str]:
    """The model is the fake upstream; the limits stay on, far above the load."""
    return {
        "llm_base_url": upstream_url,
        "llm_api_key": "bench",
        "llm_model": "bench",
        "rate_limit_per_minute": "1000000",
        "daily_token_quota": str(10**12),
    }


def bench_backend(
    backend: str, upstream: subprocess.Popen[bytes], args: argparse.Namespace
) -> None:
    with tempfile.TemporaryDirectory(prefix="tutor-bench-db-") as directory:
        url, keys = asyncio.run(prepare(backend, Path(directory), max(args.levels)))
        try:
            with tutor_serve(url, **tutor_settings(args.upstream_url)) as server:
                rows = asyncio.run(measure(server, upstream, args, keys))
        finally:
            if backend == "postgresql":
                asyncio.run(drop_postgres(POSTGRES_DATABASE))
    print(f"\n### Streaming through Tutor on {backend}, {args.arrivals} arrivals (ms)\n")
    print_table(HEADERS, rows)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--levels", default="1,10,50,200", type=lambda s: [int(n) for n in s.split(",")]
    )
    parser.add_argument(
        "--min-streams",
        type=int,
        default=30,
        help="streams per level at least (each client streams 3 or more)",
    )
    parser.add_argument("--first-token-ms", type=float, default=100)
    parser.add_argument("--tokens", type=int, default=50)
    parser.add_argument("--token-interval-ms", type=float, default=20)
    parser.add_argument(
        "--backends", default="sqlite", type=lambda s: s.split(","), help="sqlite,postgresql"
    )
    parser.add_argument(
        "--arrivals",
        choices=["burst", "spread"],
        default="burst",
        help="burst: every client starts at once, round after round; spread: the starts "
        "are spread evenly over one stream's length",
    )
    return parser.parse_args()  # fmt: skip


def main() -> None:
    args = parse_args()
    print(f"Machine: {machine()}")
    print(
        f"Upstream: first token after {args.first_token_ms:g} ms, then {args.tokens} tokens "
        f"every {args.token_interval_ms:g} ms"
    )
    upstream = start_upstream(args)
    try:
        for backend in args.backends:
            bench_backend(backend, upstream, args)
    finally:
        upstream.terminate()
        upstream.wait()


if __name__ == "__main__":
    main()
