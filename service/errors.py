"""The one error shape every response uses: {"error": {"code", "message", "details"?}}."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi.responses import JSONResponse
from pydantic import BaseModel


class ErrorBody(BaseModel):
    code: str
    message: str
    details: Any | None = None


class ErrorResponse(BaseModel):
    """Documented in the OpenAPI schema for every error status."""

    error: ErrorBody


class TutorError(Exception):
    """Base for errors a client should see; subclasses set the status and code."""

    status_code = 400
    code = "bad_request"

    def __init__(
        self,
        message: str,
        *,
        details: Any | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.details = details
        self.headers = dict(headers or {})


class NotFound(TutorError):
    status_code = 404
    code = "not_found"


class Conflict(TutorError):
    status_code = 409
    code = "conflict"


class Unauthorized(TutorError):
    status_code = 401
    code = "unauthorized"

    def __init__(self, message: str) -> None:
        super().__init__(message, headers={"WWW-Authenticate": "Bearer"})


class InvalidRequest(TutorError):
    """Input that passed the schema but still cannot be used (a bad cursor, say)."""

    status_code = 422
    code = "invalid_request"


def error_response(
    status_code: int,
    code: str,
    message: str,
    *,
    details: Any | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        body["details"] = details
    return JSONResponse({"error": body}, status_code=status_code, headers=headers)
