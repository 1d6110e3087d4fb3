"""A paper's PDF over HTTP: uploaded, stored under the data directory, read in the
background into sections of paragraphs on their pages, paged through, replaced, retried."""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from helpers import bearer, error_of
from paper_pdfs import TITLE, attention_pdf, owner_locked_pdf
from papers_api import blocks_of, new_source, paper_files, settled, upload
from service.config import Settings


async def test_a_pdf_is_read_into_sections_of_paragraphs_on_their_pages(
    api: httpx.AsyncClient,
) -> None:
    source_id = await new_source(api)

    accepted = await upload(api, source_id, attention_pdf())

    assert accepted.status_code == 202
    started = accepted.json()
    assert started["status"] == "pending"
    assert (started["file_name"], started["file_bytes"]) == ("attention.pdf", len(attention_pdf()))
    assert started["sections"] == []
    document = await settled(api, source_id)
    assert document["status"] == "ready", document["error"]
    assert (document["progress"], document["error"], document["attempts"]) == (1.0, None, 1)
    assert (document["title"], document["origin"], document["page_count"]) == (TITLE, "pdf", 2)
    outline = [(s["number"], s["heading"], s["level"], s["page"]) for s in document["sections"][1:]]
    assert outline == [
        (None, "Abstract", 1, 1),
        ("1", "Introduction", 1, 1),
        ("3", "Model Architecture", 1, 1),
        ("3.2", "Attention", 2, 1),
        ("3.2.1", "Scaled Dot-Product Attention", 3, 1),
        ("3.2.2", "Multi-Head Attention", 3, 2),
        (None, "References", 1, 2),
    ]
    # Before the first heading: the authors, under the title.
    front = document["sections"][0]
    assert front["heading"] == TITLE
    assert [b["text"] for b in front["blocks"]] == [
        "Ashish Vaswani, Noam Shazeer, Niki Parmar, Jakob Uszkoreit"
    ]
    introduction = document["sections"][2]
    assert [b["index"] for b in introduction["blocks"]] == [0, 1]
    assert introduction["blocks"][1]["text"].startswith("In this work we propose the Transformer")
    scaled = document["sections"][5]
    definition, equation = scaled["blocks"]
    # The subscript, set below the line in a smaller size, reads as TeX would write it.
    assert "queries and keys of dimension d_k, and values of dimension d_v" in definition["text"]
    assert (definition["kind"], definition["page"]) == ("text", 1)
    assert equation == {
        "index": 1,
        "position": 7,
        "kind": "equation",
        "text": "Attention(Q, K, V) = softmax(QK / sqrt(d_k)) V",
        "page": 1,
        "latex": None,
        "label": "(1)",
        "html": None,
    }
    later = document["sections"][6]["blocks"][0]
    assert later["page"] == 2
    assert later["text"].startswith("We suspect that for large values of d_k, the dot products")
    # The page numbers in the footers are no part of the text.
    assert not any(block["text"] in ("1", "2") for block in blocks_of(document))
    # The symbol table (symbols.find_symbols), stored with the document: d_k as the paper
    # defines it on page 1, for the passage on page 2 that uses it.
    assert document["symbols"] == [
        {"symbol": "d_k", "definition": "the dimension of the keys", "section": 5, "block": 0}
    ]


async def test_the_pdf_is_kept_under_the_data_directory_as_uploaded(
    api: httpx.AsyncClient, settings: Settings
) -> None:
    source_id = await new_source(api)
    data = attention_pdf()

    await upload(api, source_id, data)
    await settled(api, source_id)

    [stored] = paper_files(settings)
    assert stored.suffix == ".pdf"
    uuid.UUID(stored.stem)  # named by its paper's id, never by the learner's file name
    assert hashlib.sha256(stored.read_bytes()).digest() == hashlib.sha256(data).digest()


async def test_a_pdf_with_an_owner_password_only_is_read_as_any_viewer_would(
    api: httpx.AsyncClient,
) -> None:
    source_id = await new_source(api)

    await upload(api, source_id, owner_locked_pdf())

    document = await settled(api, source_id)
    assert document["status"] == "ready", document["error"]
    assert document["sections"][5]["heading"] == "Scaled Dot-Product Attention"


