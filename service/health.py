"""Liveness and readiness probes, without authentication."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

from service.config import Settings
from service.db import Database
from service.errors import ErrorResponse, error_response

router = APIRouter(tags=["health"])
log = logging.getLogger(__name__)


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up and serving requests."""
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"model": ErrorResponse}})
async def readyz(request: Request) -> Any:
    """The database answers; also says whether a model endpoint is configured."""
    database: Database = request.app.state.database
    settings: Settings = request.app.state.settings
    llm = {
        "configured": settings.llm.configured,
        "base_url": settings.llm.base_url,
        "model": settings.llm.model,
    }
    try:
        async with database.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except Exception as exc:  # any failure to reach the database means "not ready"
        log.warning("readiness check failed: %s", exc)
        return error_response(
            503,
            "not_ready",
            f"The database does not answer ({type(exc).__name__}).",
            details={"database": "unavailable", "llm": llm},
        )
    return JSONResponse({"status": "ok", "database": database.backend, "llm": llm})
