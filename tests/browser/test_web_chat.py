"""The chat in the browser: the key hand-off, explaining with a stream, follow-ups, failures."""

from __future__ import annotations

import httpx
from browsing import Learner, Server
from playwright.sync_api import Locator, Page, expect

from fakellm import Failure, FakeLLM, Reply


def _passage(page: Page) -> Locator:
    return page.get_by_role("textbox", name="Passage", exact=True)


def _new_session(page: Page, title: str = "Attention") -> None:
    page.get_by_label("Title (optional)").fill(title)
    page.get_by_role("button", name="Start session").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(title)


def test_the_key_in_the_fragment_is_kept_and_taken_out_of_the_address_bar(
    page: Page, learner: Learner
) -> None:
    expect(page.get_by_role("heading", name="Sessions", level=1)).to_be_visible()
    assert "key=" not in page.url
    assert page.evaluate("localStorage.getItem('tutor.apiKey')") == learner.key


def test_a_page_without_a_key_asks_for_one(page: Page, server: Server, learner: Learner) -> None:
    page.evaluate("localStorage.clear()")
    page.goto(server.url)
    dialog = page.get_by_role("dialog", name="Your API key")
    expect(dialog).to_be_visible()
    dialog.get_by_label("API key").fill(learner.key)
    dialog.get_by_role("button", name="Use this key").click()
    expect(page.get_by_role("heading", name="Sessions", level=1)).to_be_visible()


def test_explain_streams_then_shows_the_rendered_answer(page: Page, fake_llm: FakeLLM) -> None:
    fake_llm.script(
        Reply(
            "Scaling keeps the softmax soft: divide by $\\sqrt{d_k}$ "
            "so the dot products stay small.",
            chunk_size=3,
            delay_between_chunks=0.03,
        )
    )
    _new_session(page)
    _passage(page).fill("We scale the dot products by 1/sqrt(d_k).")
    page.get_by_label("Your question (optional)").fill("Why?")
    page.get_by_text("ELI5", exact=True).click()
    page.get_by_role("button", name="Explain").click()

    streaming = page.locator("article.streaming")
    expect(streaming).to_contain_text("Scaling keeps")  # part of it, while it streams
    answer = page.locator("article.tutor[data-status=complete]")
    expect(answer).to_contain_text("so the dot products stay small")
    expect(answer.locator("math")).to_have_count(1)  # the server's MathML replaced the text
    expect(answer).to_contain_text("ELI5")
    expect(page.locator("article.streaming")).to_have_count(0)
    expect(_passage(page)).to_have_value("")
    assert fake_llm.last_request.json["stream"] is True
    expect(page.get_by_role("heading", level=1)).to_have_text("Attention")


def test_simpler_asks_again_one_level_down(page: Page, fake_llm: FakeLLM) -> None:
    fake_llm.script(Reply("The rigorous answer."), Reply("The plain answer."))
    _new_session(page)
    _passage(page).fill("Rotary embeddings rotate query and key pairs.")
    page.get_by_text("Rigorous", exact=True).click()
    page.get_by_role("button", name="Explain").click()
    expect(page.locator("article.tutor[data-status=complete]")).to_have_count(1)

    page.get_by_role("button", name="Simpler").click()
    answers = page.locator("article.tutor[data-status=complete]")
    expect(answers).to_have_count(2)
    expect(answers.nth(1)).to_contain_text("The plain answer.")
    expect(answers.nth(1)).to_contain_text("Intuition")


def test_a_failed_answer_says_why_and_retry_answers_it(
    page: Page, fake_llm: FakeLLM, api: httpx.Client
) -> None:
    fake_llm.script(Failure(500, "upstream exploded"), Reply("Now it works."))
    _new_session(page)
    _passage(page).fill("KL penalty keeps the policy near the reference.")
    page.get_by_role("button", name="Explain").click()

    expect(page.get_by_role("alert").first).to_contain_text("model")
    failed = page.locator("article.tutor[data-status=failed]")
    expect(failed).to_be_visible()
    # The passage was kept by the server, so nothing the learner wrote is lost.
    expect(page.locator("article.learner[data-kind=passage]")).to_contain_text("KL penalty")

    failed.get_by_role("button", name="Retry").click()
    expect(page.locator("article.tutor[data-status=complete]")).to_contain_text("Now it works.")
    sessions = api.get("sessions").json()["items"]
    messages = api.get(f"sessions/{sessions[0]['id']}").json()["messages"]
    assert [m["status"] for m in messages] == ["complete", "complete"]


def test_what_the_learner_typed_survives_a_reload(page: Page) -> None:
    _new_session(page)
    _passage(page).fill("Half-written passage about GQA")
    page.reload()
    expect(_passage(page)).to_have_value("Half-written passage about GQA")
