"""The sessions page in the browser: the list, starting one (also from a source), rename, delete."""

from __future__ import annotations

import re

import httpx
from browsing import Server
from playwright.sync_api import Dialog, Locator, Page, expect


def _open_sessions(page: Page, server: Server) -> None:
    """The list as it is now: the page opened on it before the test made anything."""
    page.goto(f"{server.url}#/")
    page.reload()
    expect(page.get_by_role("heading", name="Sessions", level=1)).to_be_visible()


def _sessions(page: Page) -> Locator:
    return page.get_by_role("list", name="Sessions").get_by_role("article")


def _session(page: Page, title: str) -> Locator:
    return _sessions(page).filter(has=page.get_by_role("link", name=title, exact=True))


def _opened_session_id(page: Page) -> str:
    expect(page).to_have_url(re.compile(r"#/sessions/[0-9a-f-]+$"))
    return page.url.rsplit("/", 1)[-1]


def test_an_empty_list_says_how_to_begin(page: Page, server: Server) -> None:
    _open_sessions(page, server)
    expect(page.get_by_text("No sessions yet")).to_be_visible()
    expect(_sessions(page)).to_have_count(0)


def test_the_list_shows_newest_first_with_the_source_and_opens_a_session(
    page: Page, server: Server, api: httpx.Client
) -> None:
    source = api.post("sources", json={"title": "Llama 2 paper"}).json()
    api.post("sessions", json={"title": "RMSNorm", "source_id": source["id"]})
    untitled = api.post("sessions", json={}).json()
    _open_sessions(page, server)

    expect(_sessions(page)).to_have_count(2)
    expect(_sessions(page).first).to_have_accessible_name("Untitled session")
    expect(_sessions(page).nth(1)).to_have_accessible_name("RMSNorm")
    expect(_session(page, "RMSNorm")).to_contain_text("Llama 2 paper · last active")

    _session(page, "Untitled session").get_by_role("link").click()
    assert _opened_session_id(page) == untitled["id"]
    expect(page.get_by_role("heading", level=1)).to_have_text("Untitled session")
    page.get_by_role("link", name="← Sessions").click()
    expect(_sessions(page)).to_have_count(2)


def test_start_a_session_with_a_title(page: Page, server: Server, api: httpx.Client) -> None:
    _open_sessions(page, server)
    form = page.get_by_role("form", name="New session")
    form.get_by_label("Title (optional)").fill("  Grouped-query attention  ")
    form.get_by_role("button", name="Start session").click()

    session_id = _opened_session_id(page)
    expect(page.get_by_role("heading", level=1)).to_have_text("Grouped-query attention")
    expect(page.get_by_role("textbox", name="Passage", exact=True)).to_be_visible()
    stored = api.get(f"sessions/{session_id}").json()
    assert stored["title"] == "Grouped-query attention"
    assert stored["source_id"] is None


def test_a_session_started_from_a_source_is_named_after_it(
    page: Page, server: Server, api: httpx.Client
) -> None:
    # Longer than a session title may be: the name is cut, not refused.
    long_title = "Training language models to follow instructions with human feedback " * 4
    source = api.post("sources", json={"title": long_title.strip()}).json()
    _open_sessions(page, server)
    form = page.get_by_role("form", name="New session")
    form.get_by_label("Source (optional)").select_option(label=source["title"])
    form.get_by_role("button", name="Start session").click()

    session_id = _opened_session_id(page)
    expect(page.get_by_text("Source: Training language models")).to_be_visible()
    stored = api.get(f"sessions/{session_id}").json()
    assert stored["source_id"] == source["id"]
    assert stored["title"] == source["title"][:200]


def test_a_title_typed_beats_the_source_title(
    page: Page, server: Server, api: httpx.Client
) -> None:
    source = api.post("sources", json={"title": "InstructGPT"}).json()
    _open_sessions(page, server)
    form = page.get_by_role("form", name="New session")
    form.get_by_label("Title (optional)").fill("The reward model")
    form.get_by_label("Source (optional)").select_option(label="InstructGPT")
    form.get_by_role("button", name="Start session").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("The reward model")
    stored = api.get(f"sessions/{_opened_session_id(page)}").json()
    assert stored["source_id"] == source["id"]


def test_rename_saves_the_new_title_and_cancel_keeps_the_old(
    page: Page, server: Server, api: httpx.Client
) -> None:
    session = api.post("sessions", json={"title": "Attention"}).json()
    _open_sessions(page, server)

    _session(page, "Attention").get_by_role("button", name="Rename").click()
    form = page.get_by_role("form", name="Rename Attention")
    expect(form.get_by_label("New title")).to_be_focused()
    form.get_by_label("New title").fill("Thrown away")
    form.get_by_role("button", name="Cancel").click()
    expect(_session(page, "Attention").get_by_role("button", name="Rename")).to_be_focused()

    page.keyboard.press("Enter")
    form.get_by_label("New title").fill("Scaled dot-product attention")
    form.get_by_label("New title").press("Enter")
    renamed = _session(page, "Scaled dot-product attention")
    expect(renamed).to_be_visible()
    expect(renamed.get_by_role("button", name="Rename")).to_be_focused()
    assert api.get(f"sessions/{session['id']}").json()["title"] == "Scaled dot-product attention"


