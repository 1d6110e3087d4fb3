"""/v1/export/anki, /v1/export/csv, /v1/import/csv."""

from __future__ import annotations

import dataclasses
from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, File, Query, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel, Field

from service.clock import ClockDep
from service.db import SessionDep
from service.errors import ErrorResponse, TutorError
from service.exchange import apkg_import
from service.exchange import service as exchange
from service.exchange.csv_io import NotUtf8
from service.learners.auth import CurrentLearner

router = APIRouter(tags=["import and export"])

# The largest CSV accepted; the request around it may carry some multipart framing.
MAX_IMPORT_BYTES = 5 * 1024 * 1024
IMPORT_PATH = "/v1/import/csv"
IMPORT_BODY_LIMIT = MAX_IMPORT_BYTES + 64 * 1024
# An Anki package may carry media, which Tutor does not read but must receive whole.
MAX_APKG_BYTES = 100 * 1024 * 1024
APKG_IMPORT_PATH = "/v1/import/apkg"
APKG_BODY_LIMIT = MAX_APKG_BYTES + 64 * 1024


class FileTooLarge(TutorError):
    status_code = 413
    code = "file_too_large"


class NotUtf8Error(TutorError):
    status_code = 400
    code = "not_utf8"


class ImportErrorOut(BaseModel):
    line: int
    message: str


class ImportResult(BaseModel):
    imported: int = Field(description="New cards, active at once.")
    updated: int = Field(
        description="Cards changed by a row of Anki's export whose GUID names them (an "
        "Anki note exported from Tutor, or imported from Anki before): new text and tags, "
        "same schedule and review history."
    )
    skipped_duplicates: int = Field(
        description="Rows that added nothing: a card asking the same already exists, or "
        "the row's GUID names a card that already says the same."
    )
    errors: list[ImportErrorOut] = Field(
        description="Rows not imported, by the line they start on, and why: a cloze card "
        "needs a deletion (`{{c1::…}}`), a basic card a back, and so on."
    )


Include = Annotated[
    Literal["active", "all"] | None,
    Query(description="`all` adds drafts and suspended cards."),
]


def _attachment(name: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{name}"'}


@router.get(
    "/v1/export/anki",
    response_class=Response,
    responses={200: {"content": {"application/apkg": {}}, "description": "An Anki package."}},
)
async def export_anki(learner: CurrentLearner, db: SessionDep, include: Include = None) -> Response:
    """Active cards (or all) as an .apkg: a deck per source, notes that update on re-import."""
    package = await exchange.export_anki(db, learner=learner, include_all=include == "all")
    name = f"tutor-{date.today().isoformat()}.apkg"
    return Response(package, media_type="application/apkg", headers=_attachment(name))


@router.get(
    "/v1/export/csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}, "description": "front,back,kind,tags,..."}},
)
async def export_csv(learner: CurrentLearner, db: SessionDep, include: Include = None) -> Response:
    """All cards (or only active ones) as CSV: front, back, kind, tags, status, source, due."""
    text = await exchange.export_csv(db, learner=learner, include_all=include != "active")
    name = f"tutor-{date.today().isoformat()}.csv"
    # A byte-order mark, so spreadsheet programs read the file as UTF-8.
    return Response(
        text.encode("utf-8-sig"), media_type="text/csv; charset=utf-8", headers=_attachment(name)
    )


@router.post(
    IMPORT_PATH,
    responses={400: {"model": ErrorResponse}, 413: {"model": ErrorResponse}},
)
async def import_csv(
    learner: CurrentLearner,
    db: SessionDep,
    clock: ClockDep,
    file: Annotated[UploadFile, File(description="UTF-8 CSV, or Anki's Notes in Plain Text.")],
) -> ImportResult:
    """Import cards (active at once); bad rows are reported by line, the rest imported.

    Anki's "Notes in Plain Text" export with its GUID column (`#guid column:`) updates
    the cards its notes came from instead of adding them again; a note Tutor does not
    know yet becomes a card that later imports of the same note update."""
    data = await file.read(MAX_IMPORT_BYTES + 1)
    if len(data) > MAX_IMPORT_BYTES:
        raise FileTooLarge(f"The file is larger than {MAX_IMPORT_BYTES // (1024 * 1024)} MiB.")
    try:
        report = await exchange.import_csv(db, learner=learner, data=data, now=clock.now())
    except NotUtf8 as exc:
        raise NotUtf8Error(str(exc)) from None
    return ImportResult(
        imported=report.imported,
        updated=report.updated,
        skipped_duplicates=report.skipped_duplicates,
        errors=[ImportErrorOut(line=e.line, message=e.message) for e in report.errors],
    )


class ApkgImportResult(BaseModel):
    notes: int = Field(description="Notes in the package.")
    cards_created: int
    cards_updated: int = Field(
        description="Cards found again whose text, schedule or reviews changed."
    )
    cards_unchanged: int
    reviews_added: int = Field(description="Reviews from Anki's log new to Tutor.")
    sources_created: int = Field(description="Decks that became sources in the reading queue.")
    notes_skipped: int = Field(description="Notes of a type Tutor does not know (see problems).")
    problems: list[str]


@router.post(
    APKG_IMPORT_PATH,
    responses={
        400: {"model": ErrorResponse, "description": "Not multipart form data (`bad_request`)."},
        413: {"model": ErrorResponse},
        422: {
            "model": ErrorResponse,
            "description": "Not an Anki package Tutor can read (`invalid_package`): nothing "
            "was written.",
        },
    },
)
async def import_apkg(
    learner: CurrentLearner,
    db: SessionDep,
    clock: ClockDep,
    file: Annotated[UploadFile, File(description="An .apkg or .colpkg exported by Anki.")],
) -> ApkgImportResult:
    """Import an Anki package: Basic, Basic-and-reversed and Cloze notes become cards (one
    per Anki card), decks become sources, and each card's schedule and review log come
    along, so SM-2 or FSRS continues from them. Importing the same package again changes
    nothing; a later one updates what changed. Other note types are reported, not guessed."""
    data = await file.read(MAX_APKG_BYTES + 1)
    if len(data) > MAX_APKG_BYTES:
        raise FileTooLarge(f"The file is larger than {MAX_APKG_BYTES // (1024 * 1024)} MiB.")
    report = await apkg_import.import_apkg(db, learner=learner, data=data, now=clock.now())
    return ApkgImportResult(**dataclasses.asdict(report))
