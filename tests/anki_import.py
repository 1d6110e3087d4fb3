"""Importing a package into a real Anki collection, as Anki desktop does by default, and
reading back what Anki made of it."""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime, timedelta
from pathlib import Path

from anki.collection import Collection, ImportAnkiPackageOptions, ImportAnkiPackageRequest
from anki.import_export_pb2 import (
    IMPORT_ANKI_PACKAGE_UPDATE_CONDITION_IF_NEWER,
    ImportResponse,
)


def import_package(
    col: Collection, package: bytes, directory: Path, *, with_progress: bool = False
) -> ImportResponse:
    """Import as Anki desktop does by default; `with_progress` ticks "Import any learning
    progress" (off by default), without which Anki makes every card new."""
    path = directory / f"tutor-{uuid.uuid4()}.apkg"
    path.write_bytes(package)
    # Anki desktop's defaults: update notes and note types only when newer.
    options = ImportAnkiPackageOptions(
        update_notes=IMPORT_ANKI_PACKAGE_UPDATE_CONDITION_IF_NEWER,
        update_notetypes=IMPORT_ANKI_PACKAGE_UPDATE_CONDITION_IF_NEWER,
        with_scheduling=with_progress,
    )
    return col.import_anki_package(
        ImportAnkiPackageRequest(package_path=str(path), options=options)
    )


def anki_date(col: Collection, due: int) -> date:
    """The date a review card's `due` (a day number) falls on in `col`, as Anki shows it."""
    # The day turns at the cutoff (04:00 local by default): today began a day before it.
    today = datetime.fromtimestamp(col.sched.day_cutoff).date() - timedelta(days=1)
    return today + timedelta(days=due - col.sched.today)


def revlog(col: Collection) -> list[tuple[int, ...]]:
    """Every review-log row: id, cid, ease, ivl, lastIvl, factor, time, type."""
    rows = col.db.all("SELECT id, cid, ease, ivl, lastIvl, factor, time, type FROM revlog")
    return sorted(tuple(row) for row in rows)


_STYLE = re.compile(r"<style>.*?</style>", re.DOTALL)
# The question keeps the hidden answer in an attribute, for Anki's own scripts.
_DATA_CLOZE = re.compile(r' data-cloze="[^"]*"')
_MATHJAX = re.compile(r"\\\((.*?)\\\)|\\\[(.*?)\\\]", re.DOTALL)


def shown(html: str) -> str:
    """A rendered card side as the learner reads it: no styles, no hidden attributes."""
    return _DATA_CLOZE.sub("", _STYLE.sub("", html)).strip()


def formulas(html: str) -> list[str]:
    """The LaTeX of every MathJax formula in `html`."""
    return [inline or display for inline, display in _MATHJAX.findall(html)]


def balanced(latex: str) -> bool:
    """Whether the braces of `latex` pair up (`\\{` and `\\}` are literal braces)."""
    depth = 0
    for brace in re.findall(r"\\.|[{}]", latex):
        depth += {"{": 1, "}": -1}.get(brace, 0)
        if depth < 0:
            return False
    return depth == 0
