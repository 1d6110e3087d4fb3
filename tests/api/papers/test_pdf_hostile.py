"""PDFs that cannot or must not be read: each one's extraction fails with a code that
says why, the file is kept, and the server goes on serving (the reading runs in a child
process with memory, CPU and time limits)."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from helpers import error_of
from paper_pdfs import (
    attention_pdf,
    deep_dictionary,
    encrypted_pdf,
    flate_bomb_pdf,
    many_pages_pdf,
    nested_arrays_pdf,
    nested_dictionaries_pdf,
    scanned_pdf,
    text_page_pdf,
)
from papers_api import new_source, paper_files, settled, upload
from service.config import Settings
from service.papers.sandbox import SandboxLimits

_MIB = 1024 * 1024


_TEXT = "Hello: this page holds a plain paragraph of text, enough to count as one."


def _catalog_with_nested_pages() -> bytes:
    """A catalog whose /Pages is a dictionary nested 50,000 deep, not the page tree."""
    return text_page_pdf(_TEXT, pages=deep_dictionary())


def _page_cut_short_by_nesting() -> bytes:
    """A page whose dictionary holds a deep one before its contents: pypdf keeps the
    page's keys before it, and gives up on the rest."""
    return text_page_pdf(_TEXT, page_before=b"/Deep " + deep_dictionary())


def _damaged() -> bytes:
    whole = attention_pdf()
    return whole[: len(whole) // 3]


@pytest.mark.parametrize(
    ("make", "code", "says"),
    [
        (scanned_pdf, "pdf_has_no_text", "no text layer"),
        (encrypted_pdf, "pdf_encrypted", "encrypted with a password"),
        (flate_bomb_pdf, "pdf_too_complex", "built to exhaust a reader"),
        (nested_arrays_pdf, "pdf_too_complex", "nested too deep"),
        (nested_dictionaries_pdf, "pdf_too_complex", "nested too deep"),
        (_catalog_with_nested_pages, "pdf_too_complex", "nested too deep"),
        (_page_cut_short_by_nesting, "pdf_too_complex", "nested too deep"),
        (many_pages_pdf, "pdf_too_many_pages", "has 10000 pages"),
        # A page tree that declares one page and holds ten thousand.
        (lambda: many_pages_pdf(declared=1), "pdf_too_many_pages", "has 10000 pages"),
        (_damaged, "pdf_damaged", "damaged"),
        (lambda: b"%PDF-1.7\n" + b"\x00garbage" * 500, "pdf_damaged", "damaged"),
    ],
    ids=[
        "scanned",
        "encrypted",
        "flate-bomb",
        "nested-arrays",
        "nested-dictionaries",
        "nested-page-tree",
        "nested-page",
        "10000-pages",
        "page-count-lie",
        "truncated",
        "garbage",
    ],
)
async def test_a_pdf_tutor_cannot_read_fails_with_a_clear_code_and_is_kept(
    api: httpx.AsyncClient, settings: Settings, make: object, code: str, says: str
) -> None:
    source_id = await new_source(api)
    data = make()  # type: ignore[operator]

    accepted = await upload(api, source_id, data)

    assert accepted.status_code == 202
    document = await settled(api, source_id)
    assert document["status"] == "failed"
    assert document["error"]["code"] == code
    assert says in document["error"]["message"]
    assert (document["sections"], document["title"]) == ([], None)
    [kept] = paper_files(settings)
    assert kept.read_bytes() == data
    await _still_serving(api)


async def _still_serving(api: httpx.AsyncClient) -> None:
    """The server answers, and reads a good paper, after a bad one."""
    assert (await api.get("/v1/sources")).status_code == 200
    source_id = await new_source(api, "Still serving")
    await upload(api, source_id, attention_pdf())
    assert (await settled(api, source_id))["status"] == "ready"


# A page whose content stream inflates to 64 MiB of spaces: under pypdf's own limit, so
# the reading goes on, and takes seconds of CPU and a few hundred MiB.
def _heavy() -> bytes:
    return flate_bomb_pdf(64 * _MIB)


@pytest.mark.parametrize(
    ("limits", "code", "says"),
    [
        (SandboxLimits(memory_bytes=150 * _MIB), "extraction_out_of_memory", "150 MiB"),
        (SandboxLimits(cpu_seconds=1), "extraction_timed_out", "CPU time than Tutor allows (1 s)"),
        (
            SandboxLimits(wall_seconds=0.5),
            "extraction_timed_out",
            "longer than Tutor allows (0.5 s)",
        ),
        (
            SandboxLimits(result_bytes=1000),
            "extraction_too_large",
            "larger than Tutor allows (1000 bytes)",
        ),
    ],
    ids=["memory", "cpu", "wall-time", "result-size"],
)
async def test_an_extraction_past_a_limit_is_stopped_and_fails_with_its_code(
    app: FastAPI, api: httpx.AsyncClient, limits: SandboxLimits, code: str, says: str
) -> None:
    app.state.paper_limits = limits
    source_id = await new_source(api)
    data = attention_pdf() if limits.result_bytes == 1000 else _heavy()

    await upload(api, source_id, data)

    document = await settled(api, source_id)
    assert document["status"] == "failed"
    assert document["error"]["code"] == code
    assert says in document["error"]["message"]
    app.state.paper_limits = SandboxLimits()
    await _still_serving(api)


async def test_a_page_of_text_with_a_deeply_nested_dictionary_after_it_is_still_read(
    api: httpx.AsyncClient,
) -> None:
    """pypdf gives up on the nested dictionary alone; the page's text is what matters."""
    source_id = await new_source(api)

    await upload(api, source_id, text_page_pdf(_TEXT, page_after=b"/Deep " + deep_dictionary()))

    document = await settled(api, source_id)
    assert document["status"] == "ready", document["error"]
    assert [b["text"] for s in document["sections"] for b in s["blocks"]] == [_TEXT]


async def test_a_retry_of_a_pdf_that_cannot_be_read_fails_the_same_way(
    api: httpx.AsyncClient,
) -> None:
    source_id = await new_source(api)
    await upload(api, source_id, encrypted_pdf())
    await settled(api, source_id)

    retried = await api.post(f"/v1/sources/{source_id}/document/extract")

    assert retried.status_code == 202
    assert retried.json()["error"] is None
    document = await settled(api, source_id)
    assert (document["error"]["code"], document["attempts"]) == ("pdf_encrypted", 2)
    assert error_of(await api.get("/v1/sources/not-an-id/document"))["code"] == ("validation_error")
