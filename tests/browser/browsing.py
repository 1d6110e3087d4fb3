"""What the browser tests share: the server and learner a test gets (fixtures: conftest.py),
and ways to set up what clicking through the pages would take too long to make."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from helpers import bearer
from helpers import store_histories as write_histories
from scheduler.history import CardHistory
from service.config import Settings
from service.db import Database


@dataclass(frozen=True)
class Server:
    url: str
    data_dir: Path
    env: dict[str, str]


@dataclass(frozen=True)
class Learner:
    name: str
    key: str

    @property
    def headers(self) -> dict[str, str]:
        return bearer(self.key)


# A control a keyboard or screen-reader user cannot name is a control they cannot use
# (test_web_quality.py sweeps every page with it).
UNNAMED_CONTROLS = """
() => [...document.querySelectorAll('#view input, #view select, #view textarea, #view button')]
  .filter((c) => c.type !== 'hidden' && c.offsetParent !== null)
  .filter((c) => !(c.labels && c.labels.length) && !c.getAttribute('aria-label')
    && !c.getAttribute('aria-labelledby') && !(c.tagName === 'BUTTON' && c.textContent.trim())
    && !c.closest('label'))
  .map((c) => c.outerHTML.slice(0, 120))
"""


def store_histories(server: Server, learner_id: str, histories: Sequence[CardHistory]) -> None:
    """Months of reviews (tests/synthetic_reviews.py) as the learner's own, written into
    the running server's database: a card per history, a row per review, as SM-2's."""
    # Playwright's sync API keeps an event loop running in this thread: use another one.
    with ThreadPoolExecutor(max_workers=1) as pool:
        work = _store_histories(server.data_dir, uuid.UUID(learner_id), histories)
        pool.submit(asyncio.run, work).result()


async def _store_histories(
    data_dir: Path, learner_id: uuid.UUID, histories: Sequence[CardHistory]
) -> None:
    database = Database(Settings(data_dir=data_dir).database)
    try:
        await write_histories(database.sessionmaker, learner_id, histories)
    finally:
        await database.dispose()
