"""Why a paper could not be read: a code a client can act on, and words for the learner.

An extractor (pdf.py, latex.py) raises `ExtractionFailed` for a file it refuses; the
sandbox raises it for a child process that ran out of memory or time, or died. The job
stores the code and the message on the paper, and GET /v1/sources/{id}/document shows
them: the failure is the paper's state, not a failed request.
"""

from __future__ import annotations

import enum


class FailureCode(enum.StrEnum):
    not_a_pdf = "not_a_pdf"
    pdf_encrypted = "pdf_encrypted"
    pdf_has_no_text = "pdf_has_no_text"
    pdf_too_many_pages = "pdf_too_many_pages"
    # pypdf could not parse it: a damaged or truncated file.
    pdf_damaged = "pdf_damaged"
    # Built to exhaust a reader: objects nested thousands deep, a stream that inflates
    # past pypdf's own limits.
    pdf_too_complex = "pdf_too_complex"
    # A LaTeX source that could not be read (latex.py).
    latex_unreadable = "latex_unreadable"
    # The child process passed a limit: memory, CPU time, wall time, or the size of what
    # it sends back.
    extraction_out_of_memory = "extraction_out_of_memory"
    extraction_timed_out = "extraction_timed_out"
    extraction_too_large = "extraction_too_large"
    # The child process died another way (a signal, a bug in an extractor).
    extraction_crashed = "extraction_crashed"
    # The process running the job ended (a restart, a crash) before it finished.
    extraction_interrupted = "extraction_interrupted"


class ExtractionFailed(Exception):
    """A file that cannot be turned into a Document, and why, in the learner's words."""

    def __init__(self, code: FailureCode | str, message: str) -> None:
        super().__init__(message)
        self.code = str(code)
        self.message = message
