"""The card library in the browser: search, edit, suspend, history, export, import, new cards."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
from browsing import Server
from playwright.sync_api import Locator, Page, Route, expect

from anki_decks import build_deck
from fakellm import FakeLLM, Reply


def _card(api: httpx.Client, front: str, back: str, **extra: Any) -> dict[str, Any]:
    response = api.post("cards", json={"front": front, "back": back, **extra})
    assert response.status_code == 201, response.text
    return response.json()


def _open_cards(page: Page, server: Server, query: str = "") -> None:
    page.goto(f"{server.url}#/cards{query}")
    expect(page.get_by_role("heading", name="Cards", level=1)).to_be_visible()


def _cards(page: Page) -> Locator:
    return page.get_by_role("list", name="Cards").get_by_role("article")


def _card_item(page: Page, text: str) -> Locator:
    return _cards(page).filter(has_text=text)


def test_search_finds_a_card_and_a_reload_keeps_the_query(
    page: Page, server: Server, api: httpx.Client
) -> None:
    _card(api, "Why divide the logits by sqrt(d_k)?", "To keep the softmax soft.")
    _card(api, "What does GQA share?", "Keys and values across query heads.")
    _open_cards(page, server)
    expect(_cards(page)).to_have_count(2)

    page.get_by_role("searchbox", name="Search").fill("softmax")
    expect(_cards(page)).to_have_count(1)
    expect(_cards(page).first).to_contain_text("sqrt(d_k)")
    page.wait_for_function("location.hash.includes('q=softmax')")

    page.reload()
    expect(page.get_by_role("searchbox", name="Search")).to_have_value("softmax")
    expect(_cards(page)).to_have_count(1)
    expect(_cards(page).first).to_contain_text("To keep the softmax soft.")

    page.get_by_role("searchbox", name="Search").fill("nothing like this")
    expect(page.get_by_text("No cards match these filters.")).to_be_visible()


def test_edit_a_card_then_suspend_and_unsuspend_it(
    page: Page, server: Server, api: httpx.Client
) -> None:
    card = _card(api, "What is MQA?", "One key/value head", tags=["attention"])
    _open_cards(page, server)
    item = _card_item(page, "What is MQA?")
    item.get_by_role("button", name="Edit").click()

    form = page.get_by_role("form", name="Edit card")
    form.get_by_label("Front").fill("What does multi-query attention share?")
    form.get_by_label("Back").fill("A single key and value head for all query heads.")
    form.get_by_label("Tags").fill("attention, inference speed")
    form.get_by_role("button", name="Save").click()

    item = _card_item(page, "multi-query attention")
    expect(item).to_contain_text("A single key and value head")
    expect(item.locator(".tag")).to_have_text(["attention", "inference_speed"])
    stored = api.get(f"cards/{card['id']}").json()
    assert stored["front"] == "What does multi-query attention share?"
    assert stored["tags"] == ["attention", "inference_speed"]

    item.get_by_role("button", name="Suspend").click()
    expect(item).to_contain_text("Suspended: out of reviews")
    expect(item.get_by_role("button", name="Unsuspend")).to_be_focused()
    expect(page.locator("#due-badge")).to_be_hidden()  # nothing left to review today
    assert api.get(f"cards/{card['id']}").json()["status"] == "suspended"

    page.get_by_role("radiogroup", name="Status").get_by_text("Suspended").click()
    # The list of all cards also had one card: wait for the filtered one.
    expect(page.get_by_role("list", name="Cards")).not_to_have_attribute("aria-busy", "true")
    expect(_cards(page)).to_have_count(1)
    _cards(page).first.get_by_role("button", name="Unsuspend").click()
    expect(_cards(page).first).to_contain_text("Due")
    assert api.get(f"cards/{card['id']}").json()["status"] == "active"


def test_a_list_that_arrives_after_a_change_does_not_undo_it_on_screen(
    page: Page, server: Server, api: httpx.Client
) -> None:
    card = _card(api, "What is MQA?", "One key/value head")
    api.patch(f"cards/{card['id']}", json={"status": "suspended"})
    _open_cards(page, server)
    # The whole list is on screen first: the learner acts on it below.
    expect(_card_item(page, "What is MQA?")).to_be_visible()
    held: list[Route] = []

    def hold(route: Route) -> None:
        if held:
            route.continue_()
        else:
            held.append(route)  # the first filtered list waits until the test lets it through

    page.route("**/v1/cards?*status=suspended*", hold)

    page.get_by_role("radiogroup", name="Status").get_by_text("Suspended").click()
    for _ in range(250):  # the handler runs while Playwright is waiting on something
        if held:
            break
        page.wait_for_timeout(20)
    assert held, "the filtered list was not asked for"
    stale = held[0].fetch()  # the server's answer while the card is still suspended
    # The learner acts on the list still on screen, before the filtered one arrives.
    _card_item(page, "What is MQA?").get_by_role("button", name="Unsuspend").click()
    expect(_card_item(page, "What is MQA?")).to_contain_text("Due")
    held[0].fulfill(response=stale)

    expect(page.get_by_text("No cards match these filters.")).to_be_visible()
    assert api.get(f"cards/{card['id']}").json()["status"] == "active"


def test_a_failed_edit_keeps_what_was_typed(page: Page, server: Server, api: httpx.Client) -> None:
    card = _card(api, "What is RoPE?", "Rotary position embeddings")
    _open_cards(page, server)
    _card_item(page, "What is RoPE?").get_by_role("button", name="Edit").click()
    api.delete(f"cards/{card['id']}")  # gone behind the page's back
    form = page.get_by_role("form", name="Edit card")
    form.get_by_label("Front").fill("What does RoPE rotate?")
    form.get_by_role("button", name="Save").click()
    expect(form.get_by_role("alert")).to_contain_text("card")
    expect(form.get_by_label("Front")).to_have_value("What does RoPE rotate?")


def test_history_shows_reviews_and_delete_asks_first(
    page: Page, server: Server, api: httpx.Client
) -> None:
    card = _card(api, "What is a KV cache?", "Stored keys and values of earlier tokens")
    assert api.post("reviews", json={"card_id": card["id"], "grade": 4}).status_code == 201
    _open_cards(page, server)
    item = _card_item(page, "KV cache")
    history = item.get_by_role("button", name="History")
    history.click()
    expect(history).to_have_attribute("aria-expanded", "true")
    expect(item.get_by_role("list", name="Reviews, oldest first")).to_contain_text("grade 4 · good")

    page.once("dialog", lambda dialog: dialog.dismiss())
    item.get_by_role("button", name="Delete").click()
    expect(item).to_be_visible()
    assert api.get(f"cards/{card['id']}").status_code == 200

    page.once("dialog", lambda dialog: dialog.accept())
    item.get_by_role("button", name="Delete").click()
    expect(page.get_by_text("No cards yet")).to_be_visible()
    assert api.get(f"cards/{card['id']}").status_code == 404


def test_create_a_card_by_hand(page: Page, server: Server, api: httpx.Client) -> None:
    source = api.post("sources", json={"title": "Attention Is All You Need"}).json()
    _open_cards(page, server)
    page.get_by_text("New card", exact=True).click()
    form = page.get_by_role("form", name="New card")
    form.get_by_label("Front").fill("Attention divides the logits by {{c1::sqrt(d_k)}}")
    form.get_by_label("Kind").select_option("cloze")
    expect(form.get_by_label("Extra (optional)")).to_be_visible()
    form.get_by_label("Tags").fill("attention, scaling")
    form.get_by_label("Source (optional)").select_option(label="Attention Is All You Need")
    form.get_by_role("button", name="Add card").click()

    item = _card_item(page, "Attention divides the logits")
    expect(item).to_contain_text("Cloze")
    expect(form.get_by_label("Front")).to_have_value("")
    (stored,) = api.get("cards").json()["items"]
    assert stored["kind"] == "cloze"
    assert stored["status"] == "active"
    assert stored["tags"] == ["attention", "scaling"]
    assert stored["source_id"] == source["id"]


def test_export_csv_and_anki_download_files(page: Page, server: Server, api: httpx.Client) -> None:
    _card(api, "Exported front, with a comma", "Exported back")
    _open_cards(page, server)
    with page.expect_download() as csv_download:
        page.get_by_role("button", name="Download CSV").click()
    download = csv_download.value
    assert download.suggested_filename.endswith(".csv")
    text = download.path().read_text(encoding="utf-8-sig")
    assert '"Exported front, with a comma",Exported back' in text

    page.get_by_label("Include drafts and suspended cards").check()
    with page.expect_download() as anki_download:
        page.get_by_role("button", name="Download for Anki (.apkg)").click()
    package = anki_download.value
    assert package.suggested_filename.endswith(".apkg")
    assert package.path().read_bytes()[:2] == b"PK"  # an .apkg is a zip archive


def test_import_a_csv_reports_what_came_in_and_bad_lines(
    page: Page, server: Server, api: httpx.Client
) -> None:
    _open_cards(page, server)
    rows = "front,back,tags\nWhat does GQA share?,Keys and values,attention\nOnly a front,,x\n"
    page.get_by_label("File to import").set_input_files(
        files=[{"name": "cards.csv", "mimeType": "text/csv", "buffer": rows.encode()}]
    )
    page.get_by_role("button", name="Import cards").click()
    report = page.get_by_role("form", name="Import", exact=True)
    expect(report).to_contain_text("cards.csv: imported 1 card, 1 line not imported.")
    expect(report.get_by_role("list", name="Lines not imported")).to_contain_text(
        "Line 3: The back is empty"
    )
    expect(_card_item(page, "What does GQA share?")).to_be_visible()
    (stored,) = api.get("cards").json()["items"]
    assert stored["tags"] == ["attention"]
    assert stored["origin"] == "imported"


def test_importing_a_file_that_is_not_utf8_says_so(page: Page, server: Server) -> None:
    _open_cards(page, server)
    page.get_by_label("File to import").set_input_files(
        files=[
            {
                "name": "latin1.csv",
                "mimeType": "text/csv",
                "buffer": "front,back\nÆ,ø\n".encode("latin-1"),
            }
        ]
    )
    page.get_by_role("button", name="Import cards").click()
    expect(page.get_by_role("alert")).to_contain_text("not UTF-8")


def test_a_draft_is_accepted_from_the_library(
    page: Page, server: Server, api: httpx.Client, fake_llm: FakeLLM
) -> None:
    session_id = api.post("sessions", json={"title": "Attention"}).json()["id"]
    fake_llm.script(
        Reply("Dividing keeps the logits small."),
        Reply(
            json.dumps(
                {
                    "cards": [
                        {
                            "front": "Why scale logits?",
                            "back": "Softmax",
                            "kind": "basic",
                            "tags": [],
                        }
                    ]
                }
            )
        ),
    )
    explain = api.post(f"sessions/{session_id}/explain", json={"passage": "Scale by 1/sqrt(d_k)."})
    assert explain.status_code == 200, explain.text
    (draft,) = api.post(f"sessions/{session_id}/distill").json()["cards"]

    _open_cards(page, server, "?status=draft")
    expect(page.get_by_role("radio", name="Drafts")).to_be_checked()
    item = _card_item(page, "Why scale logits?")
    expect(item).to_contain_text("Draft: not in reviews until accepted")
    item.get_by_role("button", name="Accept").click()
    expect(item).to_contain_text("Due")
    expect(item.get_by_role("button", name="Suspend")).to_be_focused()
    assert api.get(f"cards/{draft['id']}").json()["status"] == "active"


def test_import_an_anki_package_reports_notes_cards_and_reviews(
    page: Page, server: Server, api: httpx.Client, tmp_path: Path
) -> None:
    deck = build_deck(tmp_path)
    _open_cards(page, server)
    page.get_by_label("File to import").set_input_files(
        files=[
            {"name": "llms.apkg", "mimeType": "application/octet-stream", "buffer": deck.package}
        ]
    )
    page.get_by_role("button", name="Import cards").click()
    report = page.get_by_role("form", name="Import", exact=True)
    expect(report).to_contain_text(
        "llms.apkg: 4 notes; 5 new cards, 0 updated, 0 unchanged; 3 reviews added"
    )
    expect(report).to_contain_text("1 note of types Tutor does not know left out.")
    expect(report.get_by_role("list", name="What did not come through")).to_contain_text("Vocab")
    expect(_card_item(page, "What does GQA share?")).to_be_visible()
    assert len(api.get("cards", params={"limit": 50}).json()["items"]) == 5
