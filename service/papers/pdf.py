"""A PDF's text layer read into a Document, with pypdf.

`document_from_pdf` is the extractor the sandbox runs on an uploaded (or fetched) PDF;
it refuses what it cannot read with a clear code: not a PDF, encrypted, a scan (no text
layer), more pages than MAX_PAGES (counted from the page tree before any page is read),
damaged, or built to exhaust a reader (pypdf's own limits, nesting past Python's
recursion limit). Memory and time are the sandbox's to limit.

Each page's text comes from pypdf's visitor, fragment by fragment, with its position and
font: fragments on one baseline make a line, and a smaller fragment set below or above
it is a subscript or a superscript (`d_k`, `x^{2}`), as TeX places them. pdf_layout.py
makes the lines into sections, paragraphs and equations.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any

from pypdf import PageObject, PasswordType, PdfReader
from pypdf.errors import DependencyError, LimitReachedError, PyPdfError
from pypdf.generic import DictionaryObject

from service.papers import progress
from service.papers.document import Document
from service.papers.failures import ExtractionFailed, FailureCode
from service.papers.pdf_layout import Line, build_document

MAX_PAGES = 2000
# A text layer this thin, on average per page, is a scan's (or a page number's).
_MIN_CHARACTERS_PER_PAGE = 40
_HEADER = b"%PDF-"
# The PDF header may follow some bytes of junk, within the first kilobyte.
_HEADER_WITHIN = 1024
# A fragment this much smaller than its line, off the baseline, is a sub- or superscript.
_SCRIPT_SCALE = 0.9
# A generous average width of a character, in ems: a gap past it is a real one.
_EM_PER_CHARACTER = 0.55

_BOLD_FONTS = ("bold", "black", "heavy", "semibold", "demi", "cmbx", "cmb10", "nimbussanl-bold")


def looks_like_pdf(head: bytes) -> bool:
    """Whether a file's first bytes hold a PDF header."""
    return _HEADER in head[:_HEADER_WITHIN]


def document_from_pdf(path: Path) -> Document:
    """The Document a PDF's text layer makes; raises ExtractionFailed for one it cannot read."""
    with path.open("rb") as file:
        if not looks_like_pdf(file.read(_HEADER_WITHIN)):
            raise ExtractionFailed(FailureCode.not_a_pdf, "The file is not a PDF.")
    trouble = _ParseTrouble.install()
    try:
        return _read(PdfReader(path, strict=False), trouble)
    except ExtractionFailed:
        raise
    except Exception as error:
        raise _failure(error) from None


def _failure(error: Exception) -> BaseException:
    """What an exception out of pypdf means. pypdf wraps a MemoryError or RecursionError
    met while parsing in its own PdfReadError, so the causes are looked at too."""
    causes = _causes(error)
    if any(isinstance(cause, MemoryError) for cause in causes):
        return MemoryError()  # the sandbox's limit: the worker reports it as such
    if any(isinstance(cause, (LimitReachedError, RecursionError)) for cause in causes):
        return ExtractionFailed(
            FailureCode.pdf_too_complex,
            "The PDF is built to exhaust a reader (a stream that inflates past Tutor's "
            f"limits, or objects nested too deep), so it was not read: {_short(causes[-1])}",
        )
    # pypdf's own errors, and what a damaged file makes it raise (KeyError, ValueError…)
    return ExtractionFailed(
        FailureCode.pdf_damaged, f"The PDF is damaged and could not be read: {_short(error)}"
    )


def _causes(error: BaseException) -> list[BaseException]:
    chain: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and len(chain) < 20:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def _short(error: BaseException) -> str:
    text = str(error).strip() or type(error).__name__
    return text[:200]


def _read(reader: PdfReader, trouble: _ParseTrouble) -> Document:
    _decrypt(reader)
    declared = _declared_page_count(reader)
    if declared > MAX_PAGES:
        raise _too_many_pages(declared)
    pages = reader.pages
    if len(pages) > MAX_PAGES:  # the tree held more pages than it declared
        raise _too_many_pages(len(pages))
    if not pages:
        raise ExtractionFailed(
            FailureCode.pdf_damaged, "The PDF is damaged: no page of it can be found."
        )
    lines: list[Line] = []
    characters = 0
    for number, page in enumerate(pages, start=1):
        progress.report((number - 1) / max(len(pages), 1), f"Reading page {number} of {len(pages)}")
        page_lines = _page_lines(page, number)
        characters += sum(len("".join(line.text.split())) for line in page_lines)
        lines.extend(page_lines)
    if characters < _MIN_CHARACTERS_PER_PAGE * max(len(pages), 1):
        if trouble.gave_up:
            # The text may well be there, behind what pypdf gave up on.
            raise ExtractionFailed(
                FailureCode.pdf_too_complex,
                "The PDF is built to exhaust a reader (objects nested too deep), and no "
                "text could be read around them.",
            )
        raise ExtractionFailed(
            FailureCode.pdf_has_no_text,
            "The PDF has no text layer (it looks scanned, or made of images): Tutor reads "
            "text, and does not recognise it in pictures. Upload a PDF with selectable "
            "text, or run it through OCR first.",
        )
    progress.report(1.0, "Finding sections")
    return build_document(lines, page_count=len(pages), title=_metadata_title(reader))


