"""Explain it back in the browser: quoted words marked, fixes shown on request, attempts
side by side, failures."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
from browsing import Server
from playwright.sync_api import Locator, Page, expect

from fakellm import FakeLLM, Reply

CONCEPT = "scaled dot-product attention"
# The line break inside "divide by / d_k" is matched by a quote with a single space.
ATTEMPT = (
    "Attention lets every token look at every other token. The softmax of Q times K "
    "gives weights, and we divide by\n  d_k so the numbers stay small."
)
WRONG = {
    "type": "misconception",
    "quote": "we divide by d_k",
    "problem": "This divisor grows too fast with the dimension.",
    "hint": "What is the variance of a dot product of two random d_k-vectors?",
    "question": "Which divisor makes that variance 1?",
    "fix": "The scaling is by the square root of d_k, not d_k.",
}
MISSING = {
    "type": "omission",
    "quote": None,
    "problem": "The values V never appear: weights alone are not the output.",
    "hint": "What do the weights multiply?",
    "question": "What is averaged?",
    "fix": "The output is the weights times the values V.",
}
IMPRECISE = {
    "type": "imprecision",
    "quote": "the numbers stay small",
    "problem": "Small is vague.",
    "hint": "Which statistic of the logits does the scaling fix?",
    "question": "Small in what sense?",
    "fix": "The scaling keeps the variance of the logits near one.",
}
NEXT_STEP = "Rewrite your last sentence with the right divisor."


def critique_json(**overrides: Any) -> str:
    body = {
        "verdict": "shaky",
        "score": 3,
        "strengths": ["You have the weighted-average picture right."],
        "issues": [WRONG, MISSING, IMPRECISE],
        "questions": ["Why would unscaled dot products hurt the softmax's gradients?"],
        "next_step": NEXT_STEP,
        "improved_since_last": None,
    }
    return json.dumps(body | overrides)


def _open_tab(page: Page, server: Server, api: httpx.Client) -> str:
    session_id: str = api.post("sessions", json={"title": "Attention"}).json()["id"]
    page.goto(f"{server.url}#/sessions/{session_id}/explain-back")
    expect(page.get_by_role("heading", name="Explain it back")).to_be_visible()
    return session_id


def _concept(page: Page) -> Locator:
    return page.get_by_role("textbox", name="Concept", exact=True)


def _explanation(page: Page) -> Locator:
    return page.get_by_role("textbox", name="Your explanation")


def _critique(page: Page) -> Locator:
    return page.locator("section.critique")


def _explanation_text(element: Locator) -> str:
    return element.evaluate("node => node.textContent")


def _critique_of(api: httpx.Client, session_id: str, **body: Any) -> dict[str, Any]:
    response = api.post(
        f"sessions/{session_id}/critiques",
        json={"concept": CONCEPT, "explanation": ATTEMPT, **body},
    )
    assert response.status_code == 201, response.text
    critique: dict[str, Any] = response.json()
    return critique


def test_a_critique_marks_the_quoted_words(
    page: Page, server: Server, api: httpx.Client, fake_llm: FakeLLM
) -> None:
    fake_llm.script(Reply(critique_json()))
    session_id = _open_tab(page, server, api)
    _concept(page).fill(CONCEPT)
    _explanation(page).fill(ATTEMPT)
    page.get_by_role("button", name="Critique my explanation").click()

    critique = _critique(page)
    expect(critique.get_by_role("heading", level=2)).to_have_text(f"Attempt 1: {CONCEPT}")
    expect(critique.locator(".verdict")).to_have_text("Shaky")
    expect(critique.locator(".verdict")).to_have_class("verdict verdict-shaky")
    expect(critique.locator(".score")).to_have_text("3/5")
    # No depth was picked and the session has no answers: the server's default.
    expect(critique.locator(".verdict-line")).to_contain_text("judged at intuition depth")
    expect(critique).to_contain_text("You have the weighted-average picture right.")
    expect(critique).to_contain_text("Why would unscaled dot products hurt")
    expect(critique.locator(".next-step")).to_have_text(f"Next step: {NEXT_STEP}")

    shown = critique.locator(".explanation")
    marks = shown.locator("mark")
    expect(marks).to_have_count(2)
    assert " ".join(_explanation_text(marks.nth(0)).split()) == "we divide by d_k"
    expect(marks.nth(0)).to_have_class("type-misconception")
    expect(marks.nth(1)).to_have_text("the numbers stay small")
    expect(marks.nth(1)).to_have_class("type-imprecision")
    # Nothing of the learner's text is lost or repeated around the marks.
    assert _explanation_text(shown) == ATTEMPT

    # Each mark is described by its issue, which says what is wrong and how to think on,
    # not by the button that shows the fix.
    expect(marks.nth(0)).to_have_accessible_description(
        "Misconception we divide by d_k This divisor grows too fast with the dimension. "
        "Hint: What is the variance of a dot product of two random d_k-vectors? "
        "Ask yourself: Which divisor makes that variance 1?"
    )
    issues = critique.locator("ol.issues > li")
    expect(issues).to_have_count(3)
    expect(issues.nth(0).locator(".issue-type")).to_have_text("Misconception")
    expect(issues.nth(1).locator(".issue-type")).to_have_text("Missing")
    expect(issues.nth(1)).to_contain_text("(not in your words)")
    expect(issues.nth(1)).to_contain_text("The values V never appear")
    expect(issues.nth(1)).to_contain_text("Ask yourself: What is averaged?")
    expect(issues.nth(2).locator(".issue-type")).to_have_text("Imprecise")
    # The fixes wait to be asked for.
    for issue in (WRONG, MISSING, IMPRECISE):
        expect(critique).not_to_contain_text(issue["fix"])
    expect(critique.get_by_role("button", name="Show the fix for issue 2")).to_be_visible()

    # The server has it; the box is empty for the next attempt.
    expect(_explanation(page)).to_have_value("")
    (stored,) = api.get(f"sessions/{session_id}/critiques").json()["items"]
    assert (stored["explanation"], stored["attempt"]) == (ATTEMPT, 1)


def test_overlapping_quotes_keep_the_text_whole(
    page: Page, server: Server, api: httpx.Client, fake_llm: FakeLLM
) -> None:
    text = "The softmax of Q times K gives weights over the values, one per token."
    issues = [
        {**WRONG, "quote": "softmax of Q times K"},
        {**IMPRECISE, "quote": "Q times K gives weights"},
    ]
    fake_llm.script(Reply(critique_json(issues=issues)))
    _open_tab(page, server, api)
    _concept(page).fill(CONCEPT)
    _explanation(page).fill(text)
    page.get_by_role("button", name="Critique my explanation").click()

    shown = _critique(page).locator(".explanation")
    marks = shown.locator("mark")
    expect(marks).to_have_count(3)
    assert [_explanation_text(marks.nth(i)) for i in range(3)] == [
        "softmax of ",
        "Q times K",
        " gives weights",
    ]
    # The shared words belong to both issues and take the colour of the worse one.
    assert len(marks.nth(1).get_attribute("aria-describedby").split()) == 2
    # Each issue's number follows the last piece of its quote, and only that piece.
    assert [marks.nth(i).get_attribute("data-ref") for i in range(3)] == [None, "1", "2"]
    expect(marks.nth(1)).to_have_class("type-misconception")
    assert _explanation_text(shown) == text


def test_a_second_attempt_shows_the_first_beside_it(
    page: Page, server: Server, api: httpx.Client, fake_llm: FakeLLM
) -> None:
    session_id = api.post("sessions", json={"title": "Attention"}).json()["id"]
    fake_llm.script(Reply(critique_json()), Reply(critique_json(verdict="solid", score=5)))
    first = {"concept": CONCEPT, "explanation": ATTEMPT}
    assert api.post(f"sessions/{session_id}/critiques", json=first).status_code == 201
    other = {"concept": "Rotary embeddings", "explanation": "They rotate query and key pairs."}
    assert api.post(f"sessions/{session_id}/critiques", json=other).status_code == 201
    page.goto(f"{server.url}#/sessions/{session_id}/explain-back")

    # Both concepts can be revisited; the latest is on screen.
    concepts = page.get_by_role("list", name="Concepts you have explained")
    expect(concepts.get_by_role("button")).to_have_count(2)
    expect(_critique(page).get_by_role("heading", level=2)).to_have_text(
        "Attempt 1: Rotary embeddings"
    )
    concepts.get_by_role("button", name=CONCEPT).click()
    expect(_critique(page).get_by_role("heading", level=2)).to_have_text(f"Attempt 1: {CONCEPT}")
    expect(_critique(page).get_by_role("heading", level=2)).to_be_focused()

    _critique(page).get_by_role("button", name="Revise this explanation").click()
    expect(_explanation(page)).to_have_value(ATTEMPT)
    expect(_explanation(page)).to_be_focused()
    expect(_concept(page)).to_have_value(CONCEPT)
    better = ATTEMPT.replace("divide by\n  d_k", "divide by the square root of d_k")
    _explanation(page).fill(better)
    improved = critique_json(verdict="solid", score=4, improved_since_last=True, issues=[MISSING])
    fake_llm.script(Reply(improved))
    page.get_by_role("button", name="Critique my explanation").click()

    expect(_critique(page).get_by_role("heading", level=2)).to_have_text(f"Attempt 2: {CONCEPT}")
    expect(_critique(page).locator(".improved")).to_have_text("Improved since last attempt")
    attempts = page.locator(".attempts > article")
    expect(attempts).to_have_count(2)
    expect(attempts.nth(0).get_by_role("heading")).to_have_text("Attempt 1")
    expect(attempts.nth(0).locator(".score")).to_have_text("3/5")
    expect(attempts.nth(0).locator("mark")).to_have_count(2)
    # Compact: what was wrong, not how to fix it.
    expect(attempts.nth(0).locator(".issue-type")).to_have_text(
        ["Misconception", "Missing", "Imprecise"]
    )
    expect(attempts.nth(0)).to_contain_text(WRONG["problem"])
    expect(attempts.nth(0)).not_to_contain_text("Hint:")
    expect(attempts.nth(0).get_by_role("button")).to_have_count(0)
    expect(attempts.nth(1).get_by_role("heading")).to_have_text("Attempt 2 (latest)")
    expect(attempts.nth(1).locator(".score")).to_have_text("4/5")
    expect(attempts.nth(1)).to_contain_text("Improved since last attempt")
    expect(concepts.get_by_role("button", name=CONCEPT)).to_contain_text("2 attempts")

    stored = api.get(f"sessions/{session_id}/critiques", params={"concept": CONCEPT}).json()
    assert [(c["attempt"], c["explanation"]) for c in stored["items"]] == [
        (1, ATTEMPT),
        (2, better),
    ]

    # A phone's width: the attempts stack, nothing scrolls sideways.
    page.set_viewport_size({"width": 375, "height": 800})
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_a_failed_critique_keeps_the_text_and_retry_runs_it(
    page: Page, server: Server, api: httpx.Client, fake_llm: FakeLLM
) -> None:
    session_id = _open_tab(page, server, api)
    _concept(page).fill(CONCEPT)
    _explanation(page).fill(ATTEMPT)
    page.reload()  # what is typed survives a reload
    expect(_explanation(page)).to_have_value(ATTEMPT)
    expect(_concept(page)).to_have_value(CONCEPT)

    fake_llm.script(Reply("I liked it!"), Reply('{"verdict": "great"}'))
    page.get_by_role("button", name="Critique my explanation").click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("did not have the expected structure")
    expect(alert).to_contain_text("Your explanation is saved")
    expect(_explanation(page)).to_have_value(ATTEMPT)
    assert api.get(f"sessions/{session_id}/critiques").json()["items"] == []

    fake_llm.script(Reply(critique_json()))
    page.get_by_role("alert").get_by_role("button", name="Retry").click()
    expect(_critique(page).locator(".verdict")).to_have_text("Shaky")
    expect(page.get_by_role("alert")).to_have_count(0)
    expect(_explanation(page)).to_have_value("")
    items = api.get(f"sessions/{session_id}/critiques").json()["items"]
    assert [(c["explanation"], c["verdict"]) for c in items] == [(ATTEMPT, "shaky")]


def test_a_few_words_get_a_request_for_a_real_attempt(
    page: Page, server: Server, api: httpx.Client, fake_llm: FakeLLM
) -> None:
    _open_tab(page, server, api)
    _concept(page).fill(CONCEPT)
    _explanation(page).fill("idk")
    page.get_by_role("button", name="Critique my explanation").click()

    critique = _critique(page)
    expect(critique.locator(".low-effort")).to_contain_text("too short for the tutor to critique")
    expect(critique.locator(".low-effort")).to_contain_text(f"what problem does {CONCEPT} solve?")
    expect(critique.locator(".score")).to_have_count(0)
    assert fake_llm.requests == []


def test_a_fix_is_shown_only_when_asked_for(
    page: Page, server: Server, api: httpx.Client, fake_llm: FakeLLM
) -> None:
    session_id = api.post("sessions", json={"title": "Attention"}).json()["id"]
    fake_llm.script(Reply(critique_json()))
    critique_id = _critique_of(api, session_id)["id"]
    page.goto(f"{server.url}#/sessions/{session_id}/explain-back")
    critique = _critique(page)
    expect(critique.locator(".reveal-note")).to_have_text(
        "Try the hint first — showing the fix counts as a reveal."
    )

    # The learner is halfway through a revision when they give up on issue 1.
    critique.get_by_role("button", name="Revise this explanation").click()
    revising = ATTEMPT.replace("divide by\n  d_k", "divide by the root of")
    _explanation(page).fill(revising)
    show = critique.get_by_role("button", name="Show the fix for issue 1")
    expect(show).to_have_accessible_description(
        "Try the hint first — showing the fix counts as a reveal."
    )
    show.click()

    issues = critique.locator("ol.issues > li")
    expect(issues.nth(0).locator(".fix")).to_have_text(f"Fix: {WRONG['fix']}")
    expect(issues.nth(0).locator(".fix")).to_be_focused()
    expect(issues.nth(0).get_by_role("button")).to_have_count(0)
    expect(critique).not_to_contain_text(MISSING["fix"])
    expect(critique).not_to_contain_text(IMPRECISE["fix"])
    expect(critique.get_by_role("button", name="Show the fix for issue 2")).to_be_visible()
    expect(critique.get_by_role("button", name="Show the fix for issue 3")).to_be_visible()
    # Nothing was redrawn: the revision is still in the box.
    expect(_explanation(page)).to_have_value(revising)
    # The marked quote is now described with its fix.
    expect(critique.locator(".explanation mark").first).to_have_accessible_description(
        re.compile(re.escape(f"Fix: {WRONG['fix']}") + "$")
    )

    (stored,) = api.get(f"sessions/{session_id}/critiques").json()["items"]
    assert (stored["id"], stored["reveals"]) == (critique_id, 1)
    assert [issue["revealed"] for issue in stored["issues"]] == [True, False, False]

    page.reload()
    critique = _critique(page)
    issues = critique.locator("ol.issues > li")
    expect(issues.nth(0).locator(".fix")).to_have_text(f"Fix: {WRONG['fix']}")
    expect(critique.get_by_role("button", name=re.compile("^Show the fix"))).to_have_count(2)
    expect(_explanation(page)).to_have_value(revising)


def test_a_failed_reveal_keeps_the_button(
    page: Page, server: Server, api: httpx.Client, fake_llm: FakeLLM
) -> None:
    session_id = api.post("sessions", json={"title": "Attention"}).json()["id"]
    fake_llm.script(Reply(critique_json()))
    _critique_of(api, session_id)
    page.goto(f"{server.url}#/sessions/{session_id}/explain-back")
    show = _critique(page).get_by_role("button", name="Show the fix for issue 2")
    expect(show).to_be_visible()

    # Deleted from another tab: the server no longer has the session.
    assert api.delete(f"sessions/{session_id}").status_code == 204
    show.click()
    alert = _critique(page).get_by_role("alert")
    expect(alert).to_have_text("No such session.")
    expect(alert).to_have_attribute("data-code", "session_not_found")
    expect(show).to_be_enabled()
    expect(_critique(page).locator(".fix")).to_have_count(0)


def test_the_depth_picked_reaches_the_critique(
    page: Page, server: Server, api: httpx.Client, fake_llm: FakeLLM
) -> None:
    session_id = _open_tab(page, server, api)
    depth = page.get_by_role("combobox", name="Depth")
    expect(depth).to_have_value("")
    expect(depth.locator("option:checked")).to_have_text("Session's depth (Intuition)")
    _concept(page).fill(CONCEPT)
    _explanation(page).fill(ATTEMPT)
    depth.select_option(label="Rigorous")
    fake_llm.script(Reply(critique_json()))
    page.get_by_role("button", name="Critique my explanation").click()

    expect(_critique(page).locator(".verdict-line")).to_contain_text("judged at rigorous depth")
    assert "aims at: rigorous" in fake_llm.last_request.json["messages"][1]["content"]
    (stored,) = api.get(f"sessions/{session_id}/critiques").json()["items"]
    assert stored["level"] == "rigorous"
