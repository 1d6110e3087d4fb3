"""The one error shape every response uses: {"error": {"code", "message", "details"?}}."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.types import Receive, Scope, Send


class ErrorBody(BaseModel):
    code: str = Field(
        description="What went wrong, for a program to act on: each operation lists its codes."
    )
    message: str = Field(description="What went wrong and what to do, for a person to read.")
    # `Any`, not `Any | None`: the schema says "any JSON" once, not "any JSON, or null".
    details: Any = Field(
        default=None,
        description="More, where the code's description says so (the fields at fault, a "
        "limit, the answer to retry); absent otherwise.",
    )


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


# Where a request keeps the code of the error it was answered with: the metrics
# (service/metrics/middleware.py) count it from there once the request is over, so an
# error is counted once, wherever it was answered, and no body is read back to find it.
_ERROR_CODE = "tutor.error_code"


def mark_error(scope: Scope, code: str) -> None:
    """Say which error a request was answered with: an error response as it is sent, or
    a streamed `error` event under a 200."""
    scope[_ERROR_CODE] = code


def marked_error(scope: Scope) -> str | None:
    code = scope.get(_ERROR_CODE)
    return code if isinstance(code, str) else None


class ErrorJSONResponse(JSONResponse):
    """An error in the one shape, which marks its request with its code when sent."""

    def __init__(
        self,
        body: dict[str, Any],
        *,
        status_code: int,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__({"error": body}, status_code=status_code, headers=headers)
        self.code: str = body["code"]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        mark_error(scope, self.code)
        await super().__call__(scope, receive, send)


def error_response(
    status_code: int,
    code: str,
    message: str,
    *,
    details: Any | None = None,
    headers: Mapping[str, str] | None = None,
) -> ErrorJSONResponse:
    body: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        body["details"] = details
    return ErrorJSONResponse(body, status_code=status_code, headers=headers)
