"""/v1/sources/{source_id}/document: a source's paper, uploaded as a PDF, read in the background."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, File, Query, UploadFile, status

from service.db import SessionDep
from service.errors import TutorError
from service.learners.auth import CurrentLearner
from service.openapi_docs import PARAMETERS, VALIDATION_ERROR, Refusal, error_responses
from service.pagination import MAX_PAGE_SIZE
from service.papers import files, pdf
from service.papers import service as papers
from service.papers.schemas import DocumentOut, DocumentStateList, DocumentStateOut
from service.papers.service import ExtractionRunnerDep, ExtractionRunning, NoDocument
from service.sources.service import SourceNotFound

router = APIRouter(prefix="/v1/sources", tags=["sources"])
# Documents across sources: `/v1/sources/documents` would read as a source's id.
states_router = APIRouter(prefix="/v1/documents", tags=["sources"])

_MIB = 1024 * 1024
MAX_PDF_BYTES = 50 * _MIB
DOCUMENT_PATH = "/v1/sources/{source_id}/document"
# The file's limit and some room for the multipart form around it.
DOCUMENT_BODY_LIMIT = MAX_PDF_BYTES + 64 * 1024
_CHUNK = _MIB


class PdfTooLarge(TutorError):
    status_code = 413
    code = "file_too_large"

    def __init__(self) -> None:
        super().__init__(f"The PDF is larger than {MAX_PDF_BYTES // _MIB} MiB, Tutor's limit.")


class EmptyFile(TutorError):
    status_code = 400
    code = "empty_file"

    def __init__(self) -> None:
        super().__init__("The file is empty.")


class NotAPdf(TutorError):
    status_code = 415
    code = "not_a_pdf"

    def __init__(self) -> None:
        super().__init__("The file is not a PDF (it does not start with %PDF-).")


_SOURCE = Refusal.of(SourceNotFound)
_RUNNING = Refusal.of(ExtractionRunning)


@router.post(
    "/{source_id}/document",
    status_code=status.HTTP_202_ACCEPTED,
    operation_id="uploadDocument",
    summary="Upload a source's PDF",
    responses=error_responses(
        Refusal(400, "bad_request", "The body is not multipart form data."),
        Refusal.of(EmptyFile),
        Refusal(
            413,
            "body_too_large",
            f"The request is over {MAX_PDF_BYTES // _MIB} MiB: the file's limit, and some "
            "room for the form around it.",
        ),
        Refusal.of(PdfTooLarge),
        Refusal.of(NotAPdf),
        VALIDATION_ERROR,
        _SOURCE,
        _RUNNING,
    ),
)
async def upload_document(
    source_id: uuid.UUID,
    learner: CurrentLearner,
    db: SessionDep,
    runner: ExtractionRunnerDep,
    file: Annotated[UploadFile, File(description="The paper as a PDF, at most 50 MiB.")],
) -> DocumentOut:
    """Store the PDF and read it in the background: follow `status` and `progress` at
    GET. The PDF replaces the source's earlier document. A scanned, encrypted or hostile
    PDF is stored all the same and ends `failed`, with a code that says why."""
    try:
        received = await files.receive(
            runner.settings,
            _chunks(file),
            name=file.filename or "paper.pdf",
            suffix="pdf",
            max_bytes=MAX_PDF_BYTES,
        )
    except files.FileTooLarge:
        raise PdfTooLarge() from None
    if received.size == 0 or not pdf.looks_like_pdf(received.head):
        files.discard(received.path)
        raise EmptyFile() if received.size == 0 else NotAPdf()
    paper = await papers.start_extraction(
        db,
        runner,
        learner=learner,
        source_id=source_id,
        received=received,
        extractor=pdf.document_from_pdf,
    )
    return DocumentOut.of(paper)


async def _chunks(file: UploadFile) -> AsyncIterator[bytes]:
    while chunk := await file.read(_CHUNK):
        yield chunk


@router.get(
    "/{source_id}/document",
    operation_id="getDocument",
    summary="Read a source's document",
    responses=error_responses(PARAMETERS, _SOURCE, Refusal.of(NoDocument)),
)
async def get_document(
    source_id: uuid.UUID,
    learner: CurrentLearner,
    db: SessionDep,
    runner: ExtractionRunnerDep,
    from_block: Annotated[
        int, Query(ge=0, description="The first block to show, counted across sections.")
    ] = 0,
    limit: Annotated[int, Query(ge=1, le=2000, description="The most blocks to show.")] = 500,
) -> DocumentOut:
    """How the reading goes (`status`, `progress`, `stage`, `error`), and once `ready`
    the paper by section, a page of blocks at a time (`next_block`), with its symbols."""
    paper, page = await papers.read_document(
        db, runner, learner=learner, source_id=source_id, from_block=from_block, limit=limit
    )
    return DocumentOut.of(paper, page)


@router.post(
    "/{source_id}/document/extract",
    status_code=status.HTTP_202_ACCEPTED,
    operation_id="extractDocument",
    summary="Read a source's document again",
    responses=error_responses(PARAMETERS, _SOURCE, Refusal.of(NoDocument), _RUNNING),
)
async def extract_document(
    source_id: uuid.UUID, learner: CurrentLearner, db: SessionDep, runner: ExtractionRunnerDep
) -> DocumentOut:
    """Read the stored file again, in the background: after a failure (an interrupted
    one above all), or to pick up a better reader."""
    paper = await papers.retry_extraction(db, runner, learner=learner, source_id=source_id)
    return DocumentOut.of(paper)


# A page of sources at a time, as GET /v1/sources gives them.
_MOST_SOURCES = MAX_PAGE_SIZE


@states_router.get(
    "",
    operation_id="listDocumentStates",
    summary="How your sources' documents stand",
    responses=error_responses(VALIDATION_ERROR),
)
async def list_document_states(
    learner: CurrentLearner,
    db: SessionDep,
    runner: ExtractionRunnerDep,
    source_id: Annotated[
        list[uuid.UUID],
        Query(
            min_length=1,
            max_length=_MOST_SOURCES,
            description=f"A source to ask about; repeat it for each (at most {_MOST_SOURCES}).",
        ),
    ],
) -> DocumentStateList:
    """For a list of sources, in one request: which have a document, and how its
    reading stands (`status`, `progress`, `stage`, `error`, and the title once ready),
    without the paper's text. Sources that are not yours, or have no document, are
    left out."""
    found = await papers.document_states(db, runner, learner=learner, source_ids=source_id)
    return DocumentStateList(documents=[DocumentStateOut.of(paper) for paper in found])
