"""Refuse request bodies over a size limit with 413, before they are buffered."""

from __future__ import annotations

from collections.abc import Mapping

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.errors import error_response

DEFAULT_MAX_BODY_BYTES = 1024 * 1024


def _too_large_message(limit: int) -> str:
    return f"The request body is larger than the limit of {limit} bytes."


class BodySizeLimitMiddleware:
    """A declared Content-Length over the limit is refused at once; a body sent in
    chunks is counted as it arrives and cut off the moment it passes the limit."""

    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int = DEFAULT_MAX_BODY_BYTES,
        per_path: Mapping[str, int] | None = None,
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        # Uploads (a CSV import) need more room than JSON bodies.
        self.per_path = dict(per_path or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.per_path.get(scope["path"], self.max_bytes)
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            response = error_response(413, "body_too_large", _too_large_message(limit))
            await response(scope, receive, send)
            return

        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    # An HTTPException passes through FastAPI's body parsing unchanged,
                    # so the app's own handler answers it in the shared error shape.
                    raise HTTPException(413, _too_large_message(limit))
            return message

        await self.app(scope, counting_receive, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
