"""`tutor doctor` and `tutor eval`: the configured model, tried once and measured."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Annotated

import typer

from service.cli.common import fail, settings_or_fail


def doctor(
    as_json: Annotated[bool, typer.Option("--json", help="Print the findings as JSON.")] = False,
) -> None:
    """Call the configured model once, as Tutor would, and print what works.

    Reachable or not, the context size it reports, the token parameter it takes, whether
    it streams and how fast, which JSON format it accepts. Exits 1 if it is not ready.
    """
    import json

    from service.llm.doctor import examine, render

    settings = settings_or_fail()
    logging.getLogger("httpx2").setLevel(logging.WARNING)  # a line per request: the report says it
    report = asyncio.run(examine(settings.llm))
    typer.echo(json.dumps(report.as_dict(), indent=2) if as_json else render(report))
    if not report.ready:
        raise typer.Exit(code=1)


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
            fail(str(exc))
        return
    settings = settings_or_fail()
    if model is not None:
        settings = settings.model_copy(
            update={"llm": settings.llm.model_copy(update={"model": model})}
        )
    if not settings.llm.configured:
        fail("no model to evaluate: set TUTOR_LLM_BASE_URL and TUTOR_LLM_MODEL (or --model)")
    for chatty in ("httpx", "httpx2", "alembic"):  # a line per request or migration
        logging.getLogger(chatty).setLevel(logging.WARNING)
    try:
        typer.echo(asyncio.run(run_eval(settings, options)))
    except (ScenarioError, PromptSetError, ReportError) as exc:
        fail(str(exc))
