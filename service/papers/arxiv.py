"""arXiv identifiers: what a learner pastes, read as a paper's id, and the URLs made of it.

A learner pastes `1706.03762`, `arXiv:1706.03762v7`, `cs/0112017` or a link to the
paper's page or PDF; all that is kept of it is the id. The addresses Tutor fetches are
built from the configured arXiv base (`TUTOR_ARXIV_URL`) and that id alone, so no
learner input ever names a host (`service/papers/arxiv_fetch.py` fetches them).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from service.errors import InvalidRequest

# Where a paper's public page is, whichever mirror it was fetched from.
ARXIV_HOME = "https://arxiv.org"
# The hosts whose links are read as a paper's id: arXiv's own names for its pages.
_ARXIV_HOSTS = frozenset({"arxiv.org", "www.arxiv.org", "export.arxiv.org"})
# The paths a link to a paper takes: its page, its PDF, its source, its HTML rendering.
_PATH_KINDS = frozenset({"abs", "pdf", "e-print", "src", "format", "html"})
_LONGEST_INPUT = 300

# Since April 2007: YYMM.NNNN, and YYMM.NNNNN since January 2015; a version may follow.
_VERSION = r"(?:v(?P<version>[1-9]\d{0,2}))?"
_NEW_STYLE = re.compile(r"(?P<id>(?P<yymm>\d{2}(?P<mm>\d{2}))\.(?P<number>\d{4,5}))" + _VERSION)
# Five digits after the point from January 2015 on, four before.
_FIVE_DIGITS_SINCE = 1501
# Before: the archive (with its subject class) and YYMMNNN, `cs/0112017`, `math.GT/0309136`.
_OLD_STYLE = re.compile(r"(?P<id>[a-z]+(?:-[a-z]+)*(?:\.[A-Z]{2})?/\d{7})" + _VERSION)
_PREFIX = re.compile(r"^arxiv:\s*", re.IGNORECASE)


class NotAnArxivId(InvalidRequest):
    code = "not_an_arxiv_id"

    def __init__(self) -> None:
        super().__init__(
            "That is not an arXiv id or a link to an arXiv paper: give an id such as "
            "1706.03762 or cs/0112017, or the paper's arxiv.org link."
        )


@dataclass(frozen=True)
class ArxivId:
    """A paper on arXiv, and the version asked for (None: the latest)."""

    identifier: str
    version: int | None = None

    def __str__(self) -> str:
        return self.identifier if self.version is None else f"{self.identifier}v{self.version}"

    @property
    def abs_url(self) -> str:
        """The paper's page on arXiv itself, the link a learner follows."""
        return f"{ARXIV_HOME}/abs/{self}"

    def eprint_url(self, base: str) -> str:
        """Its source (a LaTeX tarball, one gzipped .tex, or a PDF when it has none)."""
        return f"{base.rstrip('/')}/e-print/{self}"

    def pdf_url(self, base: str) -> str:
        return f"{base.rstrip('/')}/pdf/{self}"


def waiting_title(paper: ArxivId) -> str:
    """A source's title while its paper is fetched and read; the paper's own replaces it."""
    return f"arXiv {paper}"


def waits_for_its_title(title: str, url: str | None) -> bool:
    """Whether a source still has the title it was given until its paper was read."""
    if not url:
        return False
    try:
        return title == waiting_title(parse_arxiv_id(url))
    except NotAnArxivId:
        return False


def parse_arxiv_id(pasted: str) -> ArxivId:
    """The paper `pasted` names: an id, `arXiv:` and an id, or a link to one of arXiv's
    pages of it. Anything else raises NotAnArxivId (422)."""
    text = pasted.strip()
    if not text or len(text) > _LONGEST_INPUT:
        raise NotAnArxivId()
    if "://" in text:
        return _id_from_link(text)
    found = _bare_id(_PREFIX.sub("", text))
    if found is None:
        raise NotAnArxivId()
    return found


def _id_from_link(link: str) -> ArxivId:
    parts = urlsplit(link)
    if parts.scheme not in ("http", "https") or (parts.hostname or "") not in _ARXIV_HOSTS:
        raise NotAnArxivId()
    if parts.port is not None or parts.username is not None:
        raise NotAnArxivId()
    kind, _, rest = parts.path.lstrip("/").partition("/")
    if kind not in _PATH_KINDS:
        raise NotAnArxivId()
    rest = rest.rstrip("/")
    found = _bare_id(rest.removesuffix(".pdf"))
    if found is None:
        raise NotAnArxivId()
    return found


def _bare_id(text: str) -> ArxivId | None:
    new = _NEW_STYLE.fullmatch(text)
    if new is not None:
        digits = 5 if int(new["yymm"]) >= _FIVE_DIGITS_SINCE else 4
        if not 1 <= int(new["mm"]) <= 12 or len(new["number"]) != digits:
            return None
        return ArxivId(new["id"], _version(new["version"]))
    old = _OLD_STYLE.fullmatch(text)
    if old is not None:
        return ArxivId(old["id"], _version(old["version"]))
    return None


def _version(digits: str | None) -> int | None:
    return None if digits is None else int(digits)
