"""The README's screenshot of the reader: docs/images/reading.png.

Not a test pytest collects by itself (the name does not start with test_); run it by name
whenever the reader's look changes, and commit the picture:

    .venv/bin/pytest -n 0 tests/browser/screenshot_reading.py

It uses the browser tests' fixtures (conftest.py): a real `tutor serve` with a fake model,
here reading the mini "Attention Is All You Need" from the local fake arXiv, with a
passage of §3.2.1 selected by a triple click, so the toolbar shows.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from browsing import Server
from playwright.sync_api import Page, expect

import fakearxiv
from fakearxiv import FakeArxiv

OUTPUT = Path(__file__).parents[2] / "docs" / "images" / "reading.png"
WIDTH, HEIGHT = 1280, 800


@pytest.fixture(scope="module")
def fake_arxiv() -> Iterator[FakeArxiv]:
    with FakeArxiv().with_papers() as fake:
        yield fake


@pytest.fixture(scope="module")
def server_settings(fake_arxiv: FakeArxiv) -> dict[str, str]:
    return {"TUTOR_ARXIV_URL": fake_arxiv.base_url}


def test_take_the_reading_screenshot(page: Page, server: Server, api: httpx.Client) -> None:
    created = api.post("sources", json={"arxiv": fakearxiv.ATTENTION})
    assert created.status_code == 201, created.text
    page.set_viewport_size({"width": WIDTH, "height": HEIGHT})
    page.emulate_media(color_scheme="light")
    page.goto(f"{server.url}#/sources/{created.json()['id']}/paper")
    expect(page.get_by_role("heading", name="3.2.1 Scaled Dot-Product Attention")).to_be_visible(
        timeout=30_000
    )
    # §3 at the top of the picture, §3.2.1 and its equation below.
    section = page.get_by_role("heading", name="3 Model Architecture").bounding_box()
    assert section is not None
    page.evaluate("(top) => window.scrollBy(0, top - 16)", section["y"])

    # A triple click on the first paragraph of §3.2.1, as a reader picks a passage.
    paragraph = page.locator(".paper [data-position]", has_text="We compute the dot products").first
    paragraph.click(click_count=3)
    expect(page.get_by_role("toolbar", name="Selected passage")).to_be_visible()
    page.mouse.move(WIDTH - 5, HEIGHT - 5)  # no hover outline in the picture

    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(OUTPUT))
    print(f"\nwrote {OUTPUT} ({OUTPUT.stat().st_size // 1024} KiB)")
