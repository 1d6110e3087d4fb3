"""Fetching a paper from a (fake) arXiv: the source preferred, the PDF when there is
none, nothing but the configured host asked, limits on size and time, and a clear
error for each way it goes wrong, with nothing left on disk."""

from __future__ import annotations

import gzip
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest

import fakearxiv
from fakearxiv import Answer, FakeArxiv, attention_source
from service.config import ArxivSettings, Settings
from service.errors import TutorError
from service.papers.arxiv import ArxivId
from service.papers.arxiv_fetch import (
    ArxivPaperNotFound,
    ArxivPaperTooLarge,
    ArxivTimedOut,
    ArxivUnavailable,
    fetch_paper,
    sniff,
)


@pytest.fixture(scope="module")
def arxiv() -> Iterator[FakeArxiv]:
    with FakeArxiv().with_papers() as fake:
        yield fake


def _settings(tmp_path: Path, arxiv: FakeArxiv, **limits: float) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        arxiv=ArxivSettings(url=arxiv.base_url, **limits),
        _env_file=None,
    )


def _left_on_disk(settings: Settings) -> list[str]:
    folder = settings.data_dir / "papers"
    return sorted(path.name for path in folder.iterdir()) if folder.exists() else []


async def test_the_latex_source_is_preferred(tmp_path: Path, arxiv: FakeArxiv) -> None:
    settings = _settings(tmp_path, arxiv)
    received = await fetch_paper(settings, ArxivId(fakearxiv.ATTENTION))
    assert received.suffix == "tar.gz"
    assert received.path.read_bytes() == attention_source()
    assert received.path.parent == settings.data_dir / "papers"
    assert received.size == len(attention_source())
    assert received.name == f"{fakearxiv.ATTENTION}.tar.gz"
    assert tarfile.is_tarfile(received.path)


async def test_a_single_gzipped_tex_file(tmp_path: Path, arxiv: FakeArxiv) -> None:
    received = await fetch_paper(_settings(tmp_path, arxiv), ArxivId(fakearxiv.PPO))
    assert received.suffix == "tex.gz"
    assert gzip.decompress(received.path.read_bytes()).startswith(b"\\documentclass")


async def test_a_paper_without_source_comes_as_its_pdf(tmp_path: Path, arxiv: FakeArxiv) -> None:
    arxiv.requests.clear()
    received = await fetch_paper(_settings(tmp_path, arxiv), ArxivId(fakearxiv.PDF_ONLY))
    assert received.suffix == "pdf"
    assert received.path.read_bytes().startswith(b"%PDF-")
    assert arxiv.requests == [f"/e-print/{fakearxiv.PDF_ONLY}"]  # the e-print was the PDF


async def test_a_source_over_the_limit_falls_back_to_the_pdf(
    tmp_path: Path, arxiv: FakeArxiv
) -> None:
    settings = _settings(tmp_path, arxiv, max_bytes=100 * 1024)
    arxiv.requests.clear()
    received = await fetch_paper(settings, ArxivId(fakearxiv.LARGE_SOURCE))
    assert received.suffix == "pdf"
    assert arxiv.requests == [
        f"/e-print/{fakearxiv.LARGE_SOURCE}",
        f"/pdf/{fakearxiv.LARGE_SOURCE}",
    ]
    assert _left_on_disk(settings) == [received.path.name]  # the cut-off source is gone


async def test_both_over_the_limit(tmp_path: Path, arxiv: FakeArxiv) -> None:
    settings = _settings(tmp_path, arxiv, max_bytes=1024)
    with pytest.raises(ArxivPaperTooLarge) as refused:
        await fetch_paper(settings, ArxivId(fakearxiv.ATTENTION))
    assert (refused.value.status_code, refused.value.code) == (422, "arxiv_too_large")
    assert _left_on_disk(settings) == []


