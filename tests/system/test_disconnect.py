"""A learner who closes the tab mid-answer: the model stops at once, the partial answer stays.

This needs a real server: only a real socket tells the app that its client went away.
"""

from __future__ import annotations

import asyncio
import uuid

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from fakellm import FakeLLM, Reply
from helpers import bearer
from service.calls.models import LLMCall
from service.learners.service import IssuedKey
from service.sessions.models import Message, MessageStatus

LONG_ANSWER = "Rotary embeddings rotate each pair of query and key dimensions. " * 40


async def _wait_for_status(
    session: AsyncSession, message_id: uuid.UUID, status: MessageStatus
) -> Message:
    for _ in range(200):
        session.expire_all()
        message = await session.scalar(select(Message).where(Message.id == message_id))
        if message is not None and message.status is status:
            return message
        await asyncio.sleep(0.025)
    raise AssertionError(f"message never became {status}")


async def test_client_disconnect_closes_upstream_and_saves_the_partial_answer(
    live_url: str, learner: IssuedKey, fake_llm: FakeLLM, session: AsyncSession
) -> None:
    fake_llm.script(Reply(LONG_ANSWER, chunk_size=8, delay_between_chunks=0.05))
    async with httpx.AsyncClient(base_url=live_url, headers=bearer(learner.key)) as http:
        session_id = (await http.post("/v1/sessions", json={})).json()["id"]
        deltas = 0
        async with http.stream(
            "POST",
            f"/v1/sessions/{session_id}/explain",
            json={"passage": "RoPE encodes position by rotation."},
            headers={"Accept": "text/event-stream"},
        ) as response:
            assert response.status_code == 200
            async for line in response.aiter_lines():
                deltas += line == "event: delta"
                if deltas == 3:
                    break
        # Leaving the block closes the connection with the answer half written.

        assert await asyncio.to_thread(fake_llm.wait_for_disconnect, 5.0)
        assert fake_llm.completed_streams == 0
        detail = (await http.get(f"/v1/sessions/{session_id}")).json()

    answer_id = uuid.UUID(detail["messages"][1]["id"])
    answer = await _wait_for_status(session, answer_id, MessageStatus.interrupted)
    assert answer.content
    assert LONG_ANSWER.startswith(answer.content)
    assert len(answer.content) < len(LONG_ANSWER)
    assert answer.error_code == "client_disconnected"
    call = await session.scalar(select(LLMCall))
    assert call is not None
    assert call.outcome == "interrupted"
