"""The reading queue in the browser: add, edit, change status, delete, start a session."""

from __future__ import annotations

import re

import httpx
from browsing import Server
from playwright.sync_api import Locator, Page, expect


def _open_sources(page: Page, server: Server) -> None:
    page.goto(f"{server.url}#/sources")
    expect(page.get_by_role("heading", name="Sources", level=1)).to_be_visible()


def _source(page: Page, title: str) -> Locator:
    return page.get_by_role("list", name="Sources").get_by_role("article", name=title)


def test_add_edit_and_delete_a_source(page: Page, server: Server, api: httpx.Client) -> None:
    _open_sources(page, server)
    expect(page.get_by_text("Nothing in the queue yet")).to_be_visible()
    form = page.get_by_role("form", name="Add a source")
    form.get_by_label("Title").fill("Attention Is All You Need")
    form.get_by_label("Link (optional)").fill("https://arxiv.org/abs/1706.03762")
    form.get_by_label("Notes (optional)").fill("Section 3.2 first.")
    form.get_by_role("button", name="Add to the queue").click()

    item = _source(page, "Attention Is All You Need")
    expect(item).to_contain_text("arxiv.org")
    expect(item).to_contain_text("Section 3.2 first.")
    expect(form.get_by_label("Title")).to_have_value("")
    (stored,) = api.get("sources").json()["items"]
    assert stored["url"] == "https://arxiv.org/abs/1706.03762"
    assert stored["kind"] == "paper"
    assert stored["status"] == "queued"

    item.get_by_role("button", name="Edit").click()
    edit = page.get_by_role("form", name="Edit Attention Is All You Need")
    edit.get_by_label("Title").fill("Attention (Vaswani et al.)")
    edit.get_by_label("Link (optional)").fill("")
    edit.get_by_label("Kind").select_option("book")
    edit.get_by_role("button", name="Save").click()
    item = _source(page, "Attention (Vaswani et al.)")
    expect(item).to_contain_text("Book")
    stored = api.get(f"sources/{stored['id']}").json()
    assert stored["title"] == "Attention (Vaswani et al.)"
    assert stored["url"] is None
    assert stored["kind"] == "book"

    page.once("dialog", lambda dialog: dialog.accept())
    item.get_by_role("button", name="Delete").click()
    expect(page.get_by_text("Nothing in the queue yet")).to_be_visible()
    assert api.get(f"sources/{stored['id']}").status_code == 404


def test_an_invalid_link_is_explained_and_the_form_kept(page: Page, server: Server) -> None:
    _open_sources(page, server)
    form = page.get_by_role("form", name="Add a source")
    form.get_by_label("Title").fill("A local file")
    # type=url accepts this, the server only takes http and https.
    form.get_by_label("Link (optional)").fill("ftp://example.org/paper.pdf")
    form.get_by_role("button", name="Add to the queue").click()
    expect(form.get_by_role("alert")).to_contain_text("url")
    expect(form.get_by_label("Title")).to_have_value("A local file")


def test_status_changes_at_once_and_the_filter_shows_it(
    page: Page, server: Server, api: httpx.Client
) -> None:
    source = api.post("sources", json={"title": "FlashAttention"}).json()
    api.post("sources", json={"title": "Mamba", "status": "done"})
    _open_sources(page, server)
    item = _source(page, "FlashAttention")
    item.get_by_label("Status of FlashAttention").select_option("reading")
    expect(page.locator("#announcer")).to_contain_text("is now Reading")
    assert api.get(f"sources/{source['id']}").json()["status"] == "reading"

    show = page.get_by_role("radiogroup", name="Show")
    show.get_by_text("Reading", exact=True).click()
    sources = page.get_by_role("list", name="Sources").get_by_role("article")
    expect(sources).to_have_count(1)
    expect(sources.first).to_have_accessible_name("FlashAttention")
    show.get_by_text("Done", exact=True).click()
    expect(sources).to_have_count(1)
    expect(sources.first).to_have_accessible_name("Mamba")


def test_start_a_session_from_a_source(page: Page, server: Server, api: httpx.Client) -> None:
    source = api.post("sources", json={"title": "Rotary embeddings"}).json()
    _open_sources(page, server)
    _source(page, "Rotary embeddings").get_by_role("button", name="Start a session").click()
    expect(page).to_have_url(re.compile(r"#/sessions/[0-9a-f-]+$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Rotary embeddings")
    session_id = page.url.rsplit("/", 1)[-1]
    session = api.get(f"sessions/{session_id}").json()
    assert session["source_id"] == source["id"]
    assert session["title"] == "Rotary embeddings"


def test_a_source_with_a_title_too_long_for_a_session_still_starts_one(
    page: Page, server: Server, api: httpx.Client
) -> None:
    title = "Scaling laws for neural language models, " * 7  # 287 characters; a session takes 200
    source = api.post("sources", json={"title": title.strip()}).json()
    _open_sources(page, server)
    _source(page, source["title"]).get_by_role("button", name="Start a session").click()
    expect(page).to_have_url(re.compile(r"#/sessions/[0-9a-f-]+$"))
    session = api.get(f"sessions/{page.url.rsplit('/', 1)[-1]}").json()
    assert session["source_id"] == source["id"]
    assert session["title"] == source["title"][:200]


def test_cards_link_filters_the_library_by_source(
    page: Page, server: Server, api: httpx.Client
) -> None:
    source = api.post("sources", json={"title": "GQA paper"}).json()
    api.post("cards", json={"front": "From GQA", "back": "Yes", "source_id": source["id"]})
    api.post("cards", json={"front": "Unrelated", "back": "No"})
    _open_sources(page, server)
    _source(page, "GQA paper").get_by_role("link", name="Cards").click()
    expect(page.get_by_role("heading", name="Cards", level=1)).to_be_visible()
    cards = page.get_by_role("list", name="Cards").get_by_role("article")
    expect(cards).to_have_count(1)
    expect(cards.first).to_contain_text("From GQA")
    expect(page.get_by_label("Source", exact=True)).to_have_value(source["id"])
