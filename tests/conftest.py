"""Shared fixtures: a real database per test (SQLite, and PostgreSQL when one answers),
the app over ASGI, and learners with API keys.

PostgreSQL and Redis are found by themselves: TUTOR_TEST_POSTGRES_URL and
TUTOR_TEST_REDIS_URL when set, else their default local addresses. Set either to `off`
(or to nothing) to leave its tests out. What answers is decided once, in the process
pytest starts, and handed to the xdist workers through the environment; what is left out
is said in the report header and again, in red, at the end. Under CI a server that does
not answer fails its tests instead, as a missing Chromium does; only `off` skips there.
PostgreSQL needs a role that may create databases: each test process makes its own
scratch database on the server and drops it at the end.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import json
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine
from sqlalchemy.pool import NullPool

from fakellm import FakeLLM
from helpers import CHROMIUM_ENV, admin_execute, bearer, find_chromium, free_port
from service.app import create_app
from service.config import LLMSettings, Settings, normalise_database_url
from service.learners.service import IssuedKey, create_learner
from service.migrations import upgrade
from service.models import Base

POSTGRES_ENV = "TUTOR_TEST_POSTGRES_URL"
REDIS_ENV = "TUTOR_TEST_REDIS_URL"
# What the first process found, for the xdist workers it starts (they need not ask again).
FOUND_ENV = "TUTOR_TEST_FOUND_SERVERS"
DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"
# Tests keep to a key prefix of their own (`tutor-test:<uuid>:`, never Tutor's `tutor:`),
# every key they write expires within minutes, and nothing is ever flushed or scanned:
# database 0 beside a developer's own keys is safe.
DEFAULT_REDIS = "redis://127.0.0.1:6379/0"
OFF = ("", "off")
# A local server answers in milliseconds; this bounds a host that drops packets.
PROBE_SECONDS = 2.0
BACKENDS = ["sqlite", "postgres"]


@dataclasses.dataclass(frozen=True)
class SuiteServer:
    """A server the suite tests against, or why its tests do not run."""

    label: str
    variable: str
    url: str | None  # None: its tests skip (or fail, see `fails`)
    origin: str  # where the URL came from, or why there is none
    on_purpose: bool = False  # the variable said `off`
    fails: bool = False  # absent under CI: its tests fail instead of skipping

    @property
    def reason(self) -> str:
        """Why the tests do not run, for a skip or a failure."""
        return f"{self.label} tests off: {self.origin}"


def _shown(url: str) -> str:
    """The URL without its password, for reports."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


async def _postgres_answers(url: str) -> None:
    engine = create_async_engine(
        normalise_database_url(url), poolclass=NullPool, connect_args={"timeout": PROBE_SECONDS}
    )
    try:
        async with asyncio.timeout(PROBE_SECONDS + 1), engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    finally:
        await engine.dispose()


async def _redis_answers(url: str) -> None:
    client = Redis.from_url(url, socket_connect_timeout=PROBE_SECONDS, socket_timeout=PROBE_SECONDS)
    try:
        async with asyncio.timeout(PROBE_SECONDS + 1):
            await client.ping()
    finally:
        await client.aclose()


async def _look_for(
    label: str, variable: str, default: str, answers: Callable[[str], Awaitable[None]]
) -> SuiteServer:
    configured = os.environ.get(variable)
    if configured is not None and configured.strip().lower() in OFF:
        return SuiteServer(label, variable, None, f"{variable}={configured!r}", on_purpose=True)
    url = configured or default
    try:
        await answers(url)
    except Exception as exc:  # any failure to answer means the same: no such server here
        why = f"{type(exc).__name__}: {exc}".strip().rstrip(":")
        origin = f"nothing answers at {_shown(url)} ({why})"
        return SuiteServer(label, variable, None, origin, fails=bool(os.environ.get("CI")))
    if configured:
        return SuiteServer(label, variable, url, f"from {variable}")
    origin = f"found at its default address ({variable}=off leaves it out)"
    return SuiteServer(label, variable, url, origin)


async def _look_for_all() -> tuple[SuiteServer, SuiteServer]:
    return await asyncio.gather(
        _look_for("PostgreSQL", POSTGRES_ENV, DEFAULT_POSTGRES, _postgres_answers),
        _look_for("Redis", REDIS_ENV, DEFAULT_REDIS, _redis_answers),
    )


def _inherited() -> dict[str, SuiteServer] | None:
    """What the process that started this one found, if it still holds."""
    try:
        found = {
            name: SuiteServer(**fields)
            for name, fields in json.loads(os.environ[FOUND_ENV]).items()
        }
    except (KeyError, ValueError, TypeError):
        return None
    # Valid only while the variables still say what that process exported.
    if all(os.environ.get(server.variable) == (server.url or "") for server in found.values()):
        return found
    return None


