"""Refuse request bodies over a size limit with 413, before they are buffered."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.errors import error_response

DEFAULT_MAX_BODY_BYTES = 1024 * 1024


def _too_large_message(limit: int) -> str:
    return f"The request body is larger than the limit of {limit} bytes."


class BodySizeLimitMiddleware:
    """A declared Content-Length over the limit is refused at once; a body sent in
    chunks is counted as it arrives and cut off the moment it passes the limit."""

    def __init__(self, app: ASGIApp, max_bytes: int = DEFAULT_MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            response = error_response(413, "body_too_large", _too_large_message(self.max_bytes))
            await response(scope, receive, send)
            return

        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    # An HTTPException passes through FastAPI's body parsing unchanged,
                    # so the app's own handler answers it in the shared error shape.
                    raise HTTPException(413, _too_large_message(self.max_bytes))
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
