"""The `tutor` command: serve, migrate, manage learners and keys, run the scheduler."""

from __future__ import annotations

import asyncio
import copy
import logging
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import typer
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from service import __version__
from service.config import Settings, SettingsError, ensure_data_dir, load_settings
from service.db import Database
from service.errors import TutorError
from service.learners import service as learners
from service.learners.auth import KEY_SCHEME
from service.migrations import upgrade_async

app = typer.Typer(
    name="tutor",
    help="Tutor: a self-hosted LLM tutor with spaced repetition.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
learner_app = typer.Typer(help="Learners and their API keys.", no_args_is_help=True)
app.add_typer(learner_app, name="learner")


def _print_version(asked: bool) -> None:
    if asked:
        typer.echo(__version__)
        raise typer.Exit()


@app.callback()
def _options(
    _version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    pass


T = TypeVar("T")


def _fail(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code=1)


def _settings() -> Settings:
    try:
        settings = load_settings()
        ensure_data_dir(settings)
    except SettingsError as exc:
        _fail(str(exc))
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    return settings


# --- the access log -------------------------------------------------------------------

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


def _log_config() -> dict[str, Any]:
    """uvicorn's own logging set-up, with the access log made safe."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["safe_access_path"] = {"()": SafeAccessLog}
    config["loggers"]["uvicorn.access"]["filters"] = ["safe_access_path"]
    return config


def _safe_url(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def _with_database(settings: Settings, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Migrate, then run `work` in one session; database trouble becomes one line."""

    async def run() -> T:
        await upgrade_async(settings.database)
        database = Database.from_settings(settings)
        try:
            async with database.sessionmaker() as session:
                return await work(session)
        finally:
            await database.dispose()

    try:
        return asyncio.run(run())
    except TutorError as exc:
        _fail(exc.message)
    except ValueError as exc:
        _fail(str(exc))
    except (DBAPIError, OSError) as exc:
        reason = getattr(exc, "orig", None) or exc
        _fail(f"cannot use the database at {_safe_url(settings.database)}: {reason}")


async def _nothing(_session: AsyncSession) -> None:
    return None


def _browser_host(host: str) -> str:
    # A wildcard address is where the server listens, not where a browser can go.
    return "localhost" if host in ("0.0.0.0", "::", "") else host  # noqa: S104


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.", min=1, max=65535)] = None,
    reload: Annotated[bool, typer.Option(help="Restart on code changes (development).")] = False,
) -> None:
    """Migrate the database and run the API and web app."""
    import uvicorn

    settings = _settings()
    host = host or settings.host
    port = port or settings.port
    issued = _with_database(settings, learners.ensure_first_learner)
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
        "log_config": _log_config(),
        "timeout_graceful_shutdown": _request_grace(settings),
    }
    if reload:
        reload_dirs = [str(Path(__file__).parent)]
        uvicorn.run(
            "service.app:create_app", factory=True, reload=True, reload_dirs=reload_dirs, **options
        )
        return
    from service.app import create_app
    from service.serving import run

    run(create_app(settings), **options)


def _request_grace(settings: Settings) -> float:
    # Streams are cut at the grace period and then saved as `interrupted`; uvicorn
    # cancels whatever still runs a little later, so those saves are never cut short.
    return settings.shutdown_grace_seconds + 3


@app.command()
def migrate() -> None:
    """Bring the database schema up to date (`tutor serve` does this too)."""
    settings = _settings()
    _with_database(settings, _nothing)
    typer.echo(f"Database is up to date: {_safe_url(settings.database)}")


@app.command()
def scheduler() -> None:
    """Run the background jobs (one process per deployment, never inside the API)."""
    from service.worker.main import run

    settings = _settings()
    _with_database(settings, _nothing)  # the jobs need the current schema
    run(settings)


@app.command()
def doctor(
    as_json: Annotated[bool, typer.Option("--json", help="Print the findings as JSON.")] = False,
) -> None:
    """Call the configured model once, as Tutor would, and print what works.

    Reachable or not, the context size it reports, the token parameter it takes, whether
    it streams and how fast, which JSON format it accepts. Exits 1 if it is not ready.
    """
    import json

    from service.llm.doctor import examine, render

    settings = _settings()
    logging.getLogger("httpx2").setLevel(logging.WARNING)  # a line per request: the report says it
    report = asyncio.run(examine(settings.llm))
    typer.echo(json.dumps(report.as_dict(), indent=2) if as_json else render(report))
    if not report.ready:
        raise typer.Exit(code=1)


