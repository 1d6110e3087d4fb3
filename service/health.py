"""Liveness and readiness probes, without authentication.

Anyone who can reach the port can call them, so they say what a load balancer or an
operator's check needs and nothing an attacker could use: which kind of database and
limits store, and whether a model is configured, but no address, no model name, no key.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

from service.config import Settings
from service.db import Database
from service.errors import error_response
from service.limits.errors import LimitsUnavailable
from service.limits.service import Limits
from service.openapi_docs import UNAUTHENTICATED, Refusal, error_responses

router = APIRouter(tags=["health"])
log = logging.getLogger(__name__)

UNAVAILABLE = "unavailable"


_NOT_READY = Refusal(
    503,
    "not_ready",
    "The database or the limits store does not answer; `error.details` has the report.",
)


@router.get(
    "/healthz",
    operation_id="checkLiveness",
    summary="Liveness probe",
    openapi_extra=UNAUTHENTICATED,
)
async def healthz() -> dict[str, str]:
    """The process is up and serving requests: `{"status": "ok"}`."""
    return {"status": "ok"}


@router.get(
    "/readyz",
    operation_id="checkReadiness",
    summary="Readiness probe",
    responses=error_responses(_NOT_READY),
    openapi_extra=UNAUTHENTICATED,
)
async def readyz(request: Request) -> Any:
    """The database answers, and so does Redis when the limits are kept there; also says
    whether a model is configured (not which, nor where)."""
    settings: Settings = request.app.state.settings
    database = await _database(request.app.state.database)
    limits = await _limits(request.app.state.limits, shared=settings.redis_url is not None)
    report = {
        "database": database,
        "limits": limits,
        "llm": {"configured": settings.llm.configured},
    }
    failing = [
        message
        for state, message in (
            (database, "The database does not answer."),
            # Every route that calls the model refuses with 503 while Redis is down.
            (limits, "The limits store (Redis) does not answer: the model routes refuse."),
        )
        if state == UNAVAILABLE
    ]
    if failing:
        return error_response(503, "not_ready", " ".join(failing), details=report)
    return JSONResponse({"status": "ok", **report})


async def _database(database: Database) -> str:
    try:
        async with database.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except Exception as exc:  # any failure to reach the database means "not ready"
        log.warning("readiness: the database does not answer: %s", exc)
        return UNAVAILABLE
    return database.backend


async def _limits(limits: Limits, *, shared: bool) -> str:
    try:
        await limits.store.ping()
    except LimitsUnavailable as exc:
        log.warning("readiness: Redis does not answer: %s", exc.__cause__)
        return UNAVAILABLE
    return "redis" if shared else "memory"
