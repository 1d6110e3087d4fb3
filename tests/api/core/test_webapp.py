"""The browser app's files: served with safe headers, and consistent with each other."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from helpers import error_of
from service.webapp import WEB_DIR

MODULES = sorted(WEB_DIR.rglob("*.js"))
# `import ... from "./x.js"` and `import("./x.js")`: every module the app loads by path.
IMPORT = re.compile(r"""(?:from\s+|import\s*\(\s*)["'](\.{1,2}/[^"']+)["']""")


async def test_the_app_is_served_at_the_root_with_security_headers(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert '<script type="module" src="app.js">' in response.text
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["cache-control"] == "no-cache"


async def test_modules_are_served_as_javascript_and_revalidated(client: httpx.AsyncClient) -> None:
    response = await client.get("/lib/api.js")
    assert response.status_code == 200
    assert response.headers["content-type"].split(";")[0] in {
        "text/javascript",
        "application/javascript",
    }
    again = await client.get("/lib/api.js", headers={"If-None-Match": response.headers["etag"]})
    assert again.status_code == 304


async def test_a_missing_file_is_a_404_in_the_shared_shape(client: httpx.AsyncClient) -> None:
    response = await client.get("/pages/nothing-here.js")
    assert response.status_code == 404
    error_of(response)


async def test_api_routes_win_over_the_static_files(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/me")
    assert response.status_code == 401
    assert error_of(response)["code"] == "unauthorized"


@pytest.mark.parametrize("module", MODULES, ids=lambda path: str(path.relative_to(WEB_DIR)))
def test_every_module_the_app_imports_exists(module: Path) -> None:
    for target in IMPORT.findall(module.read_text()):
        assert (module.parent / target).resolve().is_file(), f"{module.name} imports {target}"


def test_learner_text_never_reaches_inner_html() -> None:
    """Only lib/dom.js's serverHtml() may set innerHTML: with server-sanitised HTML."""
    for module in MODULES:
        if module == WEB_DIR / "lib" / "dom.js":
            continue
        source = module.read_text()
        for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write"):
            assert sink not in source, f"{module.relative_to(WEB_DIR)} uses {sink}"
