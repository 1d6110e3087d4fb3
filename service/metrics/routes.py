"""A request's `route` label: which of the things Tutor serves it asked for.

Never the raw path, so that ids and whatever a scanner tries do not multiply the series:

- a route of the API, `/docs`, `/openapi.json`, `/metrics`: its template
  (`/v1/cards/{card_id}`, `/docs/assets/{name}`), also when the method is one it does
  not take (405) or the request was refused before routing (a declared body over the
  limit gets its 413 first);
- the web app (mounted at "/", hash-routed, so its one page is `/`): `/` for the page,
  its files grouped by kind (`/*.js`, `/*.css`, `/*.svg`);
- a path nothing serves: `unmatched`, one label for every 404 of an unknown path.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any

from starlette.routing import Route, compile_path
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from service.webapp import WEB_DIR

UNMATCHED = "unmatched"
WEB_APP_PAGE = "/"
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"})


class RouteLabels:
    """The labels of one app's requests; its templates are read once, when first needed."""

    def __init__(self) -> None:
        self._templates: list[_Template] | None = None

    def of(self, scope: Scope) -> str:
        path = getattr(scope.get("route"), "path", None)
        if isinstance(path, str):
            return path  # FastAPI's routes say which of them answered
        route_path = _route_path(scope)
        endpoint = scope.get("endpoint")
        if endpoint is None or isinstance(endpoint, StaticFiles):
            label = web_app_label(route_path)
            if label != UNMATCHED:
                return label
        # Starlette's own routes (/openapi.json); a request not routed at all; or one
        # routed to the web app (its mount takes every path, whatever the method) whose
        # path is the API's: by template, preferring one that takes the method, as the
        # router does.
        method = "GET" if scope["method"] == "HEAD" else scope["method"]
        matching = [t for t in self._templates_of(scope.get("app")) if t.takes(route_path)]
        for template in matching:
            if method in template.methods:
                return template.path
        return matching[0].path if matching else UNMATCHED

    def _templates_of(self, app: Any) -> list[_Template]:
        if self._templates is None:
            self._templates = _templates(app)
        return self._templates


@dataclass(frozen=True)
class _Template:
    path: str
    methods: frozenset[str]
    pattern: re.Pattern[str]

    @classmethod
    def of(cls, path: str, methods: Iterable[str]) -> _Template:
        return cls(path, frozenset(m.upper() for m in methods), compile_path(path)[0])

    def takes(self, route_path: str) -> bool:
        return self.pattern.fullmatch(route_path) is not None


def web_app_label(route_path: str) -> str:
    """The label of a path the web app serves (`/`, `/lib/api.js`), else `unmatched`."""
    # Normalised as StaticFiles does before it looks for the file.
    name = posixpath.normpath(route_path.lstrip("/") or ".")
    return _web_app_labels().get(name, UNMATCHED)


@cache
def _web_app_labels() -> dict[str, str]:
    # The folder is read once: its files are the release's.
    labels = {".": WEB_APP_PAGE}
    for file in WEB_DIR.rglob("*"):
        if file.is_file():
            name = file.relative_to(WEB_DIR).as_posix()
            labels[name] = WEB_APP_PAGE if name == "index.html" else f"/*{file.suffix}"
    return labels


def _templates(app: Any) -> list[_Template]:
    # The schema's paths are every API template, however FastAPI nests included
    # routers; Starlette's own routes (/openapi.json) are listed at the top.
    paths = app.openapi()["paths"] if hasattr(app, "openapi") else {}
    templates = [
        _Template.of(path, (key for key in item if key.upper() in _METHODS))
        for path, item in paths.items()
    ]
    for route in getattr(app, "routes", []):
        if isinstance(route, Route):
            templates.append(_Template.of(route.path, route.methods or ()))
    return templates


def _route_path(scope: Scope) -> str:
    # The path the router matches: without the prefix a proxy serves Tutor under.
    path: str = scope["path"]
    root_path: str = scope.get("root_path", "")
    return path.removeprefix(root_path) if root_path else path
