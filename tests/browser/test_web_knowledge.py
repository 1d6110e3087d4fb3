"""What Tutor knows, in the browser: the concepts and misconceptions critiques found, the
learner's corrections to them, a concept added by hand, and what the tutor is told."""

from __future__ import annotations

import json
from typing import Any

import httpx
from browsing import UNNAMED_CONTROLS, Server
from playwright.sync_api import Locator, Page, expect

from fakellm import FakeLLM, Reply

CONCEPT = "Scaled dot-product attention"
EXPLANATION = (
    "Attention lets every token look at every other token. The softmax of Q times K "
    "gives weights, and we divide by d_k so the numbers stay small."
)
PROBLEM = "This divisor grows too fast with the dimension."
QUOTE = "we divide by d_k"
MISCONCEPTION = {
    "type": "misconception",
    "quote": QUOTE,
    "problem": PROBLEM,
    "hint": "What is the variance of a dot product of two random d_k-vectors?",
    "question": "Which divisor makes that variance 1?",
    "fix": "The scaling is by the square root of d_k, not d_k.",
}
ABOUT = "Why is scaled dot-product attention divided by the square root of d_k?"
NOTHING_TOLD = "Nothing: the tutor starts from zero on this text."


def _critique_reply(score: int) -> Reply:
    body = {
        "verdict": "shaky",
        "score": score,
        "strengths": ["You have the weighted-average picture right."],
        "issues": [MISCONCEPTION],
        "questions": ["Why would unscaled dot products hurt the softmax's gradients?"],
        "next_step": "Rewrite your last sentence with the right divisor.",
        "improved_since_last": None,
    }
    return Reply(json.dumps(body))


def _explained_twice(api: httpx.Client, fake_llm: FakeLLM) -> str:
    """Two critiqued attempts at CONCEPT, the same misconception in both; the session id."""
    session_id: str = api.post("sessions", json={"title": "Attention"}).json()["id"]
    for score in (2, 3):
        fake_llm.script(_critique_reply(score))
        response = api.post(
            f"sessions/{session_id}/critiques",
            json={"concept": CONCEPT, "explanation": EXPLANATION},
        )
        assert response.status_code == 201, response.text
    return session_id


