"""/docs: Swagger UI from this server's own files, under a Content-Security-Policy.

tests/browser/test_web_docs.py checks that the page works in a browser offline; these
check what is served, without one.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest

from service.app import create_app
from service.config import Settings


@pytest.fixture
async def docs_client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    # The documentation needs no database: no lifespan, no backend parameter.
    app = create_app(Settings(data_dir=tmp_path, _env_file=None))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://tutor.test") as client:
        yield client


class _Loads(HTMLParser):
    """What a page makes the browser fetch or run."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.inline_scripts = 0
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        url = found.get("src") or (found.get("href") if tag == "link" else None)
        if url:
            self.urls.append(url)
        self._in_script = tag == "script"

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline_scripts += 1

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False


def _loads(page: str) -> _Loads:
    parser = _Loads()
    parser.feed(page)
    return parser


async def test_docs_load_nothing_from_elsewhere_and_run_no_inline_script(
    docs_client: httpx.AsyncClient,
) -> None:
    response = await docs_client.get("/docs")
    assert response.status_code == 200
    policy = response.headers["content-security-policy"]
    assert "default-src 'none'" in policy
    assert "script-src 'self'" in policy
    assert "unsafe" not in policy
    assert response.headers["x-content-type-options"] == "nosniff"
    loads = _loads(response.text)
    assert loads.inline_scripts == 0  # the policy would block one
    assert not re.search(r"https?://", response.text)  # no CDN, nor any other host
    assert len(loads.urls) == 4  # icon, styles, Swagger UI, its start-up script
    for url in loads.urls:
        assert url.startswith("/docs/assets/")
        asset = await docs_client.get(url)
        assert asset.status_code == 200, url
        assert asset.headers["content-security-policy"] == policy
        assert asset.content


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("swagger-ui-bundle.js", "javascript"),
        ("swagger-ui.css", "text/css"),
        ("favicon.png", "image/png"),
        ("tutor-docs.js", "javascript"),
    ],
)
async def test_assets_have_their_types_and_are_revalidated(
    docs_client: httpx.AsyncClient, name: str, kind: str
) -> None:
    response = await docs_client.get(f"/docs/assets/{name}")
    assert response.status_code == 200
    assert kind in response.headers["content-type"]
    assert response.headers["cache-control"] == "no-cache"
    if name != "tutor-docs.js":  # the package's files are revalidated with their ETag
        again = await docs_client.get(
            f"/docs/assets/{name}", headers={"If-None-Match": response.headers["etag"]}
        )
        assert again.status_code == 304


async def test_the_start_up_script_points_at_this_servers_schema(
    docs_client: httpx.AsyncClient,
) -> None:
    script = (await docs_client.get("/docs/assets/tutor-docs.js")).text
    assert "SwaggerUIBundle(" in script
    assert "validatorUrl: null" in script  # no badge fetched from swagger.io
    page = (await docs_client.get("/docs")).text
    assert 'data-openapi-url="/openapi.json"' in page
    schema = await docs_client.get("/openapi.json")
    assert schema.json()["info"]["title"] == "Tutor"


@pytest.mark.parametrize(
    "path",
    [
        "/redoc",  # ReDoc is not served: one browsable view is enough
        "/docs/oauth2-redirect",
        "/docs/assets/redoc.standalone.js",  # in the package, but not what the page loads
        "/docs/assets/__init__.py",
        "/docs/assets/..%2F__init__.py",
        "/docs/assets/nothing.js",
    ],
)
async def test_nothing_else_is_served(docs_client: httpx.AsyncClient, path: str) -> None:
    response = await docs_client.get(path)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


async def test_behind_a_path_prefix_every_url_carries_it(tmp_path: Path) -> None:
    app = create_app(Settings(data_dir=tmp_path, _env_file=None))
    transport = httpx.ASGITransport(app=app, root_path="/tutor")
    async with httpx.AsyncClient(transport=transport, base_url="http://tutor.test") as client:
        page = (await client.get("/tutor/docs")).text
    assert 'data-openapi-url="/tutor/openapi.json"' in page
    assert all(url.startswith("/tutor/docs/assets/") for url in _loads(page).urls)
