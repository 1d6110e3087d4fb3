"""Every page: usable at 375 px, labelled controls, visible focus, dark mode, errors in words."""

from __future__ import annotations

import httpx
import pytest
from browsing import UNNAMED_CONTROLS, Server
from playwright.sync_api import Page, expect

from fakellm import FakeLLM, Reply

PAGES = [
    "#/",
    "#/sessions/{session}",
    "#/sessions/{session}/explain-back",
    "#/sessions/{session}/cards",
    "#/review",
    "#/cards",
    "#/sources",
    "#/log",
    "#/stats",
    "#/knowledge",
    "#/settings",
]

FOCUSED_OUTLINE = """
(() => {
  const style = getComputedStyle(document.activeElement);
  return [document.activeElement.textContent.trim(), style.outlineStyle, style.outlineWidth];
})()
"""


@pytest.fixture
def filled(api: httpx.Client, fake_llm: FakeLLM) -> dict[str, str]:
    """A learner with a source, a session with an answer, and cards to review."""
    source = api.post("sources", json={"title": "Attention Is All You Need"}).json()
    session = api.post("sessions", json={"title": "Scaled attention", "source_id": source["id"]})
    fake_llm.script(Reply("Dividing by $\\sqrt{d_k}$ keeps the logits small."))
    explained = api.post(
        f"sessions/{session.json()['id']}/explain", json={"passage": "We scale by 1/sqrt(d_k)."}
    )
    assert explained.status_code == 200, explained.text
    for front in ("What does the scale factor prevent?", "Which {{c1::softmax}} saturates?"):
        kind = "cloze" if "{{c1" in front else "basic"
        assert api.post("cards", json={"front": front, "back": "x", "kind": kind}).is_success
    return {"session": session.json()["id"]}


@pytest.mark.parametrize("path", PAGES)
def test_a_phone_wide_page_has_no_sideways_scroll_and_every_control_is_named(
    page: Page, server: Server, filled: dict[str, str], path: str
) -> None:
    page.set_viewport_size({"width": 375, "height": 740})
    page.goto(server.url + path.format(**filled))
    expect(page.locator("#view h1")).to_be_visible()
    expect(page.locator("#view .loading")).to_have_count(0)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"{path} is {width} px wide at 375 px"
    assert page.evaluate(UNNAMED_CONTROLS) == []
    assert page.locator("#view [role=alert]").count() == 0, page.locator("#view").inner_text()


def test_dark_mode_follows_the_system_setting(page: Page, server: Server) -> None:
    page.emulate_media(color_scheme="dark")
    page.goto(server.url + "#/")
    expect(page.locator("#view h1")).to_be_visible()
    background = page.evaluate("getComputedStyle(document.documentElement).backgroundColor")
    text = page.evaluate("getComputedStyle(document.body).color")
    assert _luminance(background) < 0.1 < 0.6 < _luminance(text), (background, text)
    page.emulate_media(color_scheme="light")
    background = page.evaluate("getComputedStyle(document.documentElement).backgroundColor")
    assert _luminance(background) > 0.9


def test_the_keyboard_reaches_the_navigation_with_a_visible_focus(
    page: Page, server: Server
) -> None:
    page.goto(server.url + "#/")
    expect(page.locator("#view h1")).to_be_visible()
    focused: list[str] = []
    for _ in range(5):
        page.keyboard.press("Tab")
        name, outline_style, outline_width = page.evaluate(FOCUSED_OUTLINE)
        focused.append(name)
        assert outline_style != "none", name
        assert outline_width != "0px", name
    assert focused[:3] == ["Skip to content", "Tutor", "Sessions"]
    assert "Review" in focused[3]


def test_an_unknown_session_says_so_in_words(page: Page, server: Server) -> None:
    page.goto(server.url + "#/sessions/8a3c1d9e-0000-4000-8000-000000000000")
    expect(page.get_by_role("alert")).to_contain_text("No such session")
    expect(page.get_by_role("button", name="Try again")).to_be_visible()


def test_an_unknown_address_is_a_page_not_a_blank(page: Page, server: Server) -> None:
    page.goto(server.url + "#/no-such-page")
    expect(page.get_by_role("heading", name="Not found")).to_be_visible()


def test_the_review_badge_counts_the_cards_waiting(page: Page, filled: dict[str, str]) -> None:
    page.reload()
    expect(page.locator("#due-badge")).to_have_text("2")


def _luminance(css_color: str) -> float:
    channels = [int(part) for part in css_color.split("(")[1].split(")")[0].split(",")[:3]]
    return sum(channels) / (3 * 255)
