"""GET /v1/export/all: everything the learner owns, as one zip."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import FileResponse
from starlette.background import BackgroundTask

from service.archive import service as archive
from service.clock import ClockDep
from service.db import SessionDep
from service.learners.auth import CurrentLearner

router = APIRouter(tags=["import and export"])


@router.get(
    "/v1/export/all",
    operation_id="exportEverything",
    summary="Download everything you own",
    response_class=FileResponse,
    responses={
        200: {
            "description": "A zip: `manifest.json` (what each file holds, and what was left "
            "out), `learner.json` (your profile, API keys by prefix), a JSON file per kind "
            "of row (`sources.json`, `papers.json`, `sessions.json`, `messages.json`, "
            "`critiques.json`, `check_answers.json`, `prerequisite_paths.json`, `cards.json`, "
            "`reviews.json`, "
            "`study_log.json`, `knowledge_marks.json`, `fsrs_optimizations.json`, "
            "`model_calls.json`, `background_jobs.json`) and `cards.apkg`, every card as an "
            "Anki package.",
            "content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}},
        },
    },
)
async def export_everything(
    learner: CurrentLearner, db: SessionDep, clock: ClockDep
) -> FileResponse:
    """Everything Tutor keeps about you, to keep or to take elsewhere: every session with
    its messages, critiques and check answers, your sources, cards and reviews, the study
    log, your knowledge marks and settings, and the model calls made for you; your cards
    also as an Anki package. The files are read from one snapshot (on PostgreSQL), the
    rows with the schema's own column names; the manifest names the schema's revision.
    The operator's `tutor export --learner NAME` writes the same archive."""
    now = clock.now()
    path = await archive.write_archive_file(db, learner=learner, now=now)
    return FileResponse(
        path,
        media_type="application/zip",
        filename=archive.archive_name(learner, now),
        background=BackgroundTask(path.unlink, missing_ok=True),
    )
