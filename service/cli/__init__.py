"""The `tutor` command: serve, migrate, manage learners and keys, back up and restore,
export, run the scheduler. This module is its index; each command lives with its kind."""

from __future__ import annotations

from typing import Annotated

import typer

from service.cli import backup, export, info, model, serving
from service.cli.access_log import SafeAccessLog, safe_access_path
from service.cli.learners import learner_app

app = typer.Typer(
    name="tutor",
    help="Tutor: a self-hosted LLM tutor with spaced repetition.",
    no_args_is_help=True,
    # --install-completion and --show-completion: bash, zsh, fish and PowerShell.
    add_completion=True,
    pretty_exceptions_enable=False,
)


@app.callback()
def _options(
    _version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=info.print_version,
            is_eager=True,
            help="Print the version and exit.",
        ),
    ] = False,
) -> None:
    pass


app.command()(serving.serve)
app.command()(serving.migrate)
app.command()(serving.scheduler)
app.add_typer(learner_app, name="learner")
app.command()(backup.backup)
app.command()(backup.restore)
app.command()(export.export)
app.command()(model.doctor)
app.command("eval")(model.evaluate)
app.command()(info.openapi)
app.command()(info.version)

__all__ = ["SafeAccessLog", "app", "safe_access_path"]
