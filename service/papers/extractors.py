"""Extractors by name: what reads a stored file into a Document, as the job stores it.

An extractor is a function at the top of a module of this package, taking the file's
path and returning a Document (sync or async). The job keeps its name,
"module:function", on the paper's row, so a retry runs the same one, and the sandbox's
child process imports it by that name. Light on purpose: the child imports this module
before the extractor, within its memory limit.
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable
from pathlib import Path

from service.papers.document import Document

Extractor = Callable[[Path], Document] | Callable[[Path], Awaitable[Document]]

# Only extractors of this package run: a name from elsewhere (a row edited by hand, say)
# is refused rather than imported.
_PACKAGE = "service.papers."


def extractor_name(extractor: Extractor) -> str:
    """The name the child imports `extractor` by: "module:function"."""
    name = f"{extractor.__module__}:{extractor.__qualname__}"
    if resolve_extractor(name) is not extractor:
        raise ValueError(f"{name} is not a function at the top of a module of service.papers")
    return name


def resolve_extractor(name: str) -> Extractor | None:
    """The extractor a stored name says, or None for a name that is not one."""
    module_name, _, function_name = name.partition(":")
    if not module_name.startswith(_PACKAGE) or not function_name.isidentifier():
        return None
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        return None
    found = getattr(module, function_name, None)
    return found if callable(found) else None
