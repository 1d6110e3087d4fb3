"""A session that outgrows the server's context: local servers run with 4k-8k tokens
(llama-server gives SmolLM2 its trained 8192), and a learner who pastes section after
section of a paper into one session must still get answers, the oldest turns leaving
the prompt rather than the server refusing it."""

from __future__ import annotations

import httpx
from stopwatch import Stopwatch
from tutoring import assert_complete_answer, new_session

# 50 sentences: about 2,200 tokens as Tutor counts them (cl100k), 2,400 in SmolLM2's own
# tokens. Three such passages and their answers make more than 8,192.
SENTENCES = 50
SECTIONS = (1, 2, 3)


def long_passage(section: int) -> str:
    """Made-up prose, different in every sentence, so no two passages share a prefix."""
    return " ".join(
        f"In section {section}.{i}, attention head {i % 8} of layer {i % 6} reads position "
        f"{(i * 37) % 512}, weighs it by {(i * 13) % 97} percent, and writes the result "
        "back into the residual stream for the feed-forward block to refine."
        for i in range(SENTENCES)
    )


async def test_a_session_longer_than_the_server_context(
    live_api: httpx.AsyncClient, stopwatch: Stopwatch
) -> None:
    session_id = await new_session(live_api, stopwatch)
    for section in SECTIONS:
        with stopwatch.step(f"explain long passage {section} of {len(SECTIONS)} (JSON)"):
            response = await live_api.post(
                f"/v1/sessions/{session_id}/explain",
                json={"passage": long_passage(section), "level": "eli5"},
            )
        assert response.status_code == 200, f"passage {section}: {response.text}"
        assert_complete_answer(response.json()["message"], level="eli5")
