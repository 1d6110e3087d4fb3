"""The stats page: today's figures, the streak, retention, the year's heatmap, the forecast."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import httpx
from playwright.sync_api import Locator, Page, expect


def _card(api: httpx.Client, front: str) -> dict[str, Any]:
    response = api.post("cards", json={"front": front, "back": "answer"})
    assert response.status_code == 201, response.text
    card: dict[str, Any] = response.json()
    return card


def _grade(api: httpx.Client, card: dict[str, Any], grade: int) -> None:
    response = api.post("reviews", json={"card_id": card["id"], "grade": grade})
    assert response.status_code == 201, response.text


def _live_in(api: httpx.Client, timezone: str) -> None:
    response = api.patch("me", json={"timezone": timezone, "day_starts_at_hour": 0})
    assert response.status_code == 200, response.text


def _open_stats(page: Page) -> None:
    page.get_by_role("link", name="Stats").click()
    expect(page.get_by_role("heading", name="Stats", level=1)).to_be_visible()


def _figure(page: Page, term: str) -> Locator:
    return page.locator(".figures div").filter(has=page.get_by_text(term, exact=True)).locator("dd")


def test_the_numbers_after_two_days_of_reviews(page: Page, api: httpx.Client) -> None:
    # A day in a row without waiting for midnight: the same moment is a day later at
    # UTC+12 than at UTC-12, and a review keeps the day it was made on.
    _live_in(api, "Etc/GMT+12")
    kept = _card(api, "Question 0")
    _grade(api, kept, 4)  # due the next day
    _live_in(api, "Etc/GMT-12")
    learnt, missed = _card(api, "Question 1"), _card(api, "Question 2")
    _grade(api, kept, 4)  # interval 6
    _grade(api, learnt, 5)  # interval 1: due tomorrow
    _grade(api, missed, 2)  # to learn again today
    stats = api.get("stats").json()
    today, tomorrow = stats["date"], stats["forecast"][0]["date"]
    yesterday = stats["heatmap"][-2]["date"]

    _open_stats(page)
    expect(_figure(page, "Streak")).to_have_text("2 days")
    expect(_figure(page, "Retention, 30 days")).to_contain_text("75%")
    expect(_figure(page, "Reviewed today")).to_have_text("3")
    expect(_figure(page, "Correct today")).to_have_text("2 of 3")
    expect(_figure(page, "New cards today")).to_have_text("2")
    expect(_figure(page, "Due remaining")).to_have_text(re.compile(r"^1 reviews and drill"))
    expect(_figure(page, "Active cards")).to_have_text("3")

    heatmap = page.get_by_role("group", name=re.compile(r"^Reviews per day"))
    expect(heatmap).to_be_visible()
    cells = heatmap.get_by_role("img")
    expect(cells).to_have_count(365)
    today_cell = heatmap.locator(f'[data-date="{today}"]')
    expect(today_cell).to_have_attribute("data-level", "4")
    expect(today_cell).to_have_attribute("title", re.compile(r"^3 reviews on "))
    expect(today_cell).to_have_attribute("aria-label", re.compile(r"^3 reviews on "))
    yesterday_cell = heatmap.locator(f'[data-date="{yesterday}"]')
    expect(yesterday_cell).to_have_attribute("data-level", "2")
    expect(yesterday_cell).to_have_attribute("title", re.compile(r"^1 review on "))
    expect(heatmap.locator('[data-level="0"]').first).to_have_attribute(
        "title", re.compile(r"^0 reviews on ")
    )
    expect(page.get_by_text("4 reviews on 2 days between")).to_be_visible()
    # Monday-first rows: the first day sits in the row of its weekday.
    first = date.fromisoformat(stats["heatmap"][0]["date"])
    expect(heatmap.locator("span.pad")).to_have_count(first.weekday())

    bars = page.locator(".bars span")
    expect(bars).to_have_count(30)
    tomorrow_bar = page.locator(f'.bars span[data-date="{tomorrow}"]')
    expect(tomorrow_bar).to_have_attribute("title", re.compile(r": 1 card due$"))
    expect(tomorrow_bar).to_have_attribute("style", re.compile(r"height: 100%"))
    summary = "Tomorrow 1 card, the next 7 days 2, the next 30 days 2."
    expect(page.get_by_text(summary)).to_be_visible()
    table = page.get_by_role("table", name="Cards due per day, the next 30 days")
    expect(table.get_by_role("row")).to_have_count(31)
    expect(table.get_by_role("row").nth(1).get_by_role("cell")).to_have_text("1")


def test_a_learner_without_reviews_reads_it_in_words(page: Page, api: httpx.Client) -> None:
    _card(api, "Never reviewed")
    _open_stats(page)
    expect(_figure(page, "Streak")).to_have_text("0 days")
    expect(_figure(page, "Retention, 30 days")).to_contain_text("no reviews in the last 30 days")
    expect(_figure(page, "Due remaining")).to_contain_text("0 reviews and drill")
    expect(page.get_by_text("No reviews yet")).to_be_visible()
    expect(page.get_by_text("No reviews are scheduled for the next 30 days yet.")).to_be_visible()
    expect(page.locator(".heatmap")).to_have_count(0)


def test_the_page_fits_a_phone(page: Page, api: httpx.Client) -> None:
    card = _card(api, "Question")
    _grade(api, card, 4)
    page.set_viewport_size({"width": 375, "height": 800})
    _open_stats(page)
    expect(page.get_by_role("group", name=re.compile(r"^Reviews per day"))).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
