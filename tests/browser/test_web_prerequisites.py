"""A path back in the browser: two failed explanations of a concept, or "I'm lost", show
the concepts the passage rests on, what the learner knows of them, and a step for each."""

from __future__ import annotations

import json
from typing import Any

import httpx
from browsing import Server
from playwright.sync_api import Locator, Page, expect

from fakellm import FakeLLM, Reply
from helpers import verdict_only_critique_json

PASSAGE = "We divide each dot product by sqrt(d_k) and apply a softmax to obtain the weights."
CONCEPT = "scaled dot-product attention"
ATTEMPT = "Attention multiplies the queries by the keys and that is the output of the layer."


def _concept(name: str, paper: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"name": name, "also_called": [], "why": f"The passage uses {name}.", "paper": paper}


PATH = json.dumps(
    {
        "summary": "Scaled attention rests on the softmax and on the variance of sums.",
        "concepts": [
            _concept("softmax"),
            _concept("layer normalization", {"title": "Layer Normalization", "arxiv_id": None}),
            _concept("variance of a sum", {"title": "Probability for ML", "arxiv_id": None}),
            _concept("dot product"),
        ],
    }
)


def _session_with_passage(api: httpx.Client, fake_llm: FakeLLM) -> str:
    """A session whose passage is explained; a card on the softmax, reviewed Good; a
    source on layer normalization in the reading queue."""
    card = api.post("cards", json={"front": "What does a softmax give?", "back": "Weights."})
    assert card.status_code == 201, card.text
    graded = api.post("reviews", json={"card_id": card.json()["id"], "rating": "good"})
    assert graded.status_code in (200, 201), graded.text
    assert api.post("sources", json={"title": "Layer Normalization"}).status_code == 201
    session_id: str = api.post("sessions", json={"title": "Attention"}).json()["id"]
    fake_llm.script(Reply("Each query is compared with every key."))
    assert api.post(f"sessions/{session_id}/explain", json={"passage": PASSAGE}).status_code == 200
    return session_id


def _expect_the_path(page: Page) -> Locator:
    panel = page.locator("section.prerequisites")
    expect(panel.get_by_role("heading", name="A path back")).to_be_visible()
    expect(panel.locator(".summary")).to_contain_text("rests on the softmax")
    items = panel.locator("li.prerequisite")
    expect(items).to_have_count(4)
    expect(items.nth(0)).to_contain_text("✓ known")
    expect(items.nth(0)).to_contain_text("1 card you review; last graded Good.")
    expect(items.nth(1).get_by_role("link", name="Open Layer Normalization")).to_be_visible()
    expect(items.nth(2).get_by_role("button", name="Add to reading queue")).to_be_visible()
    expect(items.nth(3).get_by_role("button", name="Ask here")).to_be_visible()
    return panel


def test_two_failed_explanations_show_the_path_back(
    page: Page, server: Server, api: httpx.Client, fake_llm: FakeLLM
) -> None:
    session_id = _session_with_passage(api, fake_llm)
    page.goto(f"{server.url}#/sessions/{session_id}/explain-back")
    page.get_by_role("textbox", name="Concept", exact=True).fill(CONCEPT)
    explanation = page.get_by_role("textbox", name="Your explanation")
    critique = page.get_by_role("button", name="Critique my explanation")

    fake_llm.script(Reply(verdict_only_critique_json("shaky", 2)))
    explanation.fill(ATTEMPT)
    critique.click()
    expect(page.locator("section.critique h2")).to_have_text(f"Attempt 1: {CONCEPT}")
    expect(page.locator("section.prerequisites")).to_be_hidden()

    fake_llm.script(Reply(verdict_only_critique_json("wrong", 1)), Reply(PATH))
    explanation.fill(ATTEMPT + " Then a softmax.")
    critique.click()
    expect(page.locator("section.critique h2")).to_have_text(f"Attempt 2: {CONCEPT}")
    panel = _expect_the_path(page)
    asked = fake_llm.last_request.json["messages"][1]["content"]
    assert "attempt 2 (judged wrong, score 1/5)" in asked

    # A suggested paper goes into the reading queue, and can be opened from there.
    panel.get_by_role("button", name="Add to reading queue").click()
    expect(panel.get_by_role("link", name="Open Probability for ML")).to_be_visible()
    titles = [source["title"] for source in api.get("sources").json()["items"]]
    assert "Probability for ML" in titles


def test_im_lost_in_the_chat_shows_the_path_and_asks_here(
    page: Page, server: Server, api: httpx.Client, fake_llm: FakeLLM
) -> None:
    session_id = _session_with_passage(api, fake_llm)
    page.goto(f"{server.url}#/sessions/{session_id}")
    expect(page.locator("article.tutor[data-status=complete]")).to_have_count(1)

    fake_llm.script(Reply(PATH))
    page.get_by_role("button", name="I'm lost").click()
    panel = _expect_the_path(page)
    assert PASSAGE in fake_llm.last_request.json["messages"][1]["content"]

    fake_llm.script(Reply("A dot product sums the products of matching entries."))
    panel.get_by_role("button", name="Ask here").click()
    answers = page.locator("article.tutor[data-status=complete]")
    expect(answers).to_have_count(2)
    expect(page.locator("article.learner[data-kind=question]").last).to_contain_text(
        "explain dot product for this passage"
    )
    # The path stays: read back with the session.
    page.reload()
    expect(page.locator("section.prerequisites li.prerequisite")).to_have_count(4)


def test_saying_you_are_lost_opens_the_path(
    page: Page, server: Server, api: httpx.Client, fake_llm: FakeLLM
) -> None:
    session_id = _session_with_passage(api, fake_llm)
    page.goto(f"{server.url}#/sessions/{session_id}")
    fake_llm.script(Reply("Let us go slower."), Reply(PATH))
    page.get_by_role("textbox", name="Follow-up").fill("Honestly, I'm lost.")
    page.get_by_role("button", name="Ask", exact=True).click()
    expect(page.locator("article.tutor[data-status=complete]")).to_have_count(2)
    _expect_the_path(page)
    path = api.get(f"sessions/{session_id}/prerequisites").json()["items"][0]
    assert path["trigger"] == "lost"
