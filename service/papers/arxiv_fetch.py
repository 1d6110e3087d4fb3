"""Fetching one paper from arXiv: its LaTeX source where it has one, else its PDF.

The only addresses fetched are `{TUTOR_ARXIV_URL}/e-print/{id}` and `/pdf/{id}`, built
from the configured base and a parsed id (`service/papers/arxiv.py`); a redirect is
followed only on that same host. A download streams to a file of its own under the
papers folder (`files.receive`: counted, hashed, cut off past `TUTOR_ARXIV_MAX_BYTES`),
and the whole fetch, both downloads included, ends within `TUTOR_ARXIV_TIMEOUT`.

arXiv's e-print answers with a gzipped tar of the LaTeX source, a single gzipped .tex
file, or the PDF itself when the authors gave no source; what came is told by its
bytes, not by its headers. A source too large (figures and all) still leaves the PDF.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import tarfile
import zlib

import httpx

from service import __version__
from service.config import Settings
from service.errors import InvalidRequest, TutorError
from service.papers import files
from service.papers.arxiv import ArxivId
from service.papers.files import FileTooLarge, ReceivedFile
from service.papers.pdf import looks_like_pdf

USER_AGENT = f"Tutor/{__version__} (paper fetch)"
_MOST_REDIRECTS = 3
_TAR_BLOCK = 512


class ArxivPaperNotFound(InvalidRequest):
    code = "arxiv_not_found"

    def __init__(self, paper: object = "that id") -> None:
        super().__init__(f"arXiv has no paper {paper}: check the id.")


class ArxivPaperTooLarge(InvalidRequest):
    code = "arxiv_too_large"

    def __init__(self, limit: int = 50 * 1024 * 1024) -> None:
        super().__init__(
            f"The paper's source and its PDF are both larger than {limit // (1024 * 1024)} "
            "MiB, Tutor's limit (TUTOR_ARXIV_MAX_BYTES): download the PDF and upload it."
        )


class ArxivUnavailable(TutorError):
    status_code = 502
    code = "arxiv_unavailable"

    def __init__(self, why: str = "it answered with an error") -> None:
        super().__init__(f"The paper could not be fetched from arXiv ({why}): try again later.")


class ArxivTimedOut(TutorError):
    status_code = 504
    code = "arxiv_timeout"

    def __init__(self, seconds: float = 60.0) -> None:
        super().__init__(
            f"arXiv did not deliver the paper within {seconds:g} seconds "
            "(TUTOR_ARXIV_TIMEOUT): try again later."
        )


async def fetch_paper(settings: Settings, paper: ArxivId) -> ReceivedFile:
    """The paper's source if arXiv has one, else its PDF: a whole file under the papers
    folder, its `suffix` saying which ("tar.gz", "tex.gz" or "pdf"). Raises
    ArxivPaperNotFound, ArxivPaperTooLarge, ArxivUnavailable or ArxivTimedOut."""
    arxiv = settings.arxiv
    try:
        async with asyncio.timeout(arxiv.timeout), _client(settings) as client:
            return await _source_or_pdf(client, settings, paper)
    except (TimeoutError, httpx.TimeoutException):
        raise ArxivTimedOut(arxiv.timeout) from None
    except httpx.HTTPError as exc:
        raise ArxivUnavailable(f"it could not be reached: {type(exc).__name__}") from None


def _client(settings: Settings) -> httpx.AsyncClient:
    # No proxy or .netrc from the environment, and no redirect followed blindly: the
    # request goes to the configured arXiv and nowhere else.
    return httpx.AsyncClient(
        follow_redirects=False,
        trust_env=False,
        timeout=settings.arxiv.timeout,
        headers={"User-Agent": USER_AGENT},
    )


async def _source_or_pdf(
    client: httpx.AsyncClient, settings: Settings, paper: ArxivId
) -> ReceivedFile:
    too_large: ArxivPaperTooLarge | None = None
    try:
        source = await _download(client, settings, paper.eprint_url(settings.arxiv.url), paper)
    except ArxivPaperNotFound:
        source = None  # no source: the PDF may still be there
    except ArxivPaperTooLarge as refused:
        source, too_large = None, refused  # too big with its figures: the PDF may do
    if source is not None:
        return source
    try:
        pdf = await _download(client, settings, paper.pdf_url(settings.arxiv.url), paper)
    except ArxivPaperNotFound:
        raise too_large or ArxivPaperNotFound(paper) from None
    if pdf is None or pdf.suffix != "pdf":
        if pdf is not None:
            files.discard(pdf.path)
        raise ArxivUnavailable("it sent neither a LaTeX source nor a PDF")
    return pdf


async def _download(
    client: httpx.AsyncClient, settings: Settings, url: str, paper: ArxivId
) -> ReceivedFile | None:
    """The file at `url`, stored and named by what it turned out to be; None (and
    nothing stored) when it is neither a LaTeX source nor a PDF."""
    for _ in range(_MOST_REDIRECTS + 1):
        async with client.stream("GET", url) as response:
            if response.is_redirect:
                url = _same_host_redirect(settings, response)
                continue
            _check_status(response, paper)
            return await _store(response, settings, paper)
    raise ArxivUnavailable(f"it redirected more than {_MOST_REDIRECTS} times")


def _same_host_redirect(settings: Settings, response: httpx.Response) -> str:
    target = response.url.join(response.headers.get("location", ""))
    base = httpx.URL(settings.arxiv.url)
    if (target.scheme, target.netloc) != (base.scheme, base.netloc):
        raise ArxivUnavailable("it redirected to another host, which is not followed")
    return str(target)


def _check_status(response: httpx.Response, paper: ArxivId) -> None:
    if response.status_code == 404:
        raise ArxivPaperNotFound(paper)
    if response.status_code != 200:
        raise ArxivUnavailable(f"it answered {response.status_code}")


async def _store(
    response: httpx.Response, settings: Settings, paper: ArxivId
) -> ReceivedFile | None:
    limit = settings.arxiv.max_bytes
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise ArxivPaperTooLarge(limit)
    try:
        received = await files.receive(
            settings, response.aiter_bytes(), name=str(paper), suffix="", max_bytes=limit
        )
    except FileTooLarge:
        raise ArxivPaperTooLarge(limit) from None
    suffix = sniff(received.head)
    if suffix is None:
        files.discard(received.path)
        return None
    return dataclasses.replace(received, name=f"{paper}.{suffix}", suffix=suffix)


def sniff(head: bytes) -> str | None:
    """What a download is, from its first kilobyte: "pdf", "tar.gz" (a tar of the
    source, gzipped or not), "tex.gz" (one gzipped file), or None."""
    if looks_like_pdf(head):
        return "pdf"
    if head.startswith(b"\x1f\x8b"):
        return "tar.gz" if _is_tar(_gunzip_start(head)) else "tex.gz"
    if _is_tar(head):
        return "tar.gz"
    return None


def _gunzip_start(head: bytes) -> bytes:
    with contextlib.suppress(zlib.error):
        return zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(head, _TAR_BLOCK)
    return b""


def _is_tar(start: bytes) -> bool:
    """Whether `start` is a tar's first header block: its checksum holds (not every
    tar format carries a magic string)."""
    if len(start) < _TAR_BLOCK:
        return False
    try:
        tarfile.TarInfo.frombuf(start[:_TAR_BLOCK], "utf-8", "surrogateescape")
    except tarfile.HeaderError:
        return False
    return True
