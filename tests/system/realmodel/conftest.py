"""The real-model suite: Tutor against an OpenAI-compatible server nobody here wrote.

By default that is llama.cpp's `llama-server` with SmolLM2-135M-Instruct, built and
fetched once per machine (llama_cache.py) and started once per test session. To check
your own model instead, point the suite at it:

    TUTOR_REALMODEL_BASE_URL=http://localhost:11434/v1 TUTOR_REALMODEL_MODEL=qwen2.5:14b \\
        .venv/bin/pytest tests/system/realmodel

(`TUTOR_REALMODEL_API_KEY` if the endpoint wants one). The plain `.venv/bin/pytest` does
not collect this directory (`norecursedirs` in pyproject.toml): the first run builds
llama.cpp for about 20 minutes.

The app fixtures of tests/conftest.py are reused; here the database is SQLite only, and
the settings point at the real model with short answers, since what is tested is that
each daily use works end to end, not what a 135M model knows.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator, Generator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from llama_cache import cache_dir
from llama_cache import model_file as cached_model
from llama_cache import server_binary as cached_server
from llama_server import LlamaServer, running_server
from stopwatch import Stopwatch, summarise

from helpers import bearer
from service.config import LLMSettings, Settings
from service.learners.service import IssuedKey

BASE_URL_ENV = "TUTOR_REALMODEL_BASE_URL"
MODEL_ENV = "TUTOR_REALMODEL_MODEL"
API_KEY_ENV = "TUTOR_REALMODEL_API_KEY"
# Room for a critique or a few cards (150-250 tokens when the model keeps to the point;
# the JSON schema's string lengths bound it when it does not), and few enough that two
# CPU cores write it in seconds; longer answers end `truncated`.
MAX_OUTPUT_TOKENS = 1000
# What one request to Tutor may take: prompt processing on a CPU plus the answer.
REQUEST_SECONDS = 180.0
# llama-server sends nothing until it has read the whole prompt: on two busy cores an
# 8k-token prompt can take over a minute (what the README tells CPU users to allow for).
MODEL_TIMEOUT_SECONDS = 170.0


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    # The repo's `-n auto` would start a llama-server in every xdist worker, all on the
    # same few cores: named on the command line, this suite runs in one process against
    # one server instead. An explicit `-n N` is obeyed. (`--dist loadgroup` cannot keep
    # the suite on one worker: pytest 9.2 ignores the node ids xdist 3.8 rewrites for it.)
    return 0


def pytest_report_header() -> str:
    configured = os.environ.get(BASE_URL_ENV)
    if configured:
        return f"real model: {os.environ.get(MODEL_ENV)} at {configured} (from {BASE_URL_ENV})"
    return f"real model: llama.cpp llama-server + SmolLM2-135M-Instruct, cache {cache_dir()}"


# --- the endpoint ---------------------------------------------------------------------


@dataclass(frozen=True)
class RealModel:
    base_url: str  # ends in /v1
    model: str
    api_key: str | None
    server: LlamaServer | None  # None when the endpoint is the developer's own


@pytest.fixture(scope="session")
def real_model(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealModel]:
    # Session fixtures are set up before function ones, so the TUTOR_REALMODEL_*
    # variables are read here before tests/conftest.py's `clean_environment` hides them.
    base_url = os.environ.get(BASE_URL_ENV)
    if base_url:
        model = os.environ.get(MODEL_ENV)
        if not model:
            pytest.fail(f"{BASE_URL_ENV} is set without {MODEL_ENV}: which model should answer?")
        yield RealModel(base_url.rstrip("/"), model, os.environ.get(API_KEY_ENV), server=None)
        return
    # A build or download that fails raises here: every test errors with the reason.
    binary, gguf = cached_server(), cached_model()
    log = tmp_path_factory.mktemp("llama-server") / "server.log"
    with running_server(binary, gguf, log=log) as server:
        yield RealModel(server.base_url, _served_model(server), api_key=None, server=server)


def _served_model(server: LlamaServer) -> str:
    """The name the server lists, as a user would copy it from /v1/models."""
    response = httpx.get(f"{server.base_url}/models", timeout=10.0)
    response.raise_for_status()
    model: str = response.json()["data"][0]["id"]
    return model


# Where llama-server's log stood when a test began, so a failure shows what it logged since.
_LOG_FROM = pytest.StashKey[tuple[Path, int]]()


@pytest.fixture(autouse=True)
def server_log_position(request: pytest.FixtureRequest, real_model: RealModel) -> None:
    if real_model.server is not None:
        log = real_model.server.log
        request.node.stash[_LOG_FROM] = (log, log.stat().st_size)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item,
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report: pytest.TestReport = yield
    if report.when == "call" and report.failed and _LOG_FROM in item.stash:
        log, start = item.stash[_LOG_FROM]
        with log.open("rb") as handle:
            handle.seek(start)
            logged = handle.read().decode(errors="replace")
        report.sections.append(("llama-server log during the test", logged))
    return report


# --- the app, pointed at it -------------------------------------------------------------


@pytest.fixture
def database_url(sqlite_template: Path, tmp_path: Path) -> str:
    """SQLite only: the database is not what this suite tests, and it stays fast."""
    path = tmp_path / "tutor.db"
    shutil.copyfile(sqlite_template, path)
    return f"sqlite+aiosqlite:///{path}"


@pytest.fixture
def settings(
    real_model: RealModel, database_url: str, tmp_path: Path, llm_overrides: dict[str, object]
) -> Settings:
    llm: dict[str, object] = {
        "base_url": real_model.base_url,
        "model": real_model.model,
        "api_key": real_model.api_key,
        "max_output_tokens": MAX_OUTPUT_TOKENS,
        "timeout": MODEL_TIMEOUT_SECONDS,
    }
    return Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        llm=LLMSettings(**(llm | llm_overrides)),
        _env_file=None,
    )


@pytest.fixture
async def live_api(live_url: str, learner: IssuedKey) -> AsyncIterator[httpx.AsyncClient]:
    """The learner `ada` talking to Tutor over real HTTP, streams included."""
    timeout = httpx.Timeout(REQUEST_SECONDS, connect=5.0)
    async with httpx.AsyncClient(
        base_url=live_url, headers=bearer(learner.key), timeout=timeout
    ) as http:
        yield http


# --- timings ------------------------------------------------------------------------------


@pytest.fixture
def stopwatch(request: pytest.FixtureRequest) -> Stopwatch:
    return Stopwatch(request.node)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    summarise(terminalreporter)