def _decrypt(reader: PdfReader) -> None:
    """Open a PDF encrypted with no user password (only its owner's restrictions), as any
    viewer does; refuse one that needs a password."""
    if not reader.is_encrypted:
        return
    try:
        opened = reader.decrypt("")
    except (DependencyError, NotImplementedError, PyPdfError):
        opened = PasswordType.NOT_DECRYPTED
    if opened == PasswordType.NOT_DECRYPTED:
        raise ExtractionFailed(
            FailureCode.pdf_encrypted,
            "The PDF is encrypted with a password. Save an unprotected copy (print to PDF, "
            "or remove the password in your PDF viewer) and upload that.",
        )


def _declared_page_count(reader: PdfReader) -> int:
    """The page count the page tree's root declares, read before any page is."""
    root = reader.trailer["/Root"].get_object()
    pages = root["/Pages"].get_object() if isinstance(root, DictionaryObject) else None
    count = pages.get("/Count", 0) if isinstance(pages, DictionaryObject) else 0
    return int(count) if isinstance(count, int) else 0


def _too_many_pages(count: int) -> ExtractionFailed:
    return ExtractionFailed(
        FailureCode.pdf_too_many_pages,
        f"The PDF has {count} pages; Tutor reads papers of at most {MAX_PAGES}.",
    )


def _metadata_title(reader: PdfReader) -> str | None:
    try:
        metadata = reader.metadata
        return str(metadata.title) if metadata is not None and metadata.title else None
    except (PyPdfError, KeyError, ValueError, TypeError):
        return None


class _ParseTrouble(logging.Handler):
    """What pypdf said while reading, kept rather than printed.

    In its lenient mode pypdf keeps what it could parse of an object and warns about the
    rest; it words the warning "Error reading PDF file." only when the parse ran out of
    memory or recursion depth: a structure built to exhaust a reader.
    """

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.gave_up = False

    @classmethod
    def install(cls) -> _ParseTrouble:
        handler = cls()
        pypdf_log = logging.getLogger("pypdf")
        # A hostile file makes thousands of warnings: none reaches the process's stderr.
        pypdf_log.handlers = [handler]
        pypdf_log.propagate = False
        return handler

    def emit(self, record: logging.LogRecord) -> None:
        if "Error reading PDF file." in record.getMessage():
            self.gave_up = True


class _LineCollector:
    """Fragments from pypdf's visitor, gathered into lines."""

    def __init__(self, page: int) -> None:
        self.page = page
        self.lines: list[Line] = []
        self._text = ""
        self._x = self._y = self._size = 0.0
        # Where the last fragment ends, about: pypdf gives where a fragment starts, not
        # its width, and a gap between two on one line is a space.
        self._end = 0.0
        self._bold = False

    def visit(
        self, text: str, cm: list[float], tm: list[float], font: Any, font_size: float
    ) -> None:
        # pypdf ends its own line at every change of baseline, a subscript's too; lines
        # are told apart here, by position.
        text = text.replace("\n", "")
        if not text.strip():
            self._text += text
            return
        _, _, c, d, x, y = _multiply(tm, cm)
        size = abs(font_size * math.hypot(c, d)) or font_size
        if self._text.strip() and abs(y - self._y) < 0.5 * max(self._size, 1.0):
            if x > self._end + size and not (self._text[-1:].isspace() or text[0].isspace()):
                text = " " + text  # set apart on the line: an equation's number, say
            self._text += _scripted(text, y - self._y, size, self._size)
        else:
            self.flush()
            self._text, self._x, self._y, self._size = text, x, y, size
            self._bold = _is_bold(font)
        self._end = x + len(text) * _EM_PER_CHARACTER * size

    def flush(self) -> None:
        text = " ".join(self._text.split())
        if text:
            line = Line(text, self.page, self._x, self._y, round(self._size, 1), self._bold)
            self.lines.append(line)
        self._text = ""


def _scripted(text: str, rise: float, size: float, line_size: float) -> str:
    """A fragment on a line: as `_k` or `^{T}` when set smaller off the baseline."""
    fragment = text.strip()
    if size >= _SCRIPT_SCALE * line_size or abs(rise) < 0.5 or " " in fragment or text[0] == " ":
        return text
    marker = "_" if rise < 0 else "^"
    return f"{marker}{fragment}" if len(fragment) == 1 else f"{marker}{{{fragment}}}"


def _is_bold(font: Any) -> bool:
    try:
        name = str(font.get("/BaseFont", "")) if font is not None else ""
    except (AttributeError, PyPdfError):
        return False
    return any(mark in name.lower() for mark in _BOLD_FONTS)


def _multiply(m: list[float], n: list[float]) -> tuple[float, ...]:
    return (
        m[0] * n[0] + m[1] * n[2],
        m[0] * n[1] + m[1] * n[3],
        m[2] * n[0] + m[3] * n[2],
        m[2] * n[1] + m[3] * n[3],
        m[4] * n[0] + m[5] * n[2] + n[4],
        m[4] * n[1] + m[5] * n[3] + n[5],
    )


def _page_lines(page: PageObject, number: int) -> list[Line]:
    collector = _LineCollector(number)
    try:
        page.extract_text(visitor_text=collector.visit)
    except Exception as error:
        failure = _failure(error)
        if not isinstance(failure, ExtractionFailed) or failure.code != FailureCode.pdf_damaged:
            raise failure from None
        # One damaged page: the rest of the paper is still worth reading.
        logging.getLogger("tutor.papers").warning("page %s could not be read", number)
    collector.flush()
    return collector.lines
