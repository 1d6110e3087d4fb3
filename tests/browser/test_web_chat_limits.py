"""The chat when the learner's limits refuse (429): the reason in words, nothing they typed lost.

This module's server has small limits (three model calls a minute, a small daily token
quota, one stream at a time), so each test reaches one of them in a few requests.
"""

from __future__ import annotations

import re

import httpx
import pytest
from browsing import Server
from playwright.sync_api import Locator, Page, expect

from fakellm import FakeLLM, Reply

RATE_PER_MINUTE = 3
STREAMS = 1


@pytest.fixture(scope="module")
def server_settings() -> dict[str, str]:
    return {
        "TUTOR_RATE_LIMIT_PER_MINUTE": str(RATE_PER_MINUTE),
        "TUTOR_DAILY_TOKEN_QUOTA": "20000",
        "TUTOR_MAX_CONCURRENT_STREAMS": str(STREAMS),
    }


def _passage(page: Page) -> Locator:
    return page.get_by_role("textbox", name="Passage", exact=True)


def _open_session(page: Page, server: Server, api: httpx.Client) -> str:
    session_id: str = api.post("sessions", json={"title": "Limits"}).json()["id"]
    page.goto(f"{server.url}#/sessions/{session_id}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Limits")
    return session_id


def _explain_in_the_page(page: Page, passage: str) -> None:
    _passage(page).fill(passage)
    page.get_by_role("button", name="Explain").click()


def _assert_refused_and_kept(page: Page, passage: str, api: httpx.Client, session_id: str) -> None:
    """Nothing was stored: no message on screen or on the server, the passage still typed."""
    expect(page.locator("article.message")).to_have_count(0)
    expect(page.get_by_text("Paste a passage below")).to_be_visible()
    expect(_passage(page)).to_have_value(passage)
    expect(page.get_by_role("button", name="Explain")).to_be_enabled()
    assert api.get(f"sessions/{session_id}").json()["messages"] == []


def test_too_many_requests_a_minute_says_so_and_keeps_the_passage(
    page: Page, server: Server, api: httpx.Client, fake_llm: FakeLLM
) -> None:
    elsewhere = api.post("sessions", json={"title": "Elsewhere"}).json()["id"]
    fake_llm.default = Reply("An answer.")
    for _ in range(RATE_PER_MINUTE):
        explained = api.post(f"sessions/{elsewhere}/explain", json={"passage": "Spend the rate."})
        assert explained.status_code == 200, explained.text
    session_id = _open_session(page, server, api)

    _explain_in_the_page(page, "PPO clips the probability ratio.")
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text(f"Too many requests to the model: at most {RATE_PER_MINUTE}")
    expect(alert).to_contain_text("Try again in")
    expect(alert).to_have_attribute("data-code", "rate_limited")
    _assert_refused_and_kept(page, "PPO clips the probability ratio.", api, session_id)
    assert len(fake_llm.requests) == RATE_PER_MINUTE


def test_a_used_up_quota_says_when_it_resets_in_local_time(
    page: Page, server: Server, api: httpx.Client, fake_llm: FakeLLM
) -> None:
    elsewhere = api.post("sessions", json={"title": "Elsewhere"}).json()["id"]
    fake_llm.script(Reply("A long answer.", prompt_tokens=20_000))
    assert api.post(f"sessions/{elsewhere}/explain", json={"passage": "Spend it."}).is_success
    session_id = _open_session(page, server, api)

    _explain_in_the_page(page, "DPO needs no reward model.")
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Today's model quota is used up")
    expect(alert).to_have_attribute("data-code", "quota_exceeded")
    # The reset time reads as a date and time in the browser's words, not as ISO 8601.
    expect(alert).to_contain_text("It resets at ")
    expect(alert).not_to_contain_text(re.compile(r"\dT\d\d:\d\d"))
    _assert_refused_and_kept(page, "DPO needs no reward model.", api, session_id)
    assert len(fake_llm.requests) == 1


def test_a_second_stream_at_once_is_refused_in_words(
    page: Page, server: Server, api: httpx.Client, fake_llm: FakeLLM
) -> None:
    fake_llm.script(Reply("word " * 60, chunk_size=10, delay_between_chunks=0.1))
    elsewhere = api.post("sessions", json={"title": "Elsewhere"}).json()["id"]
    other_tab = page.context.new_page()
    other_tab.goto(f"{server.url}#/sessions/{elsewhere}")
    other_tab.get_by_role("textbox", name="Passage", exact=True).fill("A slow answer.")
    other_tab.get_by_role("button", name="Explain").click()
    expect(other_tab.locator("article.streaming")).to_contain_text("word")
    session_id = _open_session(page, server, api)

    _explain_in_the_page(page, "GQA shares keys and values.")
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("At most one answer can stream at once")
    expect(alert).to_contain_text("Wait for one to finish")
    expect(alert).to_have_attribute("data-code", "too_many_streams")
    _assert_refused_and_kept(page, "GQA shares keys and values.", api, session_id)
    # The answer that held the slot was not disturbed.
    finished = other_tab.locator("article.tutor[data-status=complete]")
    expect(finished).to_contain_text("word", timeout=15_000)
