"""/v1/export/anki, /v1/export/csv, /v1/import/csv."""

from __future__ import annotations

import dataclasses
from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, File, Query, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from service.clock import ClockDep
from service.db import SessionDep
from service.errors import TutorError
from service.exchange import apkg_import
from service.exchange import service as exchange
from service.exchange.apkg_import import InvalidPackage
from service.exchange.csv_io import NotUtf8
from service.learners.auth import CurrentLearner
from service.openapi_docs import PARAMETERS, VALIDATION_ERROR, Refusal, Responses, error_responses

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
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "imported": 41,
                    "updated": 3,
                    "skipped_duplicates": 2,
                    "errors": [
                        {
                            "line": 17,
                            "message": "A cloze card needs a deletion, such as {{c1::answer}}.",
                        }
                    ],
                }
            ]
        }
    )

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


_MIB = 1024 * 1024
_ATTACHMENT_HEADER = {
    "Content-Disposition": {
        "description": "`attachment`, with the file's name (`tutor-YYYY-MM-DD.apkg`, `.csv`).",
        "schema": {"type": "string"},
    }
}


def _download(media_type: str, what: str, schema: dict[str, str]) -> Responses:
    return {
        200: {
            "description": what,
            "content": {media_type: {"schema": schema}},
            "headers": _ATTACHMENT_HEADER,
        },
        **error_responses(PARAMETERS),
    }


def _upload_refusals(max_file_bytes: int, what: str) -> tuple[Refusal, ...]:
    return (
        Refusal(400, "bad_request", "The body is not multipart form data."),
        Refusal(
            413,
            "body_too_large",
            f"The request is over {max_file_bytes // _MIB} MiB: the file's limit, and some room "
            "for the form around it.",
        ),
        Refusal(413, FileTooLarge.code, f"The {what} is over {max_file_bytes // _MIB} MiB."),
        VALIDATION_ERROR,
    )


@router.get(
    "/v1/export/anki",
    response_class=Response,
    operation_id="exportAnki",
    summary="Download your cards as an Anki package",
    # Binary, so that client generators hand back the bytes (Tutor sends it as
    # `application/apkg`, the type Anki's own files go by).
    responses=_download(
        "application/apkg",
        "An Anki package (.apkg), to open in Anki.",
        {"type": "string", "format": "binary"},
    ),
)
async def export_anki(learner: CurrentLearner, db: SessionDep, include: Include = None) -> Response:
    """Active cards (or all) as an .apkg: a deck per source, notes that update on
    re-import, and each card's schedule and review history."""
    package = await exchange.export_anki(db, learner=learner, include_all=include == "all")
    name = f"tutor-{date.today().isoformat()}.apkg"
    return Response(package, media_type="application/apkg", headers=_attachment(name))


@router.get(
    "/v1/export/csv",
    response_class=Response,
    operation_id="exportCsv",
    summary="Download your cards as CSV",
    responses=_download(
        "text/csv",
        "UTF-8 with a byte-order mark; a header line, then a card a line: "
        "front,back,kind,tags,status,source,due.",
        {"type": "string"},
    ),
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
    operation_id="importCsv",
    summary="Import cards from CSV",
    responses=error_responses(
        _upload_refusals(MAX_IMPORT_BYTES, "file"),
        Refusal.of(NotUtf8Error, "The file is not UTF-8 text: save it as UTF-8 and send it again."),
    ),
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
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "notes": 120,
                    "cards_created": 131,
                    "cards_updated": 0,
                    "cards_unchanged": 0,
                    "reviews_added": 874,
                    "sources_created": 2,
                    "notes_skipped": 1,
                    "problems": [
                        "1 note of the type 'Image Occlusion' was skipped: Tutor imports "
                        "Basic, Basic (and reversed card) and Cloze notes."
                    ],
                }
            ]
        }
    )

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
    operation_id="importApkg",
    summary="Import an Anki package",
    responses=error_responses(
        _upload_refusals(MAX_APKG_BYTES, "package"),
        Refusal.of(
            InvalidPackage,
            "Not an Anki package Tutor can read (the message says why): nothing was written.",
        ),
    ),
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
