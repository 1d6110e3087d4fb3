"""/v1/sources: the reading queue."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request, Response, status

from service.db import SessionDep
from service.learners.auth import CurrentLearner
from service.openapi_docs import JSON_BODY, PAGED, PARAMETERS, Refusal, error_responses
from service.pagination import CursorParam, Limit, Page
from service.sources import service
from service.sources.models import SourceStatus
from service.sources.paper_imports import ARXIV_REFUSALS, paper_imports
from service.sources.schemas import SourceCreate, SourceOut, SourceUpdate
from service.sources.service import SourceNotFound

router = APIRouter(prefix="/v1/sources", tags=["sources"])

NO_SUCH_SOURCE = Refusal.of(SourceNotFound)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    operation_id="createSource",
    summary="Add a paper to the reading queue",
    responses=error_responses(JSON_BODY, ARXIV_REFUSALS),
)
async def create_source(
    body: SourceCreate, learner: CurrentLearner, session: SessionDep, request: Request
) -> SourceOut:
    """A paper, post, video, book or code to read: queued unless `status` says otherwise.
    Sessions and cards can name it, and the Anki export makes a deck of it.

    With `arxiv` (an id or an arxiv.org link), Tutor fetches the paper from arXiv (its
    LaTeX source, for exact math, else its PDF) before answering, then reads it into
    sections, equations and symbols in the background: `GET /v1/sources/{id}/document`
    shows the progress, then the paper."""
    if body.arxiv is not None:
        imports = await paper_imports(request)
        source = await imports.from_arxiv(session, learner=learner, data=body)
    else:
        source = await service.create_source(session, learner=learner, data=body)
    return SourceOut.model_validate(source)


@router.get(
    "",
    operation_id="listSources",
    summary="List your sources",
    responses=error_responses(PAGED),
)
async def list_sources(
    learner: CurrentLearner,
    session: SessionDep,
    status: SourceStatus | None = None,
    limit: Limit = 50,
    cursor: CursorParam = None,
) -> Page[SourceOut]:
    """Newest first, a page at a time (`next_cursor` fetches the next); `status` keeps
    only the queued, reading or done ones."""
    sources, next_cursor = await service.list_sources(
        session, learner=learner, status=status, cursor=cursor, limit=limit
    )
    return Page(items=[SourceOut.model_validate(s) for s in sources], next_cursor=next_cursor)


@router.get(
    "/{source_id}",
    operation_id="getSource",
    summary="Read one source",
    responses=error_responses(PARAMETERS, NO_SUCH_SOURCE),
)
async def get_source(
    source_id: uuid.UUID, learner: CurrentLearner, session: SessionDep
) -> SourceOut:
    """The source with this id, if it is yours."""
    source = await service.get_source(session, learner=learner, source_id=source_id)
    return SourceOut.model_validate(source)


@router.patch(
    "/{source_id}",
    operation_id="updateSource",
    summary="Change a source",
    responses=error_responses(JSON_BODY, NO_SUCH_SOURCE),
)
async def update_source(
    source_id: uuid.UUID, body: SourceUpdate, learner: CurrentLearner, session: SessionDep
) -> SourceOut:
    """Change the fields sent and keep the rest: move it along the queue (`status`),
    retitle it, keep notes. `url: null` removes the link; the other fields refuse null."""
    source = await service.update_source(
        session, learner=learner, source_id=source_id, changes=body.changes()
    )
    return SourceOut.model_validate(source)


@router.delete(
    "/{source_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    operation_id="deleteSource",
    summary="Delete a source",
    responses=error_responses(PARAMETERS, NO_SUCH_SOURCE),
)
async def delete_source(
    source_id: uuid.UUID, learner: CurrentLearner, session: SessionDep
) -> Response:
    """The source goes; sessions and cards that named it stay, naming none."""
    await service.delete_source(session, learner=learner, source_id=source_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
