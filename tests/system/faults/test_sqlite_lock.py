"""Another process holds SQLite's write lock (`tutor scheduler`, a backup, an operator's
sqlite3 shell) just as an answer ends: the answer waits its turn and is saved, rather
than being lost or left `streaming`."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time

import httpx
import pytest

from fakellm import FakeLLM, Reply

# Longer than one write waits for the lock (5 s), shorter than three.
HELD_SECONDS = 6.5


def _hold_write_lock(path: str, started: threading.Event) -> None:
    other = sqlite3.connect(path)
    try:
        other.execute("BEGIN IMMEDIATE")
        started.set()
        time.sleep(HELD_SECONDS)
    finally:
        other.rollback()
        other.close()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_an_answer_ending_while_another_process_writes_is_saved(
    api: httpx.AsyncClient, fake_llm: FakeLLM, database_url: str
) -> None:
    session_id = (await api.post("/v1/sessions", json={})).json()["id"]
    fake_llm.script(Reply("Clipping keeps the new policy near the old.", headers_delay=1.0))
    asking = asyncio.ensure_future(
        api.post(f"/v1/sessions/{session_id}/explain", json={"passage": "PPO clips."})
    )
    assert await asyncio.to_thread(fake_llm.wait_for_requests, 10)
    started = threading.Event()
    path = database_url.removeprefix("sqlite+aiosqlite:///")
    holder = threading.Thread(target=_hold_write_lock, args=(path, started))
    holder.start()
    started.wait(5)

    response = await asyncio.wait_for(asking, timeout=30)
    holder.join()

    assert response.status_code == 200, response.text
    assert response.json()["message"]["status"] == "complete"
    stored = (await api.get(f"/v1/sessions/{session_id}")).json()["messages"][-1]
    assert stored["status"] == "complete"
    assert stored["content"] == "Clipping keeps the new policy near the old."
