"""Counts every HTTP request: route, status, duration, and the code of any error.

Outermost of the app's middleware, so it also sees what the others answer (a 413 for a
body too big). The route label is never the raw path (service/metrics/routes.py). The
error code is the one the request was marked with as its error was answered
(`service.errors.mark_error`: every error response, and a streamed `error` event), so
each error is counted here, once, without reading a body.
"""

from __future__ import annotations

import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.error_handlers import INTERNAL_ERROR
from service.errors import marked_error
from service.metrics.registry import Metrics
from service.metrics.routes import RouteLabels


class MetricsMiddleware:
    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics
        self.route_labels = RouteLabels()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the client sees if the app fails before it answers

        async def measuring_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        unhandled = False
        try:
            await self.app(scope, receive, measuring_send)
        except Exception:
            # Answered 500 `internal_error` by the outermost handler, after this
            # middleware is done: the request is marked too late to be read here.
            status, unhandled = 500, True
            raise
        finally:
            route = self.route_labels.of(scope)
            method = scope["method"]
            self.metrics.requests.labels(method, route, str(status)).inc()
            self.metrics.request_seconds.labels(method, route).observe(
                time.perf_counter() - started
            )
            code = INTERNAL_ERROR if unhandled else marked_error(scope)
            if code is not None:
                self.metrics.errors.labels(code).inc()
