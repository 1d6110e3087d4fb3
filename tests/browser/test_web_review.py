"""The review page: grading with the keyboard (SM-2's 0–5, FSRS's 1–4), the drill, undo,
cloze cards, failures."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
from browsing import Server
from playwright.sync_api import Locator, Page, Request, Route, expect

RATING_WORDS = ("Again", "Hard", "Good", "Easy")  # FSRS's (Anki's) buttons, keys 1–4


def _card(api: httpx.Client, front: str, back: str = "", kind: str = "basic") -> dict[str, Any]:
    response = api.post("cards", json={"front": front, "back": back, "kind": kind})
    assert response.status_code == 201, response.text
    card: dict[str, Any] = response.json()
    return card


def _grades(api: httpx.Client, card: dict[str, Any]) -> list[int]:
    reviews = api.get(f"cards/{card['id']}/reviews").json()["items"]
    return [review["grade"] for review in reviews]


def _open_review(page: Page) -> None:
    page.get_by_role("link", name=re.compile(r"^Review")).click()
    # Focused once the page is drawn: until then it is on the link just clicked, whose
    # own Space the review's shortcut leaves alone (a Space pressed then did nothing).
    expect(page.get_by_role("heading", name="Review", level=1)).to_be_focused()


def _question(page: Page) -> Locator:
    return page.get_by_role("region", name="Question")


def _answer(page: Page) -> Locator:
    return page.get_by_role("region", name="Answer")


def _grade_buttons(page: Page) -> Locator:
    return page.get_by_role("group", name="How well did you remember it?").get_by_role("button")


def _shortcuts(page: Page) -> Locator:
    return page.get_by_role("region", name="Keyboard shortcuts")


def _progress(page: Page, done: int, total: int) -> None:
    bar = page.get_by_role("progressbar", name="Reviewed in this sitting")
    expect(bar).to_have_attribute("aria-valuenow", str(done))
    expect(bar).to_have_attribute("aria-valuemax", str(total))
    expect(page.locator(".review-progress-text")).to_have_text(
        f"{done} of {total} reviewed in this sitting"
    )


def test_a_whole_review_with_the_keyboard_alone(page: Page, api: httpx.Client) -> None:
    first = _card(api, "What does GQA share between heads?", "Keys and values")
    second = _card(api, "What does RoPE rotate?", "Query and key pairs")
    page.reload()  # the badge counts the cards made after the page opened
    expect(page.locator("#due-badge")).to_have_text("2")
    _open_review(page)
    expect(page.get_by_role("list", name="Waiting today")).to_contain_text("2 new")
    _progress(page, 0, 2)
    expect(page.get_by_text("Space", exact=True).first).to_be_visible()  # shortcuts listed

    expect(_question(page)).to_contain_text("What does GQA share")
    expect(_answer(page)).to_be_hidden()
    page.keyboard.press("4")  # no grade before the answer shows
    expect(page.get_by_role("group", name="How well did you remember it?")).to_have_count(0)

    page.keyboard.press("Space")
    expect(_answer(page)).to_have_text("Keys and values")
    expect(page.get_by_role("button", name="3 Right, with real effort")).to_be_visible()
    expect(_grade_buttons(page)).to_have_count(6)  # SM-2's 0–5
    expect(_shortcuts(page)).to_contain_text("0–5 grade the card")
    page.keyboard.press("4")
    expect(_question(page)).to_contain_text("What does RoPE rotate?")
    expect(_answer(page)).to_be_hidden()
    _progress(page, 1, 2)

    page.keyboard.press("Space")
    expect(_answer(page)).to_have_text("Query and key pairs")
    page.keyboard.press("5")
    expect(page.get_by_role("heading", name="Done for today")).to_be_visible()
    _progress(page, 2, 2)
    expect(page.get_by_text("You graded 2 reviews of 2 cards")).to_be_visible()
    expect(page.get_by_text(re.compile(r"Tomorrow .*: 2 cards due"))).to_be_visible()
    expect(page.get_by_role("link", name="See your stats")).to_be_visible()
    expect(page.get_by_role("link", name="Back to sessions")).to_be_visible()
    expect(page.locator("#due-badge")).to_be_hidden()

    assert _grades(api, first) == [4]
    assert _grades(api, second) == [5]
    review = api.get(f"cards/{first['id']}/reviews").json()["items"][0]
    assert review["duration_ms"] is not None
    assert review["duration_ms"] > 0
    assert re.search(r"[+-]\d\d:\d\d$|Z$", review["reviewed_at"])


def test_a_three_joins_the_drill_at_the_end_and_a_four_ends_it(
    page: Page, api: httpx.Client
) -> None:
    hard = _card(api, "What is the KL penalty for?", "Keeping the policy near the reference")
    easy = _card(api, "What is d_k?", "The key dimension")
    _open_review(page)

    page.keyboard.press("Space")
    page.get_by_role("button", name="3 Right, with real effort").click()
    expect(_question(page)).to_contain_text("What is d_k?")
    expect(page.get_by_role("list", name="Waiting today")).to_contain_text("1 in the drill")
    _progress(page, 1, 3)

    page.keyboard.press("Space")
    page.keyboard.press("4")
    expect(_question(page)).to_contain_text("What is the KL penalty for?")
    expect(page.get_by_role("article", name="Card")).to_contain_text("Drill")
    page.keyboard.press("Space")
    page.keyboard.press("4")
    expect(page.get_by_role("heading", name="Done for today")).to_be_visible()
    _progress(page, 3, 3)

    reviews = api.get(f"cards/{hard['id']}/reviews").json()["items"]
    assert [(r["grade"], r["drill"]) for r in reviews] == [(3, False), (4, True)]
    assert api.get(f"cards/{hard['id']}").json()["schedule"]["drill"] is False
    assert _grades(api, easy) == [4]


def test_u_undoes_the_last_grade_and_brings_the_card_back(page: Page, api: httpx.Client) -> None:
    first = _card(api, "Why scale by sqrt(d_k)?", "To keep the softmax soft")
    _card(api, "What is MQA?", "One key and value head")
    _open_review(page)
    undo = page.get_by_role("button", name="Undo last grade")
    expect(undo).to_be_disabled()

    page.keyboard.press("Space")
    page.keyboard.press("5")
    expect(_question(page)).to_contain_text("What is MQA?")
    assert _grades(api, first) == [5]

    page.keyboard.press("u")
    expect(_question(page)).to_contain_text("Why scale by sqrt(d_k)?")
    expect(_answer(page)).to_be_hidden()
    _progress(page, 0, 2)
    expect(undo).to_be_disabled()
    assert _grades(api, first) == []

    page.keyboard.press("Space")
    page.keyboard.press("2")
    expect(_question(page)).to_contain_text("What is MQA?")  # a miss waits behind the rest
    assert _grades(api, first) == [2]


def test_a_cloze_card_shows_its_blank_then_the_answer(page: Page, api: httpx.Client) -> None:
    _card(api, "Attention divides by {{c1::the square root of d_k}}.", "Vaswani et al.", "cloze")
    _open_review(page)
    expect(_question(page)).to_have_text("Attention divides by […].")
    expect(page.get_by_role("article", name="Card")).to_contain_text("Cloze")
    expect(page.get_by_text("the square root of d_k")).to_be_hidden()

    page.keyboard.press("Space")
    expect(_answer(page).locator("strong")).to_have_text("the square root of d_k")
    expect(_answer(page)).to_contain_text("Vaswani et al.")


def test_a_card_graded_elsewhere_gets_a_409_in_words_and_the_page_goes_on(
    page: Page, api: httpx.Client
) -> None:
    taken = _card(api, "What is a KV cache?", "Stored keys and values")
    other = _card(api, "What is speculative decoding?", "Draft, then verify")
    _open_review(page)
    expect(_question(page)).to_contain_text("What is a KV cache?")
    # Another client grades the card first: it is no longer due today.
    assert api.post("reviews", json={"card_id": taken["id"], "grade": 5}).status_code == 201

    page.keyboard.press("Space")
    page.keyboard.press("4")
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("This card is due on")
    expect(alert).to_contain_text("another tab")
    expect(_question(page)).to_contain_text("What is a KV cache?")  # the card stays
    assert _grades(api, taken) == [5]

    alert.get_by_role("button", name="Go to the next card").click()
    expect(_question(page)).to_contain_text("What is speculative decoding?")
    expect(page.get_by_role("alert")).to_have_count(0)
    page.keyboard.press("Space")
    page.keyboard.press("4")
    expect(page.get_by_role("heading", name="Done for today")).to_be_visible()
    assert _grades(api, other) == [4]


def test_a_retry_after_a_lost_answer_grades_once(page: Page, api: httpx.Client) -> None:
    card = _card(api, "What does top-p sampling keep?", "The smallest likely set")
    keys: list[str | None] = []

    def record(request: Request) -> None:
        if request.method == "POST" and request.url.endswith("/v1/reviews"):
            keys.append(request.headers.get("idempotency-key"))

    def lose_the_answer(route: Route) -> None:
        route.fetch()  # the server grades the card...
        route.abort()  # ...and the answer never arrives

    page.on("request", record)
    page.route("**/v1/reviews", lose_the_answer, times=1)
    _open_review(page)
    page.keyboard.press("Space")
    page.keyboard.press("4")
    expect(page.get_by_role("alert")).to_contain_text("could not be reached")
    expect(page.get_by_role("alert")).to_contain_text("choose it again to retry")
    expect(_question(page)).to_contain_text("top-p")

    page.keyboard.press("4")
    expect(page.get_by_role("heading", name="Done for today")).to_be_visible()
    assert _grades(api, card) == [4]
    assert len(keys) == 2
    assert keys[0]
    assert keys[0] == keys[1]


def test_an_empty_queue_says_so_and_points_to_making_cards(page: Page) -> None:
    _open_review(page)
    expect(page.get_by_role("heading", name="Nothing to review right now")).to_be_visible()
    expect(page.get_by_text("You have no active cards yet")).to_be_visible()
    expect(page.get_by_role("link", name="Cards page")).to_have_attribute("href", "#/cards")
    bar = page.get_by_role("progressbar", name="Reviewed in this sitting")
    expect(bar).to_have_attribute("aria-valuenow", "0")
    expect(bar).to_have_attribute("aria-valuetext", "0 of 0 reviewed")
    expect(page.locator(".review-progress-text")).to_have_text("Nothing waiting today")


def test_nothing_due_today_says_when_the_next_cards_come(page: Page, api: httpx.Client) -> None:
    card = _card(api, "What is a logit?", "An unnormalised log-probability")
    assert api.post("reviews", json={"card_id": card["id"], "grade": 4}).status_code == 201
    _open_review(page)
    expect(page.get_by_role("heading", name="Nothing to review right now")).to_be_visible()
    expect(page.get_by_text("No cards are waiting today.")).to_be_visible()
    expect(page.get_by_text(re.compile(r"Tomorrow .*: 1 card due"))).to_be_visible()


def test_shortcuts_stop_when_the_learner_leaves_the_page(
    page: Page, api: httpx.Client, server: Server
) -> None:
    card = _card(api, "What is beam search?", "Keeping the k best prefixes")
    page.goto(f"{server.url}#/review")  # straight to the page, not through the menu
    expect(_question(page)).to_contain_text("beam search")
    page.get_by_role("link", name="Stats").click()
    expect(page.get_by_role("heading", name="Stats", level=1)).to_be_visible()
    page.keyboard.press("Space")
    page.keyboard.press("5")
    page.keyboard.press("u")
    page.wait_for_timeout(300)
    assert _grades(api, card) == []


def test_a_phone_wide_screen_has_no_sideways_scroll(page: Page, api: httpx.Client) -> None:
    _card(api, "A long question " * 20, "A long answer " * 20)
    page.set_viewport_size({"width": 375, "height": 800})
    _open_review(page)
    page.keyboard.press("Space")
    expect(page.get_by_role("button", name="5 Perfect, at once, sure of it")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 375


def _reviews(api: httpx.Client, card: dict[str, Any]) -> list[tuple[str, int, str]]:
    reviews = api.get(f"cards/{card['id']}/reviews").json()["items"]
    return [(review["rating"], review["grade"], review["scheduler"]) for review in reviews]


def test_an_fsrs_learner_rates_with_keys_1_to_4_as_in_anki(page: Page, api: httpx.Client) -> None:
    assert api.patch("me/scheduler", json={"scheduler": "fsrs"}).status_code == 200
    learning = _card(api, "What does DPO optimise directly?", "The policy, from preferences")
    easy = _card(api, "What does PPO clip?", "The probability ratio")
    sent: list[dict[str, Any]] = []

    def record(request: Request) -> None:
        if request.method == "POST" and request.url.endswith("/v1/reviews"):
            sent.append(json.loads(request.post_data or "{}"))

    page.on("request", record)
    _open_review(page)
    expect(_shortcuts(page)).to_contain_text("1–4 grade the card")
    expect(_shortcuts(page)).to_contain_text("1 Again, 2 Hard, 3 Good, 4 Easy")

    page.keyboard.press("Space")
    expect(_grade_buttons(page)).to_have_text(
        [re.compile(rf"^{key} {word}") for key, word in enumerate(RATING_WORDS, start=1)]
    )
    expect(page.get_by_role("button", name="1 Again, forgot it")).to_be_visible()
    page.keyboard.press("0")  # not a key of FSRS's scale
    page.keyboard.press("5")
    page.wait_for_timeout(200)
    assert sent == []

    page.keyboard.press("3")
    expect(page.locator("#announcer")).to_have_text("Graded Good, recalled after a moment.")
    expect(_question(page)).to_contain_text("What does PPO clip?")
    # A new card rated Good is in FSRS's learning steps: back again today.
    expect(page.get_by_role("list", name="Waiting today")).to_contain_text("1 in the drill")
    page.keyboard.press("Space")
    page.get_by_role("button", name="4 Easy, recalled at once, no effort").click()

    expect(_question(page)).to_contain_text("What does DPO optimise directly?")
    expect(page.get_by_role("article", name="Card")).to_contain_text("Learning step: again today")
    page.keyboard.press("Space")
    page.keyboard.press("3")
    expect(page.get_by_role("heading", name="Done for today")).to_be_visible()
    expect(
        page.get_by_text(
            "You graded 3 reviews of 2 cards in this sitting: "
            "3 right (Hard, Good or Easy), 0 to learn again (Again)."
        )
    ).to_be_visible()
    expect(page.get_by_role("list", name="Reviewed in this sitting")).to_contain_text(
        "Ratings: Good, Good"
    )

    assert [set(body) & {"grade", "rating"} for body in sent] == [{"rating"}] * 3
    assert [body["rating"] for body in sent] == ["good", "easy", "good"]
    assert _reviews(api, learning) == [("good", 4, "fsrs"), ("good", 4, "fsrs")]
    assert _reviews(api, easy) == [("easy", 5, "fsrs")]
    assert api.get(f"cards/{learning['id']}").json()["schedule"]["fsrs"]["state"] == "review"


def test_an_fsrs_again_is_announced_and_undone_in_its_own_words(
    page: Page, api: httpx.Client
) -> None:
    assert api.patch("me/scheduler", json={"scheduler": "fsrs"}).status_code == 200
    card = _card(api, "What is the reward model trained on?", "Pairs of preferred answers")
    _open_review(page)
    page.keyboard.press("Space")
    page.keyboard.press("1")
    expect(page.locator("#announcer")).to_have_text("Graded Again, forgot it.")
    expect(page.get_by_role("article", name="Card")).to_contain_text("Learning step")
    assert _reviews(api, card) == [("again", 1, "fsrs")]

    page.keyboard.press("u")
    expect(page.locator("#announcer")).to_have_text("Undid Again: the card is back.")
    expect(page.get_by_role("article", name="Card")).to_contain_text("New card")
    assert _reviews(api, card) == []
