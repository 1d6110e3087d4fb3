"""Reading a paper in the browser: a LaTeX paper from a local fake arXiv and a PDF made
with reportlab, shown by section; a passage picked and explained with the paper's own
definitions in the prompt; a card from it that links back to the passage."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from browsing import UNNAMED_CONTROLS, Server
from playwright.sync_api import Locator, Page, expect

import fakearxiv
from fakearxiv import FakeArxiv
from fakellm import FakeLLM, Reply
from paper_pdfs import attention_pdf, scanned_pdf

TITLE = "Attention Is All You Need"
ANSWER = "Dividing by $\\sqrt{d_k}$ keeps the logits' variance near one, as Eq. (1) shows."
SDPA = "Scaled Dot-Product Attention"
# The first paragraph of §3.2.1 in the fake arXiv's LaTeX: it uses d_k, defined in §3.2.
SDPA_TEXT = "We compute the dot products of the query with all keys"
CRITIQUE = {
    "verdict": "solid",
    "score": 4,
    "strengths": ["You name the scaling and what it scales."],
    "issues": [],
    "questions": ["Why the square root, and not d_k itself?"],
    "next_step": "Say what goes wrong without the scaling.",
    "improved_since_last": None,
}


@pytest.fixture(scope="module")
def fake_arxiv() -> Iterator[FakeArxiv]:
    with FakeArxiv().with_papers() as fake:
        yield fake


@pytest.fixture(scope="module")
def server_settings(fake_arxiv: FakeArxiv) -> dict[str, str]:
    return {"TUTOR_ARXIV_URL": fake_arxiv.base_url, "TUTOR_ARXIV_TIMEOUT": "20"}


def _settled(api: httpx.Client, source_id: str) -> dict[str, Any]:
    """The document once read (the API tests' papers_api.settled, for a sync client)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        document: dict[str, Any] = api.get(f"sources/{source_id}/document").json()
        if document["status"] in ("ready", "failed"):
            return document
        time.sleep(0.05)
    raise AssertionError(f"the paper of {source_id} was not read within 60 s")


def _arxiv_paper(api: httpx.Client) -> str:
    """The fake arXiv's mini "Attention Is All You Need", fetched and read."""
    created = api.post("sources", json={"arxiv": fakearxiv.ATTENTION})
    assert created.status_code == 201, created.text
    source_id: str = created.json()["id"]
    assert _settled(api, source_id)["status"] == "ready"
    return source_id


def _position(api: httpx.Client, source_id: str, starting: str) -> int:
    document = api.get(f"sources/{source_id}/document").json()
    for section in document["sections"]:
        for block in section["blocks"]:
            if block["text"].startswith(starting):
                position: int = block["position"]
                return position
    raise AssertionError(f"no block starts with {starting!r}")


def _open_reader(page: Page, server: Server, source_id: str, block: int | None = None) -> None:
    tail = "" if block is None else f"/{block}"
    page.goto(f"{server.url}#/sources/{source_id}/paper{tail}")


def _block(page: Page, starting: str) -> Locator:
    return page.locator(".paper [data-position]", has_text=starting).first


def _toolbar(page: Page) -> Locator:
    return page.get_by_role("toolbar", name="Selected passage")


def _headings(page: Page) -> list[str]:
    return [
        " ".join(text.split())
        for text in page.locator(".paper-section :is(h2, h3, h4)").all_inner_texts()
    ]


def test_an_arxiv_paper_added_by_its_id_reads_by_section(page: Page, server: Server) -> None:
    page.goto(f"{server.url}#/sources")
    page.get_by_label("arXiv id (optional)").fill("1706.03762")
    # No title: the paper's own comes with it.
    page.get_by_role("button", name="Add to the queue").click()
    item = page.locator(".source-item").first
    read = item.get_by_role("link", name="Read")
    expect(read).to_be_visible()
    read.click()

    expect(page.get_by_role("heading", level=1)).to_have_text(TITLE, timeout=30_000)
    expect(page.locator(".paper > .meta")).to_have_text("From its LaTeX source · 10 sections")
    assert _headings(page) == [
        "Abstract",
        "1 Introduction",
        "2 Background",
        "3 Model Architecture",
        "3.1 Encoder and Decoder Stacks",
        "3.2 Attention",
        f"3.2.1 {SDPA}",
        "3.2.2 Multi-Head Attention",
        "3.3 Positional Encoding",
        "Acknowledgements",
    ]
    # Heading levels follow the paper's: a subsubsection is an h4 under h3 under h2.
    expect(page.get_by_role("heading", level=4, name=f"3.2.1 {SDPA}")).to_be_visible()
    equation = page.locator(".paper .equation", has_text="(1)")
    expect(equation.locator("math")).to_be_visible()
    expect(equation.locator(".equation-label")).to_have_text("(1)")
    expect(page.locator(".paper .equation", has_text="(2)–(3)").locator("math")).to_be_visible()


def test_a_pdf_added_on_the_sources_page_reads_by_section(
    page: Page, server: Server, api: httpx.Client
) -> None:
    source = api.post("sources", json={"title": TITLE}).json()
    page.goto(f"{server.url}#/sources")
    item = page.locator(f'[data-source-id="{source["id"]}"]')
    expect(item.get_by_role("link", name="Read")).to_have_count(0)  # no paper yet
    item.get_by_role("button", name="Add PDF").click()
    item.get_by_label(f"PDF of “{TITLE}”").set_input_files(
        files=[{"name": "attention.pdf", "mimeType": "application/pdf", "buffer": attention_pdf()}]
    )
    item.get_by_role("button", name="Upload and read").click()

    expect(page).to_have_url(f"{server.url}#/sources/{source['id']}/paper")
    expect(page.locator(".paper > .meta")).to_have_text(
        "From its PDF · 2 pages · 8 sections", timeout=30_000
    )
    assert _headings(page)[2:6] == [
        "1 Introduction",
        "3 Model Architecture",
        "3.2 Attention",
        f"3.2.1 {SDPA}",
    ]
    # A PDF has no LaTeX for its equations: the reader shows the text, with its number.
    equation = page.locator(".paper .equation")
    expect(equation.locator(".equation-text")).to_contain_text("Attention(Q, K, V) = softmax")
    expect(equation.locator(".equation-label")).to_have_text("(1)")

    page.goto(f"{server.url}#/sources")
    expect(item.get_by_role("link", name="Read")).to_have_attribute(
        "href", f"#/sources/{source['id']}/paper"
    )


def test_the_sources_page_asks_once_which_sources_have_a_paper(
    page: Page, server: Server, api: httpx.Client
) -> None:
    read = _arxiv_paper(api)
    scanned = api.post("sources", json={"title": "A scan"}).json()["id"]
    files = {"file": ("scan.pdf", scanned_pdf(), "application/pdf")}
    assert api.post(f"sources/{scanned}/document", files=files).status_code == 202
    assert _settled(api, scanned)["status"] == "failed"
    bare = api.post("sources", json={"title": "A blog post"}).json()["id"]
    asked: list[str] = []
    page.on("request", lambda request: asked.append(request.url))

    page.goto(f"{server.url}#/sources")

    def item(source_id: str) -> Locator:
        return page.locator(f'[data-source-id="{source_id}"]')

    expect(item(read).get_by_role("link", name="Read")).to_be_visible()
    expect(item(scanned).locator(".reading")).to_have_text("Read The paper could not be read.")
    expect(item(bare).get_by_role("button", name="Add PDF")).to_be_visible()
    expect(item(bare).get_by_role("link", name="Read")).to_have_count(0)
    documents = [url for url in asked if "/v1/documents?" in url]
    assert len(documents) == 1, asked
    assert all(source_id in documents[0] for source_id in (read, scanned, bare))
    assert not [url for url in asked if url.endswith("/document") or "/document?" in url], asked


# Every state the reader's progress box shows, as the page draws it (no timing involved).
RECORD_PROGRESS = """
() => {
  window.progressSeen = [];
  new MutationObserver(() => {
    const box = document.querySelector('.reader-progress');
    if (!box) return;
    const bar = box.querySelector('[role=progressbar]');
    const seen = `${box.dataset.status}: ${bar.getAttribute('aria-valuetext')}`;
    if (window.progressSeen.at(-1) !== seen) window.progressSeen.push(seen);
  }).observe(document.getElementById('view'), {subtree: true, childList: true, attributes: true});
}
"""


def test_the_reader_takes_a_pdf_and_shows_the_reading_as_it_goes(
    page: Page, server: Server, api: httpx.Client
) -> None:
    source = api.post("sources", json={"title": "A paper to come"}).json()
    _open_reader(page, server, source["id"])
    expect(page.get_by_role("heading", name="Add the paper's PDF")).to_be_visible()
    page.evaluate(RECORD_PROGRESS)
    page.get_by_label("PDF of the paper", exact=True).set_input_files(
        files=[{"name": "attention.pdf", "mimeType": "application/pdf", "buffer": attention_pdf()}]
    )
    page.get_by_role("button", name="Upload and read").click()

    expect(page.get_by_role("heading", level=1)).to_have_text(TITLE, timeout=30_000)
    expect(page.get_by_role("heading", name=f"3.2.1 {SDPA}")).to_be_visible()
    # The upload's answer is drawn first: the job waiting, its stage in words, at 0%.
    seen = page.evaluate("window.progressSeen")
    assert seen[0] == "pending: 0%: Waiting to start", seen


def test_a_pdf_that_cannot_be_read_says_why_and_offers_to_try_again(
    page: Page, server: Server, api: httpx.Client
) -> None:
    source = api.post("sources", json={"title": "A scan"}).json()
    files = {"file": ("scan.pdf", scanned_pdf(), "application/pdf")}
    assert api.post(f"sources/{source['id']}/document", files=files).status_code == 202
    assert _settled(api, source["id"])["status"] == "failed"

    _open_reader(page, server, source["id"])
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Tutor could not read scan.pdf:")
    expect(alert).to_have_attribute("data-code", "pdf_has_no_text")
    alert.get_by_role("button", name="Try again").click()
    # Read again (a scan stays a scan): it fails again, and the page says so again.
    expect(page.get_by_role("alert")).to_contain_text(
        "Tutor could not read scan.pdf:", timeout=30_000
    )
    assert _settled(api, source["id"])["attempts"] == 2
    expect(page.get_by_role("heading", name="Try another PDF")).to_be_visible()


def _pick_sdpa_paragraph(page: Page) -> Locator:
    paragraph = _block(page, SDPA_TEXT)
    paragraph.click(click_count=3)  # a triple click selects the paragraph
    expect(_toolbar(page)).to_be_visible()
    return paragraph


def test_a_passage_explained_rigorously_carries_the_papers_definitions(
    page: Page, server: Server, api: httpx.Client, fake_llm: FakeLLM
) -> None:
    source_id = _arxiv_paper(api)
    fake_llm.script(Reply(ANSWER))
    _open_reader(page, server, source_id)
    expect(page.get_by_role("heading", level=1)).to_have_text(TITLE)
    expect(_block(page, SDPA_TEXT).locator("math")).to_have_attribute("alttext", "\\sqrt{d_k}")
    _pick_sdpa_paragraph(page)
    toolbar = _toolbar(page)
    expect(toolbar).to_contain_text(f"§3.2.1: “{SDPA_TEXT}")
    toolbar.get_by_role("group", name="Explain").get_by_role("button", name="Rigorous").click()

    expect(page).to_have_url(re.compile(r"#/sessions/[0-9a-f-]+$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(f"{TITLE} §3.2.1")
    answer = page.locator("article.message.tutor").last
    expect(answer).to_contain_text("keeps the logits' variance near one")
    expect(answer).to_have_attribute("data-status", "complete")
    learner = page.locator("article.message.learner").first
    expect(learner).to_contain_text(SDPA_TEXT)
    line = learner.locator(".from-paper")
    expect(line).to_have_text(f"from {TITLE} §3.2.1")
    block = _position(api, source_id, SDPA_TEXT)
    expect(line.get_by_role("link")).to_have_attribute(
        "href", f"#/sources/{source_id}/paper/{block}?last={block}"
    )

    sent = json.dumps(fake_llm.last_request.json["messages"])
    assert "PAPER CONTEXT" in sent
    assert TITLE in sent
    assert "the dimension of the keys" in sent  # d_k, as §3.2 defines it
    session_id = page.url.rsplit("/", 1)[1]
    session = api.get(f"sessions/{session_id}").json()
    (passage,) = [m for m in session["messages"] if m["role"] == "learner"]
    assert passage["from_paper"]["first_block"] == block
    assert passage["from_paper"]["section_number"] == "3.2.1"
    # The paragraph's √d_k is MathML on the page and goes to the tutor as its LaTeX.
    assert "divide each by $\\sqrt{d_k}$, and" in passage["content"], passage["content"]


def test_a_card_from_a_passage_links_back_to_it_in_the_reader(
    page: Page, server: Server, api: httpx.Client, fake_llm: FakeLLM
) -> None:
    source_id = _arxiv_paper(api)
    block = _position(api, source_id, SDPA_TEXT)
    text = api.get(f"sources/{source_id}/document").json()
    passage = next(
        b["text"] for s in text["sections"] for b in s["blocks"] if b["position"] == block
    )
    session_id = api.post("sessions", json={"source_id": source_id, "title": "SDPA"}).json()["id"]
    card = {"front": "Why divide the logits by √d_k?", "back": "To keep their variance near one."}
    fake_llm.script(
        Reply(ANSWER), Reply(json.dumps({"cards": [card | {"kind": "basic", "tags": []}]}))
    )
    from_paper = {"source_id": source_id, "first_block": block, "last_block": block}
    explained = api.post(
        f"sessions/{session_id}/explain",
        json={"passage": passage, "level": "rigorous", "from_paper": from_paper},
    )
    assert explained.status_code == 200, explained.text
    (draft,) = api.post(f"sessions/{session_id}/distill").json()["cards"]
    assert api.post("cards/accept", json={"ids": [draft["id"]]}).status_code == 200

    page.goto(f"{server.url}#/review")
    flashcard = page.locator(".flashcard")
    expect(flashcard).to_contain_text(card["front"])
    line = flashcard.locator(".from-paper")
    expect(line).to_have_text(f"from {TITLE} §3.2.1")
    line.get_by_role("link").click()

    expect(page).to_have_url(f"{server.url}#/sources/{source_id}/paper/{block}?last={block}")
    marked = page.locator(".paper .block.passage")
    expect(marked).to_have_count(1)
    expect(marked).to_contain_text(SDPA_TEXT)
    expect(marked).to_be_in_viewport()
    # Opened at the passage: the blocks before it wait behind a button.
    expect(page.get_by_role("button", name="Show the paper before this")).to_be_visible()
    page.get_by_role("button", name="Show the paper before this").click()
    expect(page.get_by_role("heading", name="1 Introduction")).to_be_attached()


def test_explain_it_back_from_an_equation_picked_with_the_keyboard(
    page: Page, server: Server, api: httpx.Client, fake_llm: FakeLLM
) -> None:
    source_id = _arxiv_paper(api)
    _open_reader(page, server, source_id)
    equation = page.locator(".paper .equation", has_text="(1)")
    block = int(equation.get_attribute("data-position") or "-1")
    equation.focus()
    page.keyboard.press("Enter")
    toolbar = _toolbar(page)
    expect(toolbar).to_be_visible()
    # The toolbar takes the keyboard: its first button, then the arrow keys along it.
    expect(toolbar.get_by_role("button", name="ELI5")).to_be_focused()
    page.keyboard.press("ArrowLeft")
    expect(toolbar.get_by_role("button", name="Close the passage toolbar")).to_be_focused()
    page.keyboard.press("ArrowLeft")
    expect(toolbar.get_by_role("button", name="Explain it back")).to_be_focused()
    page.keyboard.press("Enter")

    expect(page).to_have_url(re.compile(r"#/sessions/[0-9a-f-]+/explain-back$"))
    expect(page.get_by_role("textbox", name="Concept", exact=True)).to_have_value(SDPA)
    reference = page.get_by_role("textbox", name="Reference passage")
    expect(reference).to_be_visible()  # the details are open
    value = reference.input_value()
    assert value.startswith("$$\\mathrm{Attention}(Q, K, V)"), value
    assert value.endswith("$$")
    expect(page.locator(".reference .from-paper")).to_have_text(f"Picked from {TITLE} §3.2.1")

    # The attempt is anchored to the equation's block, and the session remembers it.
    fake_llm.script(Reply(json.dumps(CRITIQUE)))
    page.get_by_role("textbox", name="Your explanation").fill(
        "Each query scores every key, the scores are scaled by the root of d_k and "
        "softmaxed, and the output averages the values with those weights."
    )
    page.get_by_role("button", name="Critique my explanation").click()
    expect(page.locator("section.critique .verdict")).to_have_text("Solid")
    session_id = page.url.split("/")[-2]
    session = api.get(f"sessions/{session_id}").json()
    (attempt,) = [m for m in session["messages"] if m["kind"] == "attempt"]
    assert (attempt["from_paper"]["first_block"], attempt["from_paper"]["last_block"]) == (
        block,
        block,
    )
    assert session["passage"]["section_number"] == "3.2.1"
    page.reload()
    expect(page.locator("main > .from-paper")).to_have_text(f"Reading {TITLE} §3.2.1")


def test_escape_closes_the_toolbar_and_a_click_elsewhere_drops_the_pick(
    page: Page, server: Server, api: httpx.Client
) -> None:
    source_id = _arxiv_paper(api)
    _open_reader(page, server, source_id)
    paragraph = _pick_sdpa_paragraph(page)
    expect(paragraph).to_have_class(re.compile(r"\bpicked\b"))
    # The toolbar follows the passage: Tab from the selection reaches it.
    page.keyboard.press("Tab")
    expect(_toolbar(page).get_by_role("button", name="ELI5")).to_be_focused()
    page.keyboard.press("Escape")
    expect(_toolbar(page)).to_be_hidden()
    expect(paragraph).not_to_have_class(re.compile(r"\bpicked\b"))

    _pick_sdpa_paragraph(page)
    _block(page, "An attention function").click()
    expect(_toolbar(page)).to_be_hidden()


def test_on_a_phone_the_reader_and_its_toolbar_fit_and_every_control_is_named(
    page: Page, server: Server, api: httpx.Client
) -> None:
    source_id = _arxiv_paper(api)
    page.set_viewport_size({"width": 375, "height": 740})
    _open_reader(page, server, source_id)
    _pick_sdpa_paragraph(page)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"the reader is {width} px wide at 375 px"
    assert page.evaluate(UNNAMED_CONTROLS) == []

    page.goto(f"{server.url}#/sources")
    page.get_by_role("button", name="Add PDF").click()
    expect(page.get_by_role("button", name="Upload and read")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    assert page.evaluate(UNNAMED_CONTROLS) == []
