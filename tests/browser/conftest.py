"""Browser tests: Debian's headless Chromium, driven by Playwright, against a real `tutor serve`.

Each test module starts one `tutor serve` on a free port with a fake model (`fakellm`)
behind it; each test gets a learner of its own and a fresh browser context, so tests do
not see each other's data, keys or localStorage. When a test fails, a screenshot of the
page is saved under `tests/browser/screenshots/` (or `$TUTOR_TEST_SCREENSHOTS`) and its
path is printed in the report, with anything the page logged to its console.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from browsing import Learner, Server
from playwright.sync_api import Browser, Page, Playwright, sync_playwright

from fakellm import FakeLLM
from helpers import CHROMIUM_ENV, find_chromium, free_port
from service.config import Settings
from service.db import Database
from service.learners.service import create_learner

CHROMIUM = find_chromium()
SCREENSHOTS = Path(os.environ.get("TUTOR_TEST_SCREENSHOTS", Path(__file__).parent / "screenshots"))
STARTUP_SECONDS = 30
# Chromium reaches for Google's services at start; this machine's closed network refuses them.
CHROMIUM_ARGS = [
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-gpu",
    "--disable-quic",
]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Playwright's sync API keeps an event loop running in its thread while it is open,
    # and asyncio.run() refuses to start under it (the database fixtures, the CLI). So
    # it is open for one module at a time, and a module's tests run on one xdist worker
    # in one go (`--dist loadgroup`), not interleaved with the rest of the suite.
    for item in items:
        if "browser" in item.nodeid:
            item.add_marker(pytest.mark.xdist_group(item.nodeid.split("::", 1)[0]))
    if CHROMIUM:
        return
    if os.environ.get("CI"):
        return  # in CI a missing browser is a failure: the `browser` fixture reports it
    skip = pytest.mark.skip(reason=f"no Chromium: apt-get install chromium, or set {CHROMIUM_ENV}")
    for item in items:
        if "browser" in item.nodeid:
            item.add_marker(skip)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> pytest.TestReport:
    report: pytest.TestReport = yield
    item.stash.setdefault(_reports_key, {})[report.when] = report
    return report


_reports_key = pytest.StashKey[dict[str, pytest.TestReport]]()


def _environment(data_dir: Path, fake: FakeLLM) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TUTOR_", "OPENAI_"))}
    env.update(
        PYTHONUNBUFFERED="1",
        TUTOR_DATA_DIR=str(data_dir),
        TUTOR_LLM_BASE_URL=fake.base_url,
        TUTOR_LLM_API_KEY="test",
        TUTOR_LLM_MODEL="fake-model",
        TUTOR_LLM_MAX_RETRIES="0",
        TUTOR_LOG_LEVEL="warning",
    )
    return env


def _wait_until_ready(process: subprocess.Popen[str], url: str) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = process.stdout.read() if process.stdout else ""
            raise AssertionError(f"tutor serve exited with {process.returncode}:\n{output}")
        try:
            if httpx.get(f"{url}readyz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    process.kill()
    raise AssertionError(f"tutor serve did not answer at {url} within {STARTUP_SECONDS} s")


@pytest.fixture(scope="module")
def fake_model() -> Iterator[FakeLLM]:
    with FakeLLM() as fake:
        yield fake


@pytest.fixture(scope="module")
def server_settings() -> dict[str, str]:
    """More `TUTOR_*` variables for the module's server; a module overrides this to set them."""
    return {}


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, fake_model: FakeLLM, server_settings: dict[str, str]
) -> Iterator[Server]:
    data_dir = tmp_path_factory.mktemp("tutor-data")
    env = _environment(data_dir, fake_model) | server_settings
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "service", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        _wait_until_ready(process, url)
        yield Server(url=url, data_dir=data_dir, env=env)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture
def fake_llm(fake_model: FakeLLM) -> FakeLLM:
    """The module's fake model, with an empty script for this test."""
    fake_model.reset()
    return fake_model


async def _add_learner(data_dir: Path, name: str) -> str:
    # The server's own database file: what `tutor learner add` would do, without the
    # second of start-up a subprocess costs per test.
    database = Database(Settings(data_dir=data_dir).database)
    try:
        async with database.sessionmaker() as session:
            return (await create_learner(session, name=name)).key
    finally:
        await database.dispose()


@pytest.fixture
def learner(server: Server) -> Learner:
    """A learner of this test's own, in the running server's database."""
    name = f"learner-{uuid.uuid4().hex[:8]}"
    # Playwright's sync API keeps an event loop running in this thread: use another one.
    with ThreadPoolExecutor(max_workers=1) as pool:
        key = pool.submit(asyncio.run, _add_learner(server.data_dir, name)).result()
    return Learner(name=name, key=key)


@pytest.fixture
def api(server: Server, learner: Learner) -> Iterator[httpx.Client]:
    """The learner's API, to set up what a test needs without clicking through it."""
    with httpx.Client(base_url=f"{server.url}v1/", headers=learner.headers, timeout=10) as client:
        yield client


@pytest.fixture(scope="module")  # see pytest_collection_modifyitems
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    if not CHROMIUM:
        pytest.fail(
            f"no Chromium on the PATH nor in {CHROMIUM_ENV}: .ci/run installs Debian's chromium"
        )
    launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield launched
    launched.close()


def _screenshot_name(nodeid: str) -> str:
    return re.sub(r"[^\w.-]+", "_", nodeid.split("::", 1)[-1]) + ".png"


@pytest.fixture
def page(
    request: pytest.FixtureRequest, browser: Browser, server: Server, learner: Learner
) -> Iterator[Page]:
    """A page signed in as the test's learner (the key handed over in the URL fragment)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    opened = context.new_page()
    problems: list[str] = []
    opened.on("pageerror", lambda error: problems.append(f"uncaught: {error}"))
    opened.on(
        "console",
        lambda message: (
            problems.append(f"console.{message.type}: {message.text}")
            if message.type == "error"
            else None
        ),
    )
    opened.goto(f"{server.url}#key={learner.key}")
    yield opened
    reports = request.node.stash.get(_reports_key, {})
    if any(report.failed for report in reports.values()):
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / _screenshot_name(request.node.nodeid)
        opened.screenshot(path=str(path), full_page=True)
        print(f"\nscreenshot: {path}")
        print("\n".join(problems))
    context.close()
    uncaught = [problem for problem in problems if problem.startswith("uncaught")]
    assert not uncaught, "the page threw:\n" + "\n".join(uncaught)