async def test_pages_of_blocks_follow_each_other_through_the_sections(
    api: httpx.AsyncClient,
) -> None:
    source_id = await new_source(api)
    await upload(api, source_id, attention_pdf())
    whole = await settled(api, source_id)
    assert whole["next_block"] is None

    pages, start = [], 0
    while start is not None:
        page = (
            await api.get(
                f"/v1/sources/{source_id}/document", params={"from_block": start, "limit": 3}
            )
        ).json()
        assert len(blocks_of(page)) <= 3
        pages.append(page)
        start = page["next_block"]

    assert len(pages) == -(-whole["block_count"] // 3)
    assert all(p["block_count"] == whole["block_count"] == 10 for p in pages)
    assert all(p["section_count"] == len(whole["sections"]) == 8 for p in pages)
    shown = [
        (section["index"], block["index"], block["text"])
        for page in pages
        for section in page["sections"]
        for block in section["blocks"]
    ]
    expected = [
        (section["index"], block["index"], block["text"])
        for section in whole["sections"]
        for block in section["blocks"]
    ]
    assert shown == expected
    # Every heading shows on some page, in order, even one whose blocks another page holds.
    headings = [s["index"] for page in pages for s in page["sections"]]
    assert sorted(set(headings)) == list(range(8))
    assert headings == sorted(headings)


async def test_a_page_past_the_end_is_empty(api: httpx.AsyncClient) -> None:
    source_id = await new_source(api)
    await upload(api, source_id, attention_pdf())
    await settled(api, source_id)

    past = (await api.get(f"/v1/sources/{source_id}/document", params={"from_block": 99})).json()

    assert (past["sections"], past["next_block"], past["block_count"]) == ([], None, 10)


async def test_a_new_pdf_replaces_the_document_and_its_file(
    api: httpx.AsyncClient, settings: Settings
) -> None:
    source_id = await new_source(api)
    await upload(api, source_id, attention_pdf())
    await settled(api, source_id)
    [first] = paper_files(settings)

    await upload(api, source_id, owner_locked_pdf(), name="again.pdf")
    document = await settled(api, source_id)

    [second] = paper_files(settings)
    assert second != first
    assert (document["file_name"], document["status"]) == ("again.pdf", "ready")


@pytest.mark.parametrize(
    ("data", "status", "code"),
    [
        (b"", 400, "empty_file"),
        (b"PK\x03\x04 a zip, not a PDF", 415, "not_a_pdf"),
        (b"<html><body>%PDF-1.7 comes too late</body></html>".rjust(2000), 415, "not_a_pdf"),
    ],
)
async def test_a_file_that_is_not_a_pdf_is_refused_and_not_kept(
    api: httpx.AsyncClient, settings: Settings, data: bytes, status: int, code: str
) -> None:
    source_id = await new_source(api)

    refused = await upload(api, source_id, data)

    assert refused.status_code == status
    assert error_of(refused)["code"] == code
    assert paper_files(settings) == []
    missing = await api.get(f"/v1/sources/{source_id}/document")
    assert error_of(missing)["code"] == "no_document"


async def test_a_pdf_over_50_mib_is_refused_and_not_kept(
    api: httpx.AsyncClient, settings: Settings
) -> None:
    source_id = await new_source(api)
    too_big = b"%PDF-1.7\n" + b"0" * (50 * 1024 * 1024 - 8)

    refused = await upload(api, source_id, too_big)

    assert refused.status_code == 413
    assert error_of(refused)["code"] == "file_too_large"
    assert paper_files(settings) == []


async def test_a_body_declared_over_the_limit_is_refused_before_it_is_read(
    api: httpx.AsyncClient,
) -> None:
    source_id = await new_source(api)
    headers = {"Content-Type": "multipart/form-data; boundary=x", "Content-Length": "60000000"}

    refused = await api.post(f"/v1/sources/{source_id}/document", headers=headers, content=b"")

    assert refused.status_code == 413
    assert error_of(refused)["code"] == "body_too_large"


async def test_a_body_that_is_not_a_form_is_refused(api: httpx.AsyncClient) -> None:
    source_id = await new_source(api)

    refused = await api.post(f"/v1/sources/{source_id}/document", json={"file": "x"})

    assert refused.status_code == 422
    assert error_of(refused)["code"] == "validation_error"


async def test_another_learners_source_is_as_absent_as_a_missing_one(
    app: FastAPI, api: httpx.AsyncClient, make_learner: Any, settings: Settings
) -> None:
    source_id = await new_source(api)
    other = await make_learner("grace")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://tutor.test", headers=bearer(other.key)
    ) as grace:
        refused = await upload(grace, source_id, attention_pdf())
        unknown = await upload(grace, str(uuid.uuid4()), attention_pdf())
        read = await grace.get(f"/v1/sources/{source_id}/document")

    for response in (refused, unknown, read):
        assert response.status_code == 404
        assert error_of(response)["code"] == "source_not_found"
    assert paper_files(settings) == []


async def test_a_source_without_a_document_says_so(api: httpx.AsyncClient) -> None:
    source_id = await new_source(api)

    for response in (
        await api.get(f"/v1/sources/{source_id}/document"),
        await api.post(f"/v1/sources/{source_id}/document/extract"),
    ):
        assert response.status_code == 404
        assert error_of(response)["code"] == "no_document"


async def test_a_ready_document_can_be_read_again(api: httpx.AsyncClient) -> None:
    source_id = await new_source(api)
    await upload(api, source_id, attention_pdf())
    first = await settled(api, source_id)

    again = await api.post(f"/v1/sources/{source_id}/document/extract")

    assert again.status_code == 202
    assert again.json()["status"] == "pending"
    second = await settled(api, source_id)
    assert second["attempts"] == 2
    assert second["sections"] == first["sections"]


async def test_each_refusal_is_one_the_operation_documents(
    app: FastAPI, api: httpx.AsyncClient
) -> None:
    source_id = await new_source(api)
    path = "/v1/sources/{source_id}/document"
    refusals = [
        ("post", path, await upload(api, source_id, b"")),
        ("post", path, await upload(api, source_id, b"GIF89a")),
        ("post", path, await upload(api, str(uuid.uuid4()), attention_pdf())),
        ("post", path, await api.post(f"/v1/sources/{source_id}/document", json={})),
        ("get", path, await api.get(f"/v1/sources/{source_id}/document")),
        ("get", path, await api.get(f"/v1/sources/{source_id}/document?limit=0")),
        ("post", f"{path}/extract", await api.post(f"/v1/sources/{source_id}/document/extract")),
    ]
    operations = app.openapi()["paths"]

    for method, operation, response in refusals:
        documented = operations[operation][method]["responses"][str(response.status_code)]
        examples = documented["content"]["application/json"]["examples"]
        assert error_of(response)["code"] in examples, (operation, response.text)