@app.command("eval")
def evaluate(
    scenarios: Annotated[
        Path, typer.Option(help="The scenario folder (bench/evals/scenarios in the repository).")
    ] = Path("bench/evals/scenarios"),
    prompt_set: Annotated[
        str,
        typer.Option(
            "--prompts", help="The prompts to run: `prompts`, `prompts@REVISION` or a folder."
        ),
    ] = "prompts",
    compare: Annotated[
        tuple[str, str] | None,
        typer.Option(help="Run two prompt sets and compare them, e.g. prompts@v1 prompts."),
    ] = None,
    model: Annotated[str | None, typer.Option(help="The model (default TUTOR_LLM_MODEL).")] = None,
    only: Annotated[
        str | None, typer.Option(help="Only the scenarios whose category or id contains this.")
    ] = None,
    judge: Annotated[bool, typer.Option(help="Grade with the LLM judge too.")] = True,
    labelled: Annotated[
        Path | None, typer.Option(help="Hand-labelled replies to measure the judge against.")
    ] = Path("bench/evals/judge/labelled.yaml"),
    out: Annotated[Path | None, typer.Option(help="Write every result as JSON here.")] = Path(
        "eval-results.json"
    ),
    baseline: Annotated[
        Path | None, typer.Option(help="An earlier run's JSON: show the change from it.")
    ] = None,
    rescore: Annotated[
        list[Path] | None,
        typer.Option(
            help="Score a stored run's JSON again with today's metrics, asking no model "
            "(repeat to compare runs)."
        ),
    ] = None,
) -> None:
    """Measure teaching quality: run the scenarios through Tutor on the configured model
    and print a table of metrics computed in code and, with --judge, by an LLM judge."""
    from service.evals.command import Options, rescored
    from service.evals.command import run as run_eval
    from service.evals.promptsets import PromptSetError
    from service.evals.report import ReportError
    from service.evals.rescore import RescoreError
    from service.evals.scenarios import ScenarioError

    options = Options(
        scenarios=scenarios,
        prompt_sets=compare or (prompt_set,),
        only=only,
        judge=judge,
        labelled=labelled if labelled is not None and labelled.is_file() else None,
        out=out,
        baseline=baseline,
        rescore=tuple(rescore or ()),
    )
    if options.rescore:
        try:
            typer.echo(rescored(options))
        except (ScenarioError, ReportError, RescoreError) as exc:
            _fail(str(exc))
        return
    settings = _settings()
    if model is not None:
        settings = settings.model_copy(
            update={"llm": settings.llm.model_copy(update={"model": model})}
        )
    if not settings.llm.configured:
        _fail("no model to evaluate: set TUTOR_LLM_BASE_URL and TUTOR_LLM_MODEL (or --model)")
    for chatty in ("httpx", "httpx2", "alembic"):  # a line per request or migration
        logging.getLogger(chatty).setLevel(logging.WARNING)
    try:
        typer.echo(asyncio.run(run_eval(settings, options)))
    except (ScenarioError, PromptSetError, ReportError) as exc:
        _fail(str(exc))


@app.command()
def version() -> None:
    """Print Tutor's version."""
    typer.echo(__version__)


@learner_app.command("add")
def learner_add(
    name: str,
    timezone: Annotated[str, typer.Option(help="IANA timezone, e.g. Europe/Berlin.")] = "UTC",
) -> None:
    """Create a learner and print their first API key."""

    async def work(session: AsyncSession) -> learners.IssuedKey:
        return await learners.create_learner(session, name=name, timezone=timezone)

    issued = _with_database(_settings(), work)
    typer.echo(f"Created the learner '{issued.learner.name}'. Their API key, shown only once:")
    typer.echo(issued.key)


@learner_app.command("key")
def learner_key(name: str) -> None:
    """Issue another API key for a learner (old keys keep working until revoked)."""

    async def work(session: AsyncSession) -> str:
        learner = await learners.get_learner_by_name(session, name=name)
        return await learners.issue_key(session, learner=learner)

    typer.echo(_with_database(_settings(), work))


@learner_app.command("rename")
def learner_rename(name: str, new_name: str) -> None:
    """Rename a learner (learners cannot rename themselves: a name is how you find them)."""

    async def work(session: AsyncSession) -> str:
        return (await learners.rename_learner(session, name=name, new_name=new_name)).name

    typer.echo(f"Renamed '{name}' to '{_with_database(_settings(), work)}'.")


@learner_app.command("revoke")
def learner_revoke(prefix: str) -> None:
    """Revoke the API key with this prefix (as `tutor learner list` shows it)."""

    async def work(session: AsyncSession) -> None:
        await learners.revoke_key(session, prefix=prefix)

    _with_database(_settings(), work)
    typer.echo(f"Revoked {prefix}.")


@learner_app.command("list")
def learner_list() -> None:
    """List learners and the prefixes of their API keys."""

    async def work(session: AsyncSession) -> list[str]:
        lines = []
        for summary in await learners.list_learners(session):
            learner = summary.learner
            lines.append(
                f"{learner.name}  timezone={learner.timezone}  "
                f"active_keys={summary.active_keys}  created={learner.created_at:%Y-%m-%d}"
            )
            for key in await learners.list_keys(session, learner=learner):
                used = f"{key.last_used_at:%Y-%m-%d %H:%M}" if key.last_used_at else "never"
                state = "revoked" if key.revoked else "active"
                lines.append(f"    {key.prefix}  {state}  last used {used}")
        return lines

    lines = _with_database(_settings(), work)
    typer.echo("\n".join(lines) if lines else "No learners yet: `tutor learner add NAME`.")
