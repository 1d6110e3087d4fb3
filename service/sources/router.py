"""/v1/sources: the reading queue."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response, status

from service.db import SessionDep
from service.learners.auth import CurrentLearner
from service.pagination import CursorParam, Limit, Page
from service.sources import service
from service.sources.models import SourceStatus
from service.sources.schemas import SourceCreate, SourceOut, SourceUpdate

router = APIRouter(prefix="/v1/sources", tags=["sources"])


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_source(
    body: SourceCreate, learner: CurrentLearner, session: SessionDep
) -> SourceOut:
    source = await service.create_source(session, learner=learner, data=body)
    return SourceOut.model_validate(source)


@router.get("")
async def list_sources(
    learner: CurrentLearner,
    session: SessionDep,
    status: SourceStatus | None = None,
    limit: Limit = 50,
    cursor: CursorParam = None,
) -> Page[SourceOut]:
    sources, next_cursor = await service.list_sources(
        session, learner=learner, status=status, cursor=cursor, limit=limit
    )
    return Page(items=[SourceOut.model_validate(s) for s in sources], next_cursor=next_cursor)


@router.get("/{source_id}")
async def get_source(
    source_id: uuid.UUID, learner: CurrentLearner, session: SessionDep
) -> SourceOut:
    source = await service.get_source(session, learner=learner, source_id=source_id)
    return SourceOut.model_validate(source)


@router.patch("/{source_id}")
async def update_source(
    source_id: uuid.UUID, body: SourceUpdate, learner: CurrentLearner, session: SessionDep
) -> SourceOut:
    source = await service.update_source(
        session, learner=learner, source_id=source_id, changes=body.changes()
    )
    return SourceOut.model_validate(source)


@router.delete("/{source_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_source(
    source_id: uuid.UUID, learner: CurrentLearner, session: SessionDep
) -> Response:
    await service.delete_source(session, learner=learner, source_id=source_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
