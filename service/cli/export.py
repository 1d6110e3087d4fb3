"""`tutor export --learner NAME`: everything a learner owns, as the zip they can download."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from service.archive import service as archive
from service.cli.common import settings_or_fail, with_database
from service.db import utcnow
from service.learners import service as learners


def export(
    learner_name: Annotated[str, typer.Option("--learner", help="The learner's name.")],
    out: Annotated[
        Path | None,
        typer.Option(help="The zip to write (default: tutor-export-NAME-DATE.zip here)."),
    ] = None,
    force: Annotated[bool, typer.Option(help="Replace the file if it exists.")] = False,
) -> None:
    """Write everything a learner owns to a zip, the archive GET /v1/export/all gives.

    A JSON file per kind (sessions, messages, critiques, cards, reviews, study log, ...),
    a manifest saying what each holds, and the learner's cards as an Anki package."""
    settings = settings_or_fail()
    now = utcnow()

    async def work(session: AsyncSession) -> tuple[Path, dict[str, Any]]:
        learner = await learners.get_learner_by_name(session, name=learner_name)
        path = out or Path(archive.archive_name(learner, now))
        if path.exists() and not force:
            raise ValueError(f"{path} exists: name another file, or add --force to replace it")
        partial = path.with_name(f".{path.name}.partial-{os.getpid()}")
        try:
            with partial.open("wb") as file:
                manifest = await archive.write_archive(session, learner=learner, now=now, out=file)
            os.replace(partial, path)
        finally:
            partial.unlink(missing_ok=True)
        return path, manifest

    path, manifest = with_database(settings, work)
    rows = sum(entry.get("rows", 0) for entry in manifest["files"].values())
    typer.echo(
        f"Wrote {path}: {rows:,} rows of '{learner_name}' as JSON, and their cards as an "
        "Anki package."
    )
