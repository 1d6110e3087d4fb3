"""The study log and the settings page in the browser."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time

import httpx
from browsing import Server
from playwright.sync_api import Page, expect

from fakellm import FakeLLM, Reply
from scheduler_process import study_yesterday

DIARY = "You reviewed your first card on **attention**: a good start."


def _run_scheduler_until_an_entry(server: Server, api: httpx.Client) -> dict:
    process = subprocess.Popen(
        [sys.executable, "-m", "service", "scheduler"],
        # No /metrics port: another test's scheduler may hold the default one.
        env=server.env | {"TUTOR_SCHEDULER_METRICS_PORT": "0"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            entries = api.get("study-log").json()["items"]
            if entries and entries[0]["narrative"]:
                return entries[0]
            assert process.poll() is None, process.stdout.read() if process.stdout else ""
            time.sleep(0.2)
        raise AssertionError("the scheduler wrote no study log entry within 30 s")
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


def test_an_empty_study_log_says_where_entries_come_from(page: Page, server: Server) -> None:
    page.goto(f"{server.url}#/log")
    expect(page.get_by_role("heading", name="Study log", level=1)).to_be_visible()
    expect(page.get_by_text("No entries yet")).to_contain_text("tutor scheduler")


def test_the_study_log_shows_an_entry_and_writes_it_again(
    page: Page, server: Server, api: httpx.Client, fake_llm: FakeLLM
) -> None:
    study_yesterday(api)
    fake_llm.script(Reply(DIARY))
    entry = _run_scheduler_until_an_entry(server, api)

    page.goto(f"{server.url}#/log")
    article = page.get_by_role("article", name=entry["title"])
    expect(article).to_contain_text("You reviewed your first card on attention")
    expect(article.locator(".narrative strong")).to_have_text("attention")  # rendered Markdown
    expect(article).to_contain_text("1 review, 100% recalled")
    expect(article).to_contain_text("1 new card started")

    fake_llm.script(Reply("A second look at the same day."))
    article.get_by_role("button", name="Write again").click()
    expect(article).to_contain_text("A second look at the same day.")
    assert api.get(f"study-log/{entry['date']}").json()["narrative"] == (
        "A second look at the same day."
    )

    # The model fails: the page says so in words, and the last text stays.
    fake_llm.reset()
    article.get_by_role("button", name="Write again").click()
    expect(article.get_by_role("alert")).to_contain_text("model")
    expect(article).to_contain_text("A second look at the same day.")


def _open_settings(page: Page, server: Server) -> None:
    page.goto(f"{server.url}#/settings")
    expect(page.get_by_role("heading", name="Settings", level=1)).to_be_visible()


def test_settings_change_the_timezone_and_daily_limit(
    page: Page, server: Server, api: httpx.Client
) -> None:
    _open_settings(page, server)
    expect(page.get_by_label("Timezone")).to_have_value("UTC")
    page.get_by_label("Timezone").fill("Europe/Berlin")
    page.get_by_label("New cards per day").fill("7")
    page.get_by_label("Reminder").select_option(label="07:00")
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_role("status").filter(has_text="Saved.")).to_be_visible()
    me = api.get("me").json()
    assert me["timezone"] == "Europe/Berlin"
    assert me["new_cards_per_day"] == 7
    assert me["reminder_hour"] == 7

    page.reload()
    expect(page.get_by_label("New cards per day")).to_have_value("7")
    page.get_by_label("Reminder").select_option(label="No reminder")
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_role("status").filter(has_text="Saved.")).to_be_visible()
    assert api.get("me").json()["reminder_hour"] is None


def test_an_unknown_timezone_is_explained_next_to_the_field(
    page: Page, server: Server, api: httpx.Client
) -> None:
    daily = api.get("me").json()["new_cards_per_day"]
    _open_settings(page, server)
    timezone = page.get_by_label("Timezone")
    timezone.fill("Mars/Olympus_Mons")
    page.get_by_label("New cards per day").fill("12")
    page.get_by_role("button", name="Save settings").click()
    expect(timezone).to_have_attribute("aria-invalid", "true")
    expect(timezone).to_have_accessible_description(re.compile("unknown IANA timezone"))
    expect(timezone).to_be_focused()
    expect(timezone).to_have_value("Mars/Olympus_Mons")  # what was typed stays
    me = api.get("me").json()
    assert me["timezone"] == "UTC"
    assert me["new_cards_per_day"] == daily  # one request: nothing of it was saved

    timezone.fill("Asia/Tokyo")
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_role("status").filter(has_text="Saved.")).to_be_visible()
    expect(timezone).not_to_have_attribute("aria-invalid", "true")
    assert api.get("me").json()["timezone"] == "Asia/Tokyo"


def test_sign_out_forgets_the_key_and_asks_for_one(page: Page, server: Server) -> None:
    _open_settings(page, server)
    page.get_by_role("button", name="Sign out on this browser").click()
    expect(page.get_by_role("dialog", name="Your API key")).to_be_visible()
    assert page.evaluate("localStorage.getItem('tutor.apiKey')") is None
