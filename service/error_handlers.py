"""Every failure answered in the one error shape (service/errors.py): the service's own
errors, FastAPI's and Starlette's, the database's passing faults, and the unexpected."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match, Mount

from service.dbfaults import passing_fault
from service.errors import TutorError, error_response

log = logging.getLogger(__name__)


def _field_path(location: Sequence[int | str]) -> str:
    # ("body", "timezone") reads better as "timezone"; query and path keep their prefix.
    parts = [str(part) for part in location]
    if parts and parts[0] == "body":
        parts = parts[1:]
    return ".".join(parts) or "body"


def _validation_details(errors: Sequence[Any]) -> list[dict[str, Any]]:
    # The offending input is left out: it can be a whole passage, or a secret.
    return [
        {"field": _field_path(e["loc"]), "message": _plain(e["msg"]), "type": e["type"]}
        for e in errors
    ]


def _plain(message: str) -> str:
    # pydantic prefixes messages from our own validators with "Value error, ".
    return message.removeprefix("Value error, ")


async def _on_tutor_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, TutorError)
    return error_response(
        exc.status_code, exc.code, exc.message, details=exc.details, headers=exc.headers
    )


async def _on_validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    if any(e["type"] == "json_invalid" for e in errors):
        return error_response(
            422, "invalid_json", "The request body is not valid JSON.", details=None
        )
    details = _validation_details(errors)
    first = details[0] if details else {"field": "body", "message": "invalid"}
    message = f"{first['field']}: {first['message']}"
    if len(details) > 1:
        message += f" (and {len(details) - 1} more)"
    return error_response(422, "validation_error", message, details=details)


# Stable codes for the statuses the framework raises itself; HTTPStatus phrases
# changed between Python versions (413 became "Content Too Large" in 3.13).
_FRAMEWORK_CODES = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    413: "body_too_large",
}


def _code_for_status(status_code: int) -> str:
    if status_code in _FRAMEWORK_CODES:
        return _FRAMEWORK_CODES[status_code]
    try:
        return HTTPStatus(status_code).phrase.lower().replace(" ", "_").replace("-", "_")
    except ValueError:
        return "http_error"


async def _on_http_exception(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 400 and isinstance(exc.__cause__, UnicodeDecodeError):
        # FastAPI answers 400 when a JSON body is not even text, but 422 when it is
        # text that is not JSON; to a client both are the same mistake.
        return error_response(422, "invalid_json", "The request body is not valid JSON.")
    if exc.status_code == 405:
        return _method_not_allowed(request, exc)
    message = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
    if exc.status_code == 404 and message == "Not Found":
        message = "No such route or resource."
    return error_response(
        exc.status_code, _code_for_status(exc.status_code), message, headers=exc.headers
    )


# A path no route of the API takes belongs to the web app, mounted at "/": static files.
_WEB_APP_METHODS = frozenset({"GET", "HEAD"})
_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def _method_not_allowed(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    # RFC 9110 wants the methods the path does take in `Allow`. Starlette's own header
    # is wrong here: the web app's mount matches every path, so it answers for the API's
    # paths too ("GET, HEAD" for PATCH /v1/me), and a route names its own methods only.
    allowed = ", ".join(sorted(_allowed_methods(request)))
    return error_response(
        405,
        _code_for_status(405),
        f"{request.method} is not allowed here; this path allows {allowed}.",
        headers={**(exc.headers or {}), "Allow": allowed},
    )


def _allowed_methods(request: Request) -> set[str]:
    # Each method is tried against the routes as the router would try it: routers
    # included in routers need no walking of FastAPI's internals that way.
    routes = [route for route in request.app.router.routes if not isinstance(route, Mount)]
    allowed = {
        method
        for method in _METHODS
        if any(
            route.matches({**request.scope, "method": method})[0] is Match.FULL for route in routes
        )
    }
    return allowed or set(_WEB_APP_METHODS)


# PostgreSQL refuses NUL in text (22021) and \u0000 in JSON (22P05); SQLite stores both.
# Either way the learner sent text that cannot be kept, which is their mistake, not ours.
_UNSTORABLE_TEXT = {"22021", "22P05"}


def _unstorable_text(exc: DBAPIError) -> bool:
    sqlstate = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
    return sqlstate in _UNSTORABLE_TEXT


async def _on_database_error(request: Request, exc: Exception) -> JSONResponse:
    if isinstance(exc, DBAPIError) and _unstorable_text(exc):
        return error_response(
            422, "invalid_text", "The request contains a NUL character, which cannot be stored."
        )
    fault = passing_fault(exc)
    if fault is None:
        return await _on_unexpected(request, exc)
    code, what, retry_after = fault.value
    # The exception's name only: its text can quote the statement.
    log.warning("%s on %s %s: %s", code, request.method, request.url.path, type(exc).__name__)
    return error_response(
        503,
        code,
        f"{what} Try again shortly: anything this request saved before the fault is kept, "
        "and nothing is half-written.",
        headers={"Retry-After": str(retry_after)},
    )


INTERNAL_ERROR = "internal_error"


async def _on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(500, INTERNAL_ERROR, "Something went wrong on the server.")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(TutorError, _on_tutor_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_exception)
    app.add_exception_handler(DBAPIError, _on_database_error)
    app.add_exception_handler(PoolTimeout, _on_database_error)
    app.add_exception_handler(Exception, _on_unexpected)
