"""Counts every HTTP request: route, status, duration, and the code of any error.

Outermost, so it also sees what other middleware answers (a 413 for a body too big).
The route label is the matched template (`/v1/cards/{card_id}`), never the raw path,
so ids do not multiply the series. The error code is read from the shared error body,
which is small and JSON, so errors are counted by code wherever they were raised.
"""

from __future__ import annotations

import json
import time

from starlette.routing import Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.metrics.registry import Metrics

_UNMATCHED = "unmatched"
_WEB_APP = "/ (web app)"
# An error body is one small JSON object; anything larger is not ours to parse.
_MAX_ERROR_BODY = 64 * 1024


def route_label(scope: Scope) -> str:
    route = scope.get("route")
    if isinstance(route, Mount):
        return _WEB_APP
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else _UNMATCHED


def error_code(body: bytes) -> str:
    try:
        code = json.loads(body)["error"]["code"]
    except (ValueError, KeyError, TypeError):
        return "unknown"
    return code if isinstance(code, str) else "unknown"


class MetricsMiddleware:
    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the client sees if the app fails before it answers
        error_body = bytearray()

        async def measuring_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body" and status >= 400:
                error_body.extend(message.get("body", b"")[: _MAX_ERROR_BODY - len(error_body)])
            await send(message)

        code: str | None = None
        try:
            await self.app(scope, receive, measuring_send)
        except Exception:
            # Unhandled: the outer error handler answers 500 `internal_error`.
            status, code = 500, "internal_error"
            raise
        finally:
            route = route_label(scope)
            method = scope["method"]
            self.metrics.requests.labels(method, route, str(status)).inc()
            self.metrics.request_seconds.labels(method, route).observe(
                time.perf_counter() - started
            )
            if status >= 400:
                self.metrics.errors.labels(code or error_code(bytes(error_body))).inc()
