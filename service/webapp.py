"""The browser app: the static files under service/web/, served with safe headers.

There is no build step, so file names carry no content hash: every response says
`no-cache`, and the browser revalidates with the ETag (a 304 when nothing changed), so a
new release's modules are never mixed with an old release's cached ones.
"""

from __future__ import annotations

from pathlib import Path

from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

WEB_DIR = Path(__file__).parent / "web"

# The app needs nothing from elsewhere: scripts, styles and API calls are all same-origin,
# and no page may frame it. Server-rendered HTML is sanitised already; this is the net
# under that net.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


def security_headers(content_security_policy: str) -> dict[str, str]:
    """The headers of every page and file served to a browser, under `policy`."""
    return {
        "Content-Security-Policy": content_security_policy,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        # Revalidated with the ETag, so an upgraded release is never mixed with a cached one.
        "Cache-Control": "no-cache",
    }


SECURITY_HEADERS = security_headers(CONTENT_SECURITY_POLICY)


class WebApp(StaticFiles):
    def __init__(self) -> None:
        super().__init__(directory=WEB_DIR, html=True)

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        response.headers.update(SECURITY_HEADERS)
        return response
