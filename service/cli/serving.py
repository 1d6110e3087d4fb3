"""`tutor serve`, `tutor migrate` and `tutor scheduler`: the processes a deployment runs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from service.cli.access_log import log_config
from service.cli.common import nothing, safe_url, settings_or_fail, with_database
from service.config import Settings
from service.learners import service as learners

# `--reload` watches the whole service package, not only this one.
_SERVICE_DIR = Path(__file__).parent.parent


def _browser_host(host: str) -> str:
    # A wildcard address is where the server listens, not where a browser can go.
    return "localhost" if host in ("0.0.0.0", "::", "") else host  # noqa: S104


def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.", min=1, max=65535)] = None,
    reload: Annotated[bool, typer.Option(help="Restart on code changes (development).")] = False,
) -> None:
    """Migrate the database and run the API and web app."""
    import uvicorn

    settings = settings_or_fail()
    host = host or settings.host
    port = port or settings.port
    issued = with_database(settings, learners.ensure_first_learner)
    url = f"http://{_browser_host(host)}:{port}/"
    if issued is not None:
        typer.echo(f"Created the learner '{issued.learner.name}'. Its API key, shown only once:")
        typer.echo(f"\n    {issued.key}\n")
        typer.echo(f"Open Tutor at {url}#key={issued.key}")
    else:
        typer.echo(f"Tutor at {url} (API documentation at {url}docs)")

    options: dict[str, Any] = {
        "host": host,
        "port": port,
        "log_level": settings.log_level,
        "log_config": log_config(),
        "timeout_graceful_shutdown": _request_grace(settings),
    }
    if reload:
        uvicorn.run(
            "service.app:create_app",
            factory=True,
            reload=True,
            reload_dirs=[str(_SERVICE_DIR)],
            **options,
        )
        return
    from service.app import create_app
    from service.serving import run

    run(create_app(settings), **options)


def _request_grace(settings: Settings) -> float:
    # Streams are cut at the grace period and then saved as `interrupted`; uvicorn
    # cancels whatever still runs a little later, so those saves are never cut short.
    return settings.shutdown_grace_seconds + 3


def migrate() -> None:
    """Bring the database schema up to date (`tutor serve` does this too)."""
    settings = settings_or_fail()
    with_database(settings, nothing)
    typer.echo(f"Database is up to date: {safe_url(settings.database)}")


def scheduler() -> None:
    """Run the background jobs (one process per deployment, never inside the API)."""
    from service.worker.main import run

    settings = settings_or_fail()
    with_database(settings, nothing)  # the jobs need the current schema
    run(settings)