def _knowledge(api: httpx.Client, **params: str) -> dict[str, Any]:
    response = api.get("me/knowledge", params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _open(page: Page, server: Server) -> None:
    page.goto(f"{server.url}#/knowledge")
    expect(page.get_by_role("heading", name="What Tutor knows", level=1)).to_be_visible()


def _concept(page: Page, name: str) -> Locator:
    return page.get_by_role("article", name=name)


def _correction(page: Page, name: str) -> Locator:
    return _concept(page, name).get_by_label(f"Your correction for {name}")


def _misconception(page: Page) -> Locator:
    return page.get_by_role("article", name=PROBLEM)


def test_a_concept_and_its_misconception_show_with_their_evidence(
    page: Page, server: Server, api: httpx.Client, fake_llm: FakeLLM
) -> None:
    _explained_twice(api, fake_llm)
    # A reviewed card tagged with the concept (tags take underscores for spaces).
    card = api.post("cards", json={"front": "Why scale by 1/sqrt(d_k)?", "tags": [CONCEPT]})
    assert card.status_code == 201, card.text
    review = api.post("reviews", json={"card_id": card.json()["id"], "grade": 3})
    assert review.status_code == 201, review.text
    (concept,) = _knowledge(api)["concepts"]
    assert (concept["attempts"], concept["last_score"], concept["cards"]) == (2, 3, 1)
    assert concept["status"] == "shaky"  # the mistake is still open

    page.get_by_role("link", name="What Tutor knows").click()
    expect(page.get_by_role("heading", name="What Tutor knows", level=1)).to_be_visible()
    expect(page.get_by_role("link", name="What Tutor knows")).to_have_attribute(
        "aria-current", "page"
    )
    shown = _concept(page, CONCEPT)
    expect(shown.locator(".knowledge-status")).to_have_text("Shaky")
    # SM-2 takes the ease from 2.5 to 2.36 on a grade of 3.
    expect(shown.locator(".evidence")).to_have_text(
        "2 explanations, last 3/5 · 1 card, 0 lapses, ease 2.36 · 1 open misconception"
    )
    expect(_correction(page, CONCEPT)).to_have_value("")

    wrong = _misconception(page)
    expect(wrong).to_contain_text(f"You wrote: “{QUOTE}”")
    expect(wrong).to_contain_text(f"{CONCEPT} · came back 2×")
    expect(wrong.locator(".misconception-state")).to_have_text("Open")
    expect(wrong.get_by_role("button", name="Not mine / got it")).to_have_attribute(
        "aria-pressed", "false"
    )


def test_marking_a_concept_known_persists(
    page: Page, server: Server, api: httpx.Client, fake_llm: FakeLLM
) -> None:
    _explained_twice(api, fake_llm)
    _open(page, server)
    correction = _correction(page, CONCEPT)
    correction.select_option(label="I know this")
    expect(page.locator("#announcer")).to_have_text(f"Tutor will build on “{CONCEPT}”.")
    expect(correction).to_be_enabled()
    (concept,) = _knowledge(api)["concepts"]
    assert concept["mark"] == "known"

    page.reload()
    correction = _correction(page, CONCEPT)
    expect(correction).to_have_value("known")
    correction.select_option(label="Don't use")
    expect(page.locator("#announcer")).to_contain_text("will not be told")
    assert _knowledge(api)["concepts"][0]["mark"] == "ignore"

    correction.select_option(label="—")
    expect(page.locator("#announcer")).to_contain_text("is cleared")
    assert _knowledge(api)["concepts"][0]["mark"] is None


def test_dismissing_a_misconception_persists_and_can_be_undone(
    page: Page, server: Server, api: httpx.Client, fake_llm: FakeLLM
) -> None:
    _explained_twice(api, fake_llm)
    _open(page, server)
    toggle = _misconception(page).get_by_role("button", name="Not mine / got it")
    toggle.click()
    expect(toggle).to_have_attribute("aria-pressed", "true")
    expect(toggle).to_be_focused()
    expect(_misconception(page).locator(".misconception-state")).to_have_text("Dismissed")
    # No mistake open any more, and a last score of 3/5: the concept is being learned.
    expect(_concept(page, CONCEPT).locator(".knowledge-status")).to_have_text("Learning")
    expect(_concept(page, CONCEPT)).not_to_contain_text("open misconception")
    (misconception,) = _knowledge(api)["misconceptions"]
    assert misconception["state"] == "dismissed"

    page.reload()
    toggle = _misconception(page).get_by_role("button", name="Not mine / got it")
    expect(toggle).to_have_attribute("aria-pressed", "true")
    toggle.click()
    expect(toggle).to_have_attribute("aria-pressed", "false")
    expect(_misconception(page).locator(".misconception-state")).to_have_text("Open")
    assert _knowledge(api)["misconceptions"][0]["state"] == "open"


def test_a_misconception_gone_elsewhere_is_explained_in_words(
    page: Page, server: Server, api: httpx.Client, fake_llm: FakeLLM
) -> None:
    session_id = _explained_twice(api, fake_llm)
    _open(page, server)
    # Deleting the session in another tab takes its critiques, and their misconception.
    assert api.delete(f"sessions/{session_id}").status_code == 204
    toggle = _misconception(page).get_by_role("button", name="Not mine / got it")
    toggle.click()
    alert = _misconception(page).get_by_role("alert")
    expect(alert).to_have_attribute("data-code", "misconception_not_found")
    expect(toggle).to_have_attribute("aria-pressed", "false")
    expect(toggle).to_be_enabled()


def test_a_concept_added_by_hand_is_known_and_stays(
    page: Page, server: Server, api: httpx.Client
) -> None:
    _open(page, server)
    expect(page.get_by_role("list", name="Concepts")).to_contain_text(
        "Tutor has not seen any concept yet"
    )
    expect(page.get_by_role("list", name="Misconceptions")).to_contain_text("None yet")

    name = page.get_by_label("Concept name")
    name.fill("Layer normalization")
    page.get_by_role("button", name="Add as known").click()
    expect(_correction(page, "Layer normalization")).to_have_value("known")
    expect(_concept(page, "Layer normalization")).to_contain_text("No evidence yet")
    expect(name).to_have_value("")
    expect(name).to_be_focused()
    expect(page.get_by_role("list", name="Concepts")).not_to_contain_text("not seen any")

    (concept,) = _knowledge(api)["concepts"]
    assert (concept["name"], concept["mark"], concept["attempts"], concept["cards"]) == (
        "Layer normalization",
        "known",
        0,
        0,
    )
    page.reload()
    expect(_correction(page, "Layer normalization")).to_have_value("known")


def test_the_preview_shows_what_the_tutor_is_told(
    page: Page, server: Server, api: httpx.Client, fake_llm: FakeLLM
) -> None:
    _open(page, server)
    about = page.get_by_label("Passage or question")
    preview = page.get_by_role("button", name="Preview what the tutor is told")
    about.fill(ABOUT)
    preview.click()
    told = page.get_by_role("region", name="The tutor is told")
    expect(told).to_contain_text(NOTHING_TOLD)
    assert _knowledge(api, about=ABOUT)["told"] is None

    _explained_twice(api, fake_llm)
    expected = _knowledge(api, about=ABOUT)["told"]
    assert expected is not None
    assert CONCEPT.casefold() in expected.casefold()
    preview.click()
    expect(told.locator(".told-text")).to_have_text(expected)
    expect(told).not_to_contain_text(NOTHING_TOLD)


def test_the_page_fits_a_phone_and_names_its_controls(
    page: Page, server: Server, api: httpx.Client, fake_llm: FakeLLM
) -> None:
    _explained_twice(api, fake_llm)
    page.set_viewport_size({"width": 375, "height": 740})
    _open(page, server)
    expect(_concept(page, CONCEPT)).to_be_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"the page is {width} px wide at 375 px"
    assert page.evaluate(UNNAMED_CONTROLS) == []
