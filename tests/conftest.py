"""Shared fixtures: a real database per test (SQLite, and PostgreSQL when configured),
the app over ASGI, and learners with API keys.

PostgreSQL runs when TUTOR_TEST_POSTGRES_URL names a database on a server we may
create databases on; each test process makes its own scratch database from it.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from fakellm import FakeLLM
from helpers import bearer, free_port
from service.app import create_app
from service.config import LLMSettings, Settings, normalise_database_url
from service.learners.service import IssuedKey, create_learner
from service.migrations import upgrade
from service.models import Base

POSTGRES_ENV = "TUTOR_TEST_POSTGRES_URL"
REDIS_ENV = "TUTOR_TEST_REDIS_URL"
BACKENDS = ["sqlite", "postgres"]


def pytest_report_header() -> list[str]:
    lines = []
    if os.environ.get(POSTGRES_ENV):
        lines.append(f"PostgreSQL tests: on, server from {POSTGRES_ENV}")
    else:
        lines.append(
            f"PostgreSQL tests: OFF ({POSTGRES_ENV} is not set; they will be reported as skipped)"
        )
    if os.environ.get(REDIS_ENV):
        lines.append(f"Redis tests: on, server from {REDIS_ENV}")
    else:
        lines.append(f"Redis tests: OFF ({REDIS_ENV} is not set; they will be reported as skipped)")
    return lines


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not os.environ.get(POSTGRES_ENV):
        terminalreporter.write_sep(
            "!", f"PostgreSQL half NOT run: set {POSTGRES_ENV} to test on PostgreSQL", red=True
        )
    if not os.environ.get(REDIS_ENV):
        terminalreporter.write_sep(
            "!", f"Redis limits NOT tested: set {REDIS_ENV} to test them on Redis", red=True
        )


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No setting from the developer's shell or .env file leaks into a test."""
    for name in list(os.environ):
        test_server = name in (POSTGRES_ENV, REDIS_ENV)
        if (name.startswith("TUTOR_") and not test_server) or name == "OPENAI_API_KEY":
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


# --- databases -------------------------------------------------------------------


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated SQLite file; each test gets a copy, which is faster than migrating."""
    path = tmp_path_factory.mktemp("sqlite-template") / "tutor.db"
    upgrade(f"sqlite+aiosqlite:///{path}")
    return path


async def _admin_execute(server_url: str, *statements: str) -> None:
    engine = create_async_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            for statement in statements:
                await connection.execute(text(statement))
    finally:
        await engine.dispose()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A scratch database for this test process, migrated once, dropped at the end."""
    configured = os.environ.get(POSTGRES_ENV)
    if not configured:
        pytest.skip(f"PostgreSQL not configured: {POSTGRES_ENV} is not set")
    server = make_url(normalise_database_url(configured))
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    name = f"tutor_test_{worker}_{os.getpid()}"
    admin_url = server.render_as_string(hide_password=False)
    asyncio.run(
        _admin_execute(admin_url, f"DROP DATABASE IF EXISTS {name}", f"CREATE DATABASE {name}")
    )
    url = server.set(database=name).render_as_string(hide_password=False)
    upgrade(url)
    yield url
    asyncio.run(_admin_execute(admin_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


@pytest.fixture(scope="session")
def redis_server_url() -> str:
    """The Redis server for limit tests; each test keeps to a key prefix of its own."""
    url = os.environ.get(REDIS_ENV)
    if not url:
        pytest.skip(f"Redis not configured: {REDIS_ENV} is not set")
    return url


def _empty_postgres(url: str) -> None:
    tables = ", ".join(table.name for table in Base.metadata.sorted_tables)
    asyncio.run(_admin_execute(url, f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty, migrated database of each backend, private to this test."""
    if request.param == "sqlite":
        path = tmp_path / "tutor.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite+aiosqlite:///{path}"
    url: str = request.getfixturevalue("postgres_url")
    _empty_postgres(url)
    return url


# --- the app -----------------------------------------------------------------------


@pytest.fixture
def fake_llm() -> Iterator[FakeLLM]:
    """A scripted OpenAI-compatible server; a test that asks for it gets an app wired to it."""
    with FakeLLM() as fake:
        yield fake


@pytest.fixture
def llm_overrides() -> dict[str, object]:
    """LLM settings a test changes, by parametrizing this fixture."""
    return {}


@pytest.fixture
def settings(
    request: pytest.FixtureRequest,
    database_url: str,
    tmp_path: Path,
    llm_overrides: dict[str, object],
) -> Settings:
    llm: dict[str, object] = {}
    if "fake_llm" in request.fixturenames:
        fake: FakeLLM = request.getfixturevalue("fake_llm")
        llm = {"base_url": fake.base_url, "model": "tutor-test-model", "max_retries": 0}
    return Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        llm=LLMSettings(**(llm | llm_overrides)),
        _env_file=None,
    )


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    # raise_app_exceptions=False: a 500 must reach the test as the response a client sees.
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://tutor.test") as http:
        yield http


@pytest.fixture
async def live_url(app: FastAPI) -> AsyncIterator[str]:
    """The app (lifespan already running) behind uvicorn on a free port, for tests that
    need real streaming: httpx's ASGI transport hands over a response only once it ends."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_level="warning")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 - uvicorn has no "started" event to await
        await asyncio.sleep(0.01)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await task


@pytest.fixture
async def session(app: FastAPI) -> AsyncIterator[AsyncSession]:
    async with app.state.database.sessionmaker() as db_session:
        yield db_session


MakeLearner = Callable[..., Awaitable[IssuedKey]]


@pytest.fixture
def make_learner(app: FastAPI) -> MakeLearner:
    async def make(name: str | None = None, timezone: str = "UTC") -> IssuedKey:
        async with app.state.database.sessionmaker() as db_session:
            return await create_learner(
                db_session, name=name or f"learner-{uuid.uuid4().hex[:8]}", timezone=timezone
            )

    return make


@pytest.fixture
async def learner(make_learner: MakeLearner) -> IssuedKey:
    return await make_learner("ada")


@pytest.fixture
async def api(app: FastAPI, learner: IssuedKey) -> AsyncIterator[httpx.AsyncClient]:
    """A client signed in as the learner `ada`."""
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://tutor.test", headers=bearer(learner.key)
    ) as http:
        yield http