async def test_a_source_over_the_limit_and_no_pdf_says_too_large(
    tmp_path: Path, arxiv: FakeArxiv
) -> None:
    arxiv.serve("/e-print/2401.00012", Answer(body=attention_source()))
    settings = _settings(tmp_path, arxiv, max_bytes=1024)
    with pytest.raises(ArxivPaperTooLarge):
        await fetch_paper(settings, ArxivId("2401.00012"))


async def test_a_paper_arxiv_does_not_have(tmp_path: Path, arxiv: FakeArxiv) -> None:
    settings = _settings(tmp_path, arxiv)
    with pytest.raises(ArxivPaperNotFound) as refused:
        await fetch_paper(settings, ArxivId("2401.99999"))
    assert refused.value.code == "arxiv_not_found"
    assert "2401.99999" in refused.value.message
    assert _left_on_disk(settings) == []


async def test_a_slow_arxiv_times_out(tmp_path: Path, arxiv: FakeArxiv) -> None:
    settings = _settings(tmp_path, arxiv, timeout=0.5)
    with pytest.raises(ArxivTimedOut) as refused:
        await fetch_paper(settings, ArxivId(fakearxiv.SLOW))
    assert (refused.value.status_code, refused.value.code) == (504, "arxiv_timeout")
    assert _left_on_disk(settings) == []


async def test_a_redirect_to_another_host_is_not_followed(tmp_path: Path, arxiv: FakeArxiv) -> None:
    with pytest.raises(ArxivUnavailable, match="another host"):
        await fetch_paper(_settings(tmp_path, arxiv), ArxivId(fakearxiv.REDIRECTS_AWAY))


async def test_a_redirect_on_the_same_host_is(tmp_path: Path, arxiv: FakeArxiv) -> None:
    received = await fetch_paper(_settings(tmp_path, arxiv), ArxivId(fakearxiv.REDIRECTS_HOME))
    assert received.suffix == "tar.gz"


async def test_an_error_from_arxiv(tmp_path: Path, arxiv: FakeArxiv) -> None:
    arxiv.serve("/e-print/2401.00010", Answer(status=503, body=b"busy"))
    with pytest.raises(ArxivUnavailable) as refused:
        await fetch_paper(_settings(tmp_path, arxiv), ArxivId("2401.00010"))
    assert (refused.value.status_code, refused.value.code) == (502, "arxiv_unavailable")


async def test_an_answer_that_is_neither_source_nor_pdf(tmp_path: Path, arxiv: FakeArxiv) -> None:
    arxiv.serve("/e-print/2401.00011", Answer(body=b"<html>withdrawn</html>"))
    arxiv.serve("/pdf/2401.00011", Answer(body=b"<html>withdrawn</html>"))
    settings = _settings(tmp_path, arxiv)
    with pytest.raises(ArxivUnavailable, match="neither"):
        await fetch_paper(settings, ArxivId("2401.00011"))
    assert _left_on_disk(settings) == []


async def test_an_arxiv_that_does_not_answer(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path / "data",
        arxiv=ArxivSettings(url="http://127.0.0.1:9", timeout=5),
        _env_file=None,
    )
    with pytest.raises(TutorError) as refused:
        await fetch_paper(settings, ArxivId(fakearxiv.ATTENTION))
    assert refused.value.code in ("arxiv_unavailable", "arxiv_timeout")


@pytest.mark.parametrize(
    ("head", "kind"),
    [
        (b"%PDF-1.7\n", "pdf"),
        (attention_source()[:1024], "tar.gz"),
        (fakearxiv.tarball({"a.tex": "x"}, compressed=False)[:1024], "tar.gz"),
        (gzip.compress(b"\\documentclass{article}" * 40)[:1024], "tex.gz"),
        (b"<html>", None),
        (b"", None),
    ],
    # Named, not shown: a gzip header holds the time it was made, and test ids that
    # differ between xdist's workers stop the run.
    ids=["pdf", "e-print tarball", "plain tarball", "gzipped tex", "html", "empty"],
)
def test_what_a_download_is_is_told_by_its_bytes(head: bytes, kind: str | None) -> None:
    assert sniff(head) == kind