def test_escape_cancels_a_rename(page: Page, server: Server, api: httpx.Client) -> None:
    session = api.post("sessions", json={"title": "PPO"}).json()
    _open_sessions(page, server)
    _session(page, "PPO").get_by_role("button", name="Rename").click()
    page.get_by_label("New title").fill("Not this")
    page.keyboard.press("Escape")
    expect(page.get_by_role("form", name="Rename PPO")).to_have_count(0)
    expect(_session(page, "PPO")).to_be_visible()
    assert api.get(f"sessions/{session['id']}").json()["title"] == "PPO"


def test_a_blank_title_is_refused_in_words_and_the_form_stays(
    page: Page, server: Server, api: httpx.Client
) -> None:
    session = api.post("sessions", json={"title": "DPO"}).json()
    _open_sessions(page, server)
    _session(page, "DPO").get_by_role("button", name="Rename").click()
    form = page.get_by_role("form", name="Rename DPO")
    form.get_by_label("New title").fill("   ")
    form.get_by_role("button", name="Save").click()
    expect(form.get_by_role("alert")).to_have_text(
        "A title cannot be blank. Cancel keeps the old one."
    )
    expect(form.get_by_label("New title")).to_be_focused()
    assert api.get(f"sessions/{session['id']}").json()["title"] == "DPO"


def test_delete_asks_first_and_removes_the_session(
    page: Page, server: Server, api: httpx.Client
) -> None:
    kept = api.post("sessions", json={"title": "Keep me"}).json()
    doomed = api.post("sessions", json={"title": "Delete me"}).json()
    _open_sessions(page, server)
    questions: list[str] = []

    def dismiss(dialog: Dialog) -> None:
        questions.append(dialog.message)
        dialog.dismiss()

    page.once("dialog", dismiss)
    _session(page, "Delete me").get_by_role("button", name="Delete").click()
    expect(_sessions(page)).to_have_count(2)
    assert questions == ['Delete "Delete me" and its messages? Cards made from it stay.']
    assert api.get(f"sessions/{doomed['id']}").status_code == 200

    page.once("dialog", lambda dialog: dialog.accept())
    _session(page, "Delete me").get_by_role("button", name="Delete").click()
    expect(_sessions(page)).to_have_count(1)
    expect(page.locator("#announcer")).to_have_text('Deleted "Delete me".')
    # Focus stays in the list, on the session that took the deleted one's place.
    expect(_session(page, "Keep me").get_by_role("link")).to_be_focused()
    assert api.get(f"sessions/{doomed['id']}").status_code == 404
    assert api.get(f"sessions/{kept['id']}").status_code == 200

    page.once("dialog", lambda dialog: dialog.accept())
    _session(page, "Keep me").get_by_role("button", name="Delete").click()
    expect(page.get_by_text("No sessions yet")).to_be_visible()
    expect(page.get_by_role("heading", name="Your sessions")).to_be_focused()


def test_a_session_deleted_elsewhere_cannot_be_renamed_and_leaves_on_delete(
    page: Page, server: Server, api: httpx.Client
) -> None:
    session = api.post("sessions", json={"title": "Mamba"}).json()
    _open_sessions(page, server)
    assert api.delete(f"sessions/{session['id']}").status_code == 204  # in another tab

    _session(page, "Mamba").get_by_role("button", name="Rename").click()
    form = page.get_by_role("form", name="Rename Mamba")
    form.get_by_label("New title").fill("Selective state spaces")
    form.get_by_role("button", name="Save").click()
    expect(form.get_by_role("alert")).to_contain_text("No such session")
    expect(form.get_by_label("New title")).to_have_value("Selective state spaces")

    # Deleting it is what the learner wanted anyway: it leaves the list without a fuss.
    form.get_by_role("button", name="Cancel").click()
    page.once("dialog", lambda dialog: dialog.accept())
    _session(page, "Mamba").get_by_role("button", name="Delete").click()
    expect(page.get_by_text("No sessions yet")).to_be_visible()


def test_a_source_deleted_elsewhere_is_reported_when_starting(
    page: Page, server: Server, api: httpx.Client
) -> None:
    source = api.post("sources", json={"title": "RetNet"}).json()
    _open_sessions(page, server)
    assert api.delete(f"sources/{source['id']}").status_code == 204  # in another tab

    form = page.get_by_role("form", name="New session")
    form.get_by_label("Source (optional)").select_option(label="RetNet")
    form.get_by_role("button", name="Start session").click()
    expect(page.get_by_role("alert")).to_contain_text("source")
    expect(page.get_by_role("heading", name="Sessions", level=1)).to_be_visible()
    assert api.get("sessions").json()["items"] == []