@functools.cache
def suite_servers() -> dict[str, SuiteServer]:
    """PostgreSQL and Redis for this run, looked for once per run (see the module doc)."""
    found = _inherited()
    if found is None:
        postgres, redis = asyncio.run(_look_for_all())
        found = {"postgres": postgres, "redis": redis}
        # The xdist workers start after pytest_configure, with this environment; a
        # subprocess a test starts sees the server in use, or an empty variable.
        for server in found.values():
            os.environ[server.variable] = server.url or ""
        os.environ[FOUND_ENV] = json.dumps(
            {name: dataclasses.asdict(server) for name, server in found.items()}
        )
    return found


def _url_or_skip(server: SuiteServer) -> str:
    if server.url is None:
        if server.fails:
            pytest.fail(
                f"{server.label}: {server.origin}; under CI its tests must run"
                f" ({server.variable}=off leaves them out on purpose)",
                pytrace=False,
            )
        pytest.skip(server.reason)
    return server.url


def pytest_configure(config: pytest.Config) -> None:
    suite_servers()


# --- markers -----------------------------------------------------------------------

TESTS = Path(__file__).parent
# A test's marker is the first folder of its path under tests/ (pyproject.toml lists them).
FOLDER_MARKERS = ("unit", "api", "system", "browser")


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects by marker
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if not item.path.is_relative_to(TESTS):
            continue
        folder = item.path.relative_to(TESTS).parts[0]
        if folder not in FOLDER_MARKERS:
            # Unmarked, it would drop out of every `-m` selection, the fast subset too.
            raise pytest.UsageError(
                f"{item.path.relative_to(TESTS)}: a test belongs in one of "
                f"tests/{{{','.join(sorted(FOLDER_MARKERS))}}}/ (docs/development.md, tests)"
            )
        item.add_marker(folder)


def pytest_report_header() -> list[str]:
    lines = []
    for server in suite_servers().values():
        if server.url is not None:
            lines.append(f"{server.label} tests: on, {_shown(server.url)}, {server.origin}")
        elif server.fails:
            lines.append(f"{server.label} tests: FAIL under CI, {server.origin}")
        else:
            lines.append(f"{server.label} tests: OFF, {server.origin}; reported as skipped")
    chromium = find_chromium()
    if chromium:
        lines.append(f"Browser tests: on, Chromium at {chromium}")
    else:
        verdict = "FAIL under CI" if os.environ.get("CI") else "OFF"
        lines.append(f"Browser tests: {verdict}, no Chromium ({_chromium_hint()})")
    return lines


def _chromium_hint() -> str:
    configured = os.environ.get(CHROMIUM_ENV)
    if configured:
        return f"{CHROMIUM_ENV}={configured} is not an executable"
    return f"apt-get install chromium, or set {CHROMIUM_ENV} to its path"


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for server in suite_servers().values():
        if server.url is not None:
            continue
        if server.fails:
            message = f"{server.label} tests FAILED: CI is set and {server.origin}"
        elif server.on_purpose:
            message = f"{server.label} tests NOT run: {server.origin}"
        else:
            message = (
                f"{server.label} tests NOT run: {server.origin};"
                f" start it there or set {server.variable}"
            )
        terminalreporter.write_sep("!", message, red=True)
    browser_tests = any(
        getattr(report, "nodeid", "").startswith("tests/browser/")
        for reports in terminalreporter.stats.values()
        for report in reports
    )
    if browser_tests and not find_chromium():
        verdict = "FAILED: CI is set and there is" if os.environ.get("CI") else "NOT run:"
        terminalreporter.write_sep(
            "!", f"Browser tests {verdict} no Chromium ({_chromium_hint()})", red=True
        )


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No setting from the developer's shell or .env file leaks into a test."""
    for name in list(os.environ):
        test_server = name in (POSTGRES_ENV, REDIS_ENV, FOUND_ENV)
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


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A scratch database for this test process, migrated once, dropped at the end."""
    configured = _url_or_skip(suite_servers()["postgres"])
    server = make_url(normalise_database_url(configured))
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    name = f"tutor_test_{worker}_{os.getpid()}"
    admin_url = server.render_as_string(hide_password=False)
    asyncio.run(
        admin_execute(admin_url, f"DROP DATABASE IF EXISTS {name}", f"CREATE DATABASE {name}")
    )
    url = server.set(database=name).render_as_string(hide_password=False)
    upgrade(url)
    yield url
    asyncio.run(admin_execute(admin_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


@pytest.fixture(scope="session")
def redis_server_url() -> str:
    """The Redis server for limit tests; each test keeps to a key prefix of its own."""
    return _url_or_skip(suite_servers()["redis"])


def _empty_postgres(url: str) -> None:
    tables = ", ".join(table.name for table in Base.metadata.sorted_tables)
    asyncio.run(admin_execute(url, f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


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
