"""Refuse request bodies over a size limit with 413, before they are buffered."""

from __future__ import annotations

import re
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
        # Uploads (a CSV import, a paper's PDF) need more room than JSON bodies. A path
        # may hold parameters, "/v1/sources/{source_id}/document": each matches one segment.
        per_path = dict(per_path or {})
        self.per_path = {path: limit for path, limit in per_path.items() if "{" not in path}
        self.per_template = [
            (_template(path), limit) for path, limit in per_path.items() if "{" in path
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
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

    def limit_for(self, path: str) -> int:
        """The limit on the bodies of requests to `path`."""
        if (limit := self.per_path.get(path)) is not None:
            return limit
        for template, limit in self.per_template:
            if template.fullmatch(path):
                return limit
        return self.max_bytes


def _template(path: str) -> re.Pattern[str]:
    """A path with `{parameter}` segments as a pattern matching the paths it names."""
    pieces = re.split(r"\{[^}/]+\}", path)
    return re.compile("[^/]+".join(re.escape(piece) for piece in pieces))


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
