"""Make cards in the browser: distil a session, then accept, edit and reject its drafts."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
from browsing import Server
from playwright.sync_api import Dialog, Locator, Page, expect

from fakellm import FakeLLM, Reply

GOOD = {
    "front": "In the Transformer, why are attention logits divided by $\\sqrt{d_k}$?",
    "back": "To keep the softmax out of saturation, where its gradients vanish.",
    "kind": "basic",
    "tags": ["transformer", "attention"],
}
CLOZE = {
    "front": "Scaled dot-product attention is $\\mathrm{softmax}(QK^T/{{c1::\\sqrt{d_k}}})V$.",
    "back": "",
    "kind": "cloze",
    "tags": ["transformer"],
}
YES_NO = {
    "front": "Is the scaling factor in attention $\\sqrt{d_k}$?",
    "back": "Yes",
    "kind": "basic",
    "tags": [],
}
EMPTY_BACK = {
    "front": "In the Transformer, what is $d_k$?",
    "back": "",
    "kind": "basic",
    "tags": [],
}
VAGUE = {
    "front": "Explain multi-head attention.",
    "back": "Several heads attend to different subspaces.",
    "kind": "basic",
    "tags": ["attention"],
}
PRECISE = {
    "front": "In the Transformer, how many attention heads does the base model use?",
    "back": "Eight.",
    "kind": "basic",
    "tags": ["transformer"],
}
EXISTING = "What does multi-head attention add over a single head?"


def cards_json(*cards: dict[str, Any]) -> str:
    return json.dumps({"cards": list(cards)})


def _open_tab(page: Page, server: Server, api: httpx.Client, fake_llm: FakeLLM) -> str:
    """A session with one finished exchange, so there is something to distil."""
    session_id: str = api.post("sessions", json={"title": "Attention"}).json()["id"]
    fake_llm.script(Reply("Dividing keeps the logits small so softmax stays soft."))
    passage = {"passage": "We scale the dot products by 1/sqrt(d_k)."}
    assert api.post(f"sessions/{session_id}/explain", json=passage).status_code == 200
    page.goto(f"{server.url}#/sessions/{session_id}/cards")
    expect(page.get_by_role("heading", name="Make cards from this session")).to_be_visible()
    return session_id


def _drafts(page: Page) -> Locator:
    return page.locator("li.draft")


def _draft(page: Page, text: str) -> Locator:
    return _drafts(page).filter(has_text=text)


def _distil(page: Page) -> None:
    page.get_by_role("button", name="Distil this session").click()


def test_distil_then_accept_edit_and_reject(
    page: Page, server: Server, api: httpx.Client, fake_llm: FakeLLM
) -> None:
    existing = api.post("cards", json={"front": EXISTING, "back": "Several subspaces."}).json()
    session_id = _open_tab(page, server, api, fake_llm)
    expect(page.get_by_text("No drafts yet.")).to_be_visible()
    duplicate = {**GOOD, "front": EXISTING.upper(), "back": "More heads."}
    fake_llm.script(Reply(cards_json(GOOD, YES_NO, CLOZE, EMPTY_BACK, duplicate)))
    page.get_by_label("Cards at most").fill("5")
    _distil(page)

    expect(_drafts(page)).to_have_count(3)
    expect(page.get_by_role("heading", name="Drafts from this session (3)")).to_be_visible()
    assert fake_llm.last_request.json["messages"][0]["content"].count("at most 5 cards") == 1
    # What was left out, and why.
    skipped = page.locator(".skipped li")
    expect(skipped).to_have_count(2)
    expect(skipped.filter(has_text="duplicate of a card")).to_contain_text(EXISTING)
    expect(skipped.filter(has_text="duplicate of a card").get_by_role("link")).to_have_text(
        existing["front"]
    )
    expect(skipped.filter(has_text="what is $d_k$")).to_contain_text("A side is empty")

    # Server-rendered sides, kind, tags and flags in words.
    good = _draft(page, "why are attention logits divided by")
    expect(good.locator("math")).to_have_count(1)
    expect(good).to_contain_text("Basic")
    expect(good.locator(".tag")).to_have_text(["attention", "transformer"])
    yes_no = _draft(page, "Is the scaling factor")
    expect(yes_no.locator(".flag[data-flag]")).to_have_text("Yes/no question")
    expect(_draft(page, "Scaled dot-product attention is")).to_contain_text("Cloze")

    listed = api.get("cards", params={"status": "draft"}).json()["items"]
    drafts = {card["front"]: card["id"] for card in listed}
    yes_no = page.locator(f'li.draft[data-card-id="{drafts[YES_NO["front"]]}"]')  # text changes

    # Accept one.
    good.get_by_role("button", name="Accept").click()
    expect(_drafts(page)).to_have_count(2)
    expect(page.get_by_role("heading", name="Drafts from this session (2)")).to_be_visible()
    assert api.get(f"cards/{drafts[GOOD['front']]}").json()["status"] == "active"

    # Edit one: Cancel restores it, Save stores the new text (and the flag goes).
    yes_no.get_by_role("button", name="Edit").click()
    front = yes_no.get_by_role("textbox", name="Front")
    expect(front).to_be_focused()
    expect(front).to_have_value(YES_NO["front"])
    front.fill("Something else")
    yes_no.get_by_role("button", name="Cancel").click()
    expect(yes_no.get_by_role("button", name="Edit")).to_be_focused()
    expect(yes_no).to_contain_text("Is the scaling factor")

    yes_no.get_by_role("button", name="Edit").click()
    yes_no.get_by_role("textbox", name="Front").fill("What is the scaling factor in attention?")
    yes_no.get_by_role("textbox", name="Back").fill("One over the square root of $d_k$.")
    yes_no.get_by_role("textbox", name="Tags").fill("attention, scaling factor")
    yes_no.get_by_role("button", name="Save").click()
    edited = yes_no
    expect(edited).to_contain_text("What is the scaling factor")
    expect(edited.get_by_role("button", name="Edit")).to_be_focused()
    expect(edited.locator(".flag[data-flag]")).to_have_count(0)
    expect(edited.locator(".tag")).to_have_text(["attention", "scaling_factor"])
    stored = api.get(f"cards/{drafts[YES_NO['front']]}").json()
    assert (stored["front"], stored["back"], stored["tags"], stored["status"]) == (
        "What is the scaling factor in attention?",
        "One over the square root of $d_k$.",
        ["attention", "scaling_factor"],
        "draft",
    )

    # Reject one, after saying yes to the confirmation.
    questions: list[str] = []

    def confirm(dialog: Dialog) -> None:
        questions.append(dialog.message)
        dialog.accept()

    page.once("dialog", confirm)
    _draft(page, "Scaled dot-product attention is").get_by_role("button", name="Reject").click()
    expect(_drafts(page)).to_have_count(1)
    assert questions == ["Reject this draft? It will be deleted."]
    assert api.get(f"cards/{drafts[CLOZE['front']]}").status_code == 404
    remaining = api.get("cards", params={"status": "draft", "session_id": session_id}).json()
    assert [c["id"] for c in remaining["items"]] == [drafts[YES_NO["front"]]]


def test_accept_all_makes_every_draft_a_card(
    page: Page, server: Server, api: httpx.Client, fake_llm: FakeLLM
) -> None:
    session_id = _open_tab(page, server, api, fake_llm)
    fake_llm.script(Reply(cards_json(GOOD, CLOZE, PRECISE)))
    _distil(page)
    expect(_drafts(page)).to_have_count(3)
    expect(_drafts(page).locator(".flag.new")).to_have_count(3)
    expect(_drafts(page).locator(".flag[data-flag]")).to_have_count(0)

    page.get_by_role("button", name="Accept all 3").click()
    expect(_drafts(page)).to_have_count(0)
    expect(page.get_by_text("left for you to read")).to_be_hidden()
    panel = page.get_by_role("region", name="Make cards")
    expect(panel.get_by_text("No drafts waiting")).to_be_visible()
    review = panel.get_by_role("link", name="Review", exact=True)
    expect(review).to_have_attribute("href", "#/review")
    active = api.get("cards", params={"status": "active", "session_id": session_id}).json()
    assert len(active["items"]) == 3
    assert api.get("cards", params={"status": "draft"}).json()["items"] == []

    # Distilling again finds only duplicates: they are listed, no new drafts.
    fake_llm.script(Reply(cards_json(GOOD)))
    _distil(page)
    expect(page.get_by_text("No new drafts")).to_be_visible()
    expect(page.locator(".skipped li")).to_contain_text("duplicate of a card")

    page.set_viewport_size({"width": 375, "height": 800})
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_accept_all_leaves_the_flagged_drafts_to_read(
    page: Page, server: Server, api: httpx.Client, fake_llm: FakeLLM
) -> None:
    session_id = _open_tab(page, server, api, fake_llm)
    listing = {**PRECISE, "front": "In the Transformer, what are the inputs of attention?"}
    listing["back"] = "Queries, keys and values"
    fake_llm.script(Reply(cards_json(GOOD, YES_NO, CLOZE, VAGUE, listing)))
    _distil(page)
    expect(_drafts(page)).to_have_count(5)
    expect(_draft(page, "Explain multi-head").locator(".flag[data-flag]")).to_have_text(
        "Vague question: ask for one thing"
    )
    expect(_draft(page, "inputs of attention").locator(".flag[data-flag]")).to_have_text(
        "A list: one card per item"
    )

    # "Accept all" takes the two unflagged drafts and leaves the three flagged ones.
    page.get_by_role("button", name="Accept all 5").click()
    expect(_drafts(page)).to_have_count(3)
    notice = page.locator(".flagged-left")
    expect(notice).to_have_text(re.compile("^3 flagged drafts left for you to read."))
    expect(page.get_by_role("heading", name="Drafts from this session (3)")).to_be_focused()
    expect(page.get_by_role("button", name=re.compile("^Accept all"))).to_be_hidden()
    active = api.get("cards", params={"status": "active", "session_id": session_id}).json()
    assert sorted(card["front"] for card in active["items"]) == sorted(
        [GOOD["front"], CLOZE["front"]]
    )

    # Reading them: one rejected, one edited until its flag goes; the count follows.
    page.once("dialog", lambda dialog: dialog.accept())
    _draft(page, "Explain multi-head").get_by_role("button", name="Reject").click()
    expect(notice).to_contain_text("2 flagged drafts left for you to read.")
    card_id = _draft(page, "inputs of attention").get_attribute("data-card-id")
    edited = page.locator(f'li.draft[data-card-id="{card_id}"]')  # its text changes
    edited.get_by_role("button", name="Edit").click()
    edited.get_by_role("textbox", name="Front").fill(
        "In the Transformer, which input of attention is matched against the keys?"
    )
    edited.get_by_role("textbox", name="Back").fill("The queries.")
    edited.get_by_role("button", name="Save").click()
    expect(edited.locator(".flag[data-flag]")).to_have_count(0)
    expect(notice).to_contain_text("1 flagged draft left for you to read.")

    # The second button accepts the rest, flagged or not.
    notice.get_by_role("button", name="Accept the flagged ones too").click()
    expect(_drafts(page)).to_have_count(0)
    expect(notice).to_be_hidden()
    expect(page.get_by_text("No drafts waiting")).to_be_visible()
    assert api.get("cards", params={"status": "draft"}).json()["items"] == []
    active = api.get("cards", params={"status": "active", "session_id": session_id}).json()
    assert len(active["items"]) == 4


def test_a_failed_distillation_says_why(
    page: Page, server: Server, api: httpx.Client, fake_llm: FakeLLM
) -> None:
    session_id = api.post("sessions", json={"title": "Empty"}).json()["id"]
    page.goto(f"{server.url}#/sessions/{session_id}/cards")
    _distil(page)
    expect(page.get_by_role("alert")).to_contain_text("no finished exchange")
    expect(page.get_by_role("button", name="Distil this session")).to_be_enabled()
