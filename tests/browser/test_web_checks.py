"""The Check loop in the browser: answer the question an explanation ends with, see it
graded under the message, a missed check made a card draft, failures graded again."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
from playwright.sync_api import Locator, Page, expect

from fakellm import Failure, FakeLLM, Reply

PASSAGE = "We scale the dot products by 1/sqrt(d_k) before the softmax."
QUESTION = "What would the softmax do if the dot products were not scaled?"
EXPLANATION = f"Large dot products push the softmax to one-hot.\n\n**Check:** {QUESTION}"
FEEDBACK = "You have the direction; look again at what large inputs do."
EXPECTED = "It saturates into a near one-hot vector with vanishing gradients."


def _grade(result: str, **reply: Any) -> Reply:
    body = {"result": result, "feedback": FEEDBACK, "expected": EXPECTED}
    return Reply(json.dumps(body), **reply)


def _explained(page: Page, fake_llm: FakeLLM, text: str = EXPLANATION) -> Locator:
    """A new session with one explanation ending in `text`; its message on the page."""
    fake_llm.script(Reply(text))
    page.get_by_label("Title (optional)").fill("Attention")
    page.get_by_role("button", name="Start session").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Attention")
    page.get_by_role("textbox", name="Passage", exact=True).fill(PASSAGE)
    page.get_by_role("button", name="Explain").click()
    answer = page.locator("article.tutor[data-status=complete]").first
    expect(answer).to_contain_text(text.splitlines()[0])
    return answer


def _answer_box(message: Locator) -> Locator:
    return message.get_by_label("Your answer to the check question")


def _session_id(api: httpx.Client) -> str:
    session_id: str = api.get("sessions").json()["items"][0]["id"]
    return session_id


def test_a_missed_check_shows_what_was_looked_for_and_the_draft_it_made(
    page: Page, fake_llm: FakeLLM, api: httpx.Client
) -> None:
    message = _explained(page, fake_llm)
    _answer_box(message).fill("It gets a bit sharper.")
    fake_llm.script(_grade("wrong", headers_delay=0.6))
    message.get_by_role("button", name="Check my answer").click()

    expect(message.get_by_role("status")).to_have_text("Grading…")
    expect(message.get_by_role("button", name="Check my answer")).to_be_disabled()
    attempt = message.locator("li.check-attempt")
    expect(attempt).to_contain_text("Not yet")
    expect(attempt).to_be_focused()
    expect(attempt).to_contain_text("You answered: It gets a bit sharper.")
    expect(attempt).to_contain_text(FEEDBACK)
    expect(attempt).to_contain_text(f"The answer looked for: {EXPECTED}")
    expect(attempt).to_contain_text("A card draft was made for review")
    session_id = _session_id(api)
    drafts = attempt.get_by_role("link", name="See this session’s drafts")
    expect(drafts).to_have_attribute("href", f"#/sessions/{session_id}/cards")
    expect(message.get_by_role("button", name="Check my answer")).to_be_enabled()
    expect(_answer_box(message)).to_have_value("")  # graded: the box is ready for another go

    (check,) = api.get(f"sessions/{session_id}/checks").json()["items"]
    card = api.get(f"cards/{check['card_id']}").json()
    assert card["status"] == "draft"
    assert QUESTION in card["front"]
    assert "missed-check" in card["tags"]

    page.reload()
    message = page.locator("article.tutor[data-status=complete]")
    attempt = message.locator("li.check-attempt")
    expect(attempt).to_contain_text("Not yet")
    expect(attempt).to_contain_text(f"The answer looked for: {EXPECTED}")
    expect(message.get_by_role("form", name="Answer the check")).to_be_visible()

    attempt.get_by_role("link", name="See this session’s drafts").click()
    expect(page).to_have_url(re.compile(f"#/sessions/{session_id}/cards$"))
    expect(page.locator("#session-panel")).to_contain_text(QUESTION)


def test_a_right_answer_makes_no_draft_and_later_answers_are_listed_after_it(
    page: Page, fake_llm: FakeLLM, api: httpx.Client
) -> None:
    message = _explained(page, fake_llm)
    _answer_box(message).fill("It would saturate towards one-hot.")
    fake_llm.script(_grade("right"))
    message.get_by_role("button", name="Check my answer").click()

    attempts = message.locator("li.check-attempt")
    expect(attempts).to_contain_text("Right")
    expect(attempts).to_contain_text(FEEDBACK)
    expect(attempts).not_to_contain_text("looked for")
    expect(attempts.get_by_role("link")).to_have_count(0)
    assert api.get("cards", params={"status": "draft"}).json()["items"] == []

    # Answering again adds an attempt below the first one, which stays.
    _answer_box(message).fill("It gets sharper.")
    fake_llm.script(_grade("partly"))
    _answer_box(message).press("Control+Enter")
    expect(attempts).to_have_count(2)
    expect(attempts.nth(0)).to_contain_text("Right")
    expect(attempts.nth(1)).to_contain_text("Partly")
    expect(attempts.nth(1)).to_contain_text("Attempt 2")
    expect(attempts.nth(1)).to_be_focused()
    expect(attempts.nth(1).get_by_role("link", name="See this session’s drafts")).to_be_visible()


def test_a_failed_grading_keeps_the_answer_and_grade_again_grades_it(
    page: Page, fake_llm: FakeLLM, api: httpx.Client
) -> None:
    message = _explained(page, fake_llm)
    _answer_box(message).fill("My careful answer.")
    fake_llm.script(Failure(500, "upstream exploded"))  # the server's client does not retry
    message.get_by_role("button", name="Check my answer").click()

    alert = message.get_by_role("alert")
    expect(alert).to_contain_text("Grading failed")
    expect(alert).to_contain_text("upstream exploded")
    expect(alert).to_contain_text("Your answer is kept.")
    expect(message.get_by_role("button", name="Grade again")).to_be_focused()
    expect(_answer_box(message)).to_have_value("My careful answer.")
    expect(message.locator("li.check-attempt")).to_contain_text("You answered: My careful answer.")
    (check,) = api.get(f"sessions/{_session_id(api)}/checks").json()["items"]
    assert (check["status"], check["answer"]) == ("failed", "My careful answer.")

    # A reload finds the answer still waiting, in the list and in the box.
    page.reload()
    message = page.locator("article.tutor[data-status=complete]")
    expect(_answer_box(message)).to_have_value("My careful answer.")
    expect(message.locator("li.check-attempt")).to_contain_text("failed")

    fake_llm.script(_grade("partly"))
    message.get_by_role("button", name="Grade again").click()
    attempts = message.locator("li.check-attempt")
    expect(attempts).to_contain_text("Partly")
    expect(attempts).to_have_count(1)  # the same answer, graded now: not a second attempt
    expect(attempts).to_be_focused()
    expect(message.get_by_role("button", name="Grade again")).to_have_count(0)
    expect(_answer_box(message)).to_have_value("")
    assert fake_llm.pending == 0


def test_only_an_answer_that_ends_with_a_check_question_can_be_answered(
    page: Page, fake_llm: FakeLLM
) -> None:
    _explained(page, fake_llm, "Scaling keeps the logits' variance near one. No question here.")
    expect(page.locator("article.tutor[data-status=complete]")).to_have_count(1)
    expect(page.get_by_role("form", name="Answer the check")).to_have_count(0)

    fake_llm.script(Reply("The variance grows with d_k.\n\n*Check*: Why the square root?"))
    page.get_by_label("Follow-up").fill("Why does it grow?")
    page.get_by_role("button", name="Ask", exact=True).click()
    answers = page.locator("article.tutor[data-status=complete]")
    expect(answers).to_have_count(2)
    expect(page.get_by_role("form", name="Answer the check")).to_have_count(1)
    expect(answers.nth(1).get_by_role("form", name="Answer the check")).to_be_visible()
