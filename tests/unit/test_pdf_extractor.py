"""The PDF extractor itself (service/papers/pdf.py), called directly, in this process:
what it reads from a real PDF's text layer, the progress it reports, and the code of
each refusal. The sandbox it normally runs in is tested over the API
(tests/api/papers/test_pdf_hostile.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from paper_pdfs import (
    TITLE,
    attention_pdf,
    encrypted_pdf,
    flate_bomb_pdf,
    many_pages_pdf,
    nested_arrays_pdf,
    owner_locked_pdf,
    scanned_pdf,
)
from service.papers import progress
from service.papers.document import BlockKind, Origin
from service.papers.failures import ExtractionFailed
from service.papers.pdf import MAX_PAGES, document_from_pdf, looks_like_pdf


@pytest.fixture
def reports() -> Iterator[list[tuple[float, str]]]:
    heard: list[tuple[float, str]] = []
    progress.listen(lambda fraction, stage: heard.append((fraction, stage)))
    yield heard
    progress.listen(None)


def _file(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "paper.pdf"
    path.write_bytes(data)
    return path


def test_the_mini_paper_reads_as_its_author_set_it(
    tmp_path: Path, reports: list[tuple[float, str]]
) -> None:
    document = document_from_pdf(_file(tmp_path, attention_pdf()))

    assert (document.title, document.origin, document.page_count) == (TITLE, Origin.pdf, 2)
    headings = [s.heading for s in document.sections]
    assert headings[1:4] == ["Abstract", "Introduction", "Model Architecture"]
    scaled = next(s for s in document.sections if s.number == "3.2.1")
    assert "where d_k is the dimension of the keys" in scaled.blocks[0].text
    assert (scaled.blocks[1].kind, scaled.blocks[1].label) == (BlockKind.equation, "(1)")
    assert document.symbols == ()  # the job adds them (symbols.find_symbols), not the reader
    assert reports == [
        (0.0, "Reading page 1 of 2"),
        (0.5, "Reading page 2 of 2"),
        (1.0, "Finding sections"),
    ]


def test_a_pdf_locked_only_by_its_owner_opens(tmp_path: Path) -> None:
    assert document_from_pdf(_file(tmp_path, owner_locked_pdf())).title == TITLE


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (scanned_pdf(), "pdf_has_no_text"),
        (encrypted_pdf(), "pdf_encrypted"),
        (nested_arrays_pdf(), "pdf_too_complex"),
        (b"%PDF-1.4\nnothing else", "pdf_damaged"),
        (b"\x89PNG\r\n\x1a\n", "not_a_pdf"),
    ],
    ids=["scanned", "encrypted", "nested", "damaged", "png"],
)
def test_a_pdf_it_cannot_read_is_refused_with_its_code(
    tmp_path: Path, data: bytes, code: str
) -> None:
    with pytest.raises(ExtractionFailed) as refused:
        document_from_pdf(_file(tmp_path, data))

    assert refused.value.code == code
    assert refused.value.message


def test_a_stream_that_inflates_to_gigabytes_is_refused_at_pypdfs_limit(tmp_path: Path) -> None:
    with pytest.raises(ExtractionFailed) as refused:
        document_from_pdf(_file(tmp_path, flate_bomb_pdf()))

    assert refused.value.code == "pdf_too_complex"
    assert "Limit reached" in refused.value.message


def test_the_page_count_is_checked_before_any_page_is_read(
    tmp_path: Path, reports: list[tuple[float, str]]
) -> None:
    with pytest.raises(ExtractionFailed) as refused:
        document_from_pdf(_file(tmp_path, many_pages_pdf(MAX_PAGES + 1)))

    assert refused.value.code == "pdf_too_many_pages"
    assert f"has {MAX_PAGES + 1} pages" in refused.value.message
    assert reports == []


@pytest.mark.parametrize(
    ("head", "is_pdf"),
    [
        (b"%PDF-1.7\n", True),
        (b"\xef\xbb\xbf" + b" " * 500 + b"%PDF-1.4", True),  # junk before the header
        (b" " * 1024 + b"%PDF-1.4", False),  # too late
        (b"%PDF", False),
        (b"", False),
    ],
)
def test_a_pdf_is_told_by_its_header(head: bytes, is_pdf: bool) -> None:
    assert looks_like_pdf(head) is is_pdf
