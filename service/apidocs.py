"""/docs: Swagger UI for the OpenAPI schema, served from an installed package.

FastAPI's own page loads Swagger UI from a CDN: blank on a machine without internet
access (where a self-hosted Tutor often runs), and a third party's script running next
to the API key a learner pastes into "Authorize". Here every file comes from this
server: Swagger UI's from the `fastapi-offline` package (it ships swagger-ui-dist), the
page and its start-up script from this module, so a Content-Security-Policy of 'self'
holds and no inline script is needed. ReDoc is not served: one browsable view is enough.
"""

from __future__ import annotations

import html
from importlib.resources import files
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.staticfiles import StaticFiles

from service.errors import NotFound
from service.webapp import security_headers

router = APIRouter(include_in_schema=False)

DOCS_PATH = "/docs"
ASSETS_PATH = f"{DOCS_PATH}/assets"
_PACKAGE_FILES = Path(str(files("fastapi_offline") / "static"))
# The package's files that the page loads; nothing else under its folder is served.
_SWAGGER_FILES = frozenset({"swagger-ui-bundle.js", "swagger-ui.css", "favicon.png"})
_START_SCRIPT = "tutor-docs.js"

# Swagger UI needs its own script and styles, data: images (its icons), and requests
# to this server ("Try it out"); nothing from anywhere else.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    ]
)
SECURITY_HEADERS = security_headers(CONTENT_SECURITY_POLICY)

# Swagger UI's settings, in a file of its own: the policy allows no inline script.
_START = """\
"use strict";
window.ui = SwaggerUIBundle({
  url: document.getElementById("swagger-ui").dataset.openapiUrl,
  dom_id: "#swagger-ui",
  layout: "BaseLayout",
  deepLinking: true,
  showExtensions: true,
  showCommonExtensions: true,
  // No badge from swagger.io's validator, which would also tell it where the schema is.
  validatorUrl: null,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
});
"""

_PAGE = """\
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} API</title>
<link rel="icon" href="{assets}/favicon.png">
<link rel="stylesheet" href="{assets}/swagger-ui.css">
</head>
<body>
<div id="swagger-ui" data-openapi-url="{openapi}"></div>
<script src="{assets}/swagger-ui-bundle.js"></script>
<script src="{assets}/{start}"></script>
</body>
</html>
"""

_static = StaticFiles(directory=_PACKAGE_FILES)


@router.get(DOCS_PATH)
async def docs(request: Request) -> HTMLResponse:
    # Behind a proxy that serves Tutor under a prefix, every URL carries the prefix.
    root = request.scope.get("root_path", "")
    page = _PAGE.format(
        title=html.escape(request.app.title),
        assets=html.escape(root + ASSETS_PATH),
        openapi=html.escape(root + (request.app.openapi_url or "")),
        start=_START_SCRIPT,
    )
    return HTMLResponse(page, headers=SECURITY_HEADERS)


@router.get(ASSETS_PATH + "/{name}")
async def asset(name: str, request: Request) -> Response:
    if name == _START_SCRIPT:
        return Response(_START, media_type="text/javascript", headers=SECURITY_HEADERS)
    if name not in _SWAGGER_FILES:
        raise NotFound("No such file of the API documentation.")
    # StaticFiles answers conditional requests (304) from the file's ETag.
    response = await _static.get_response(name, request.scope)
    response.headers.update(SECURITY_HEADERS)
    return response
