"""`tutor version` and `tutor openapi`: what this Tutor is, for people and for generators."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from service import __version__
from service.cli.common import fail
from service.config import SettingsError, load_settings


def print_version(asked: bool) -> None:
    """The eager `--version` option's callback."""
    if asked:
        typer.echo(__version__)
        raise typer.Exit()


def version() -> None:
    """Print Tutor's version."""
    typer.echo(__version__)


def openapi(
    out: Annotated[
        Path | None, typer.Option(help="Write the schema to this file instead of printing it.")
    ] = None,
) -> None:
    """Print the API's OpenAPI schema as JSON (keys sorted), for generating clients.

    The same document `GET /openapi.json` serves, built without starting the server or
    touching the database."""
    from service.app import create_app

    try:
        settings = load_settings()
    except SettingsError as exc:
        fail(str(exc))
    # Sorted keys and a final newline: the file diffs cleanly from one version to the next.
    text = json.dumps(create_app(settings).openapi(), indent=2, sort_keys=True, ensure_ascii=False)
    if out is None:
        typer.echo(text)
        return
    try:
        out.write_text(text + "\n", encoding="utf-8")
    except OSError as exc:
        fail(f"cannot write {out}: {exc.strerror}")
    typer.echo(f"Wrote the OpenAPI schema to {out}.")
