"""uvicorn's access log, with no API key and no query value in it."""

from __future__ import annotations

import copy
import logging
import re
from typing import Any

from service.learners.auth import KEY_SCHEME

_KEY_IN_PATH = re.compile(re.escape(KEY_SCHEME) + r"[A-Za-z0-9]+")
_PLAIN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,31}")
_HIDDEN = "***"


def safe_access_path(target: str) -> str:
    """A request target as the access log keeps it: of the query only the parameters'
    names (`/v1/cards?q&tag`), and no key anywhere.

    Query values are search terms, learners' words, cursors, and now and then an API key
    pasted where it does not belong; a log is kept longer and read by more people than
    the data it would copy. A name that does not look like one is hidden too.
    """
    path, has_query, query = target.partition("?")
    path = _KEY_IN_PATH.sub(KEY_SCHEME + _HIDDEN, path)
    if not has_query:
        return path
    names = (pair.partition("=")[0] for pair in query.split("&") if pair)
    kept = [_plain_name(name) for name in names]
    return f"{path}?{'&'.join(kept)}"


def _plain_name(name: str) -> str:
    if _PLAIN_NAME.fullmatch(name) and not name.startswith(KEY_SCHEME):
        return name
    return _HIDDEN


class SafeAccessLog(logging.Filter):
    """Rewrites uvicorn's access log line, `client - "METHOD target HTTP/v" status`,
    with `safe_access_path` for the target."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) == 5 and isinstance(args[2], str):
            record.args = (*args[:2], safe_access_path(args[2]), *args[3:])
        return True


def log_config() -> dict[str, Any]:
    """uvicorn's own logging set-up, with the access log made safe."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["safe_access_path"] = {"()": SafeAccessLog}
    config["loggers"]["uvicorn.access"]["filters"] = ["safe_access_path"]
    return config
