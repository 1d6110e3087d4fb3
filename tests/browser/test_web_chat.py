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
    # Said once, on the answer, with the button to press: no API directions for the learner.
    expect(failed.get_by_role("button", name="Retry")).to_be_focused()
    expect(page.get_by_role("alert")).to_have_count(1)
    expect(page.locator("#view")).not_to_contain_text("POST /v1")
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


def test_stop_keeps_the_partial_answer_as_interrupted_and_retry_finishes_it(
    page: Page, fake_llm: FakeLLM
) -> None:
    fake_llm.script(
        Reply("One two three four five six seven eight.", chunk_size=4, delay_between_chunks=0.4),
        Reply("The whole answer."),
    )
    _new_session(page)
    _passage(page).fill("PPO clips the ratio.")
    page.get_by_role("button", name="Explain").click()
    expect(page.locator("article.streaming")).to_contain_text("One")
    page.get_by_role("button", name="Stop").click()

    interrupted = page.locator("article.tutor[data-status=interrupted]")
    expect(interrupted).to_contain_text("interrupted")
    expect(interrupted.locator(".body")).to_contain_text("One")
    expect(page.get_by_role("button", name="Stop")).to_be_hidden()
    assert fake_llm.wait_for_disconnect(5)

    interrupted.get_by_role("button", name="Retry").click()
    expect(page.locator("article.tutor[data-status=complete]")).to_contain_text("The whole answer.")


def test_a_passage_too_long_is_refused_in_words_and_stays_in_the_box(
    page: Page, fake_llm: FakeLLM
) -> None:
    _new_session(page)
    long_passage = "attention " * 7000
    _passage(page).fill(long_passage)
    page.get_by_role("button", name="Explain").click()
    expect(page.get_by_role("alert")).to_contain_text("the limit is 6000")
    expect(_passage(page)).to_have_value(long_passage)
    expect(page.locator("article.message")).to_have_count(0)
    assert fake_llm.requests == []


def test_ctrl_enter_sends_and_the_page_does_not_jump_while_the_answer_streams(
    page: Page, fake_llm: FakeLLM
) -> None:
    words = " ".join(f"word{index}" for index in range(120))
    fake_llm.script(Reply(words, chunk_size=12, delay_between_chunks=0.05))
    _new_session(page)
    _passage(page).fill("Grouped-query attention shares keys and values across heads.")
    _passage(page).press("Control+Enter")

    streaming = page.locator("article.streaming")
    expect(streaming).to_contain_text("word0")
    passage_top = page.locator("article[data-kind=passage]").bounding_box()
    answer_top = streaming.bounding_box()
    assert passage_top
    assert answer_top
    expect(page.locator("article.tutor[data-status=complete]")).to_contain_text("word119")
    # The finished answer makes the page read the session again and draw it anew: measure
    # the drawing that stays (on a loaded machine the old one can be going at that moment).
    expect(page.locator("article[data-kind=passage]")).to_be_visible()
    passage_after = page.locator("article[data-kind=passage]").bounding_box()
    answer_after = page.locator("article.tutor[data-status=complete]").bounding_box()
    assert passage_after
    assert answer_after
    # What the learner is reading stays where it was; only the space below grows.
    assert passage_after["y"] == passage_top["y"]
    assert answer_after["y"] == answer_top["y"]
