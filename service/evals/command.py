"""`tutor eval`: what the command does, apart from reading its options."""

from __future__ import annotations

import sys
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from service import __version__
from service.config import Settings
from service.evals.agreement import agreement, load_labelled
from service.evals.evaluation import SetResult, pairwise, run_set
from service.evals.judge import Judge
from service.evals.promptsets import PromptSet, resolve
from service.evals.report import (
    as_json,
    baseline_column,
    column,
    pairwise_line,
    table,
    write_json,
)
from service.evals.rescore import rescore
from service.evals.runner import eval_settings, running_tutor
from service.evals.scenarios import Scenario, load_scenarios


@dataclass(frozen=True)
class Options:
    scenarios: Path
    prompt_sets: tuple[str, ...]
    only: str | None
    judge: bool
    labelled: Path | None
    out: Path | None
    baseline: Path | None = None
    rescore: tuple[Path, ...] = ()


def _progress(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


async def _judge_agreement(settings: Settings, labelled: Path, scratch: Path) -> str:
    items = load_labelled(labelled)
    folder = scratch / "agreement"
    folder.mkdir()
    shipped = resolve("prompts", scratch=scratch)
    async with running_tutor(eval_settings(settings, folder), shipped) as tutor:
        _progress(f"[judge] agreement on {len(items)} hand-labelled items")
        return await agreement(Judge(tutor.app.state.llm, tutor.learner_id), items)


def _meta(
    settings: Settings, options: Options, scenarios: list[tuple[str, Scenario]]
) -> dict[str, object]:
    return {
        "tutor": __version__,
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "model": settings.llm.model,
        "judge_model": settings.llm.model_for("judge"),
        "base_url": settings.llm.base_url,
        "scenarios": len(scenarios),
        "only": options.only,
        "judge": options.judge,
    }


def rescored(options: Options) -> str:
    """Stored runs scored again with today's metrics; the report as Markdown."""
    scenarios = load_scenarios(options.scenarios, only=options.only)
    results = [result for path in options.rescore for result in rescore(path, scenarios)]
    columns = [column(result) for result in results]
    if options.baseline is not None:
        columns.insert(0, baseline_column(options.baseline))
    names = ", ".join(path.name for path in options.rescore)
    sections = [
        f"# Tutor evaluation, stored runs scored again: {names}",
        "## Results (mean, and over how many scenarios)\n\n" + table(columns),
    ]
    if options.out is not None:
        meta = {"tutor": __version__, "rescored": [str(path) for path in options.rescore]}
        write_json(options.out, as_json(results, None, meta))
    return "\n\n".join(sections)


async def run(settings: Settings, options: Options) -> str:
    """Run the evaluation; the report as Markdown (also written as JSON when asked)."""
    scenarios = load_scenarios(options.scenarios, only=options.only)
    with tempfile.TemporaryDirectory(prefix="tutor-eval-") as folder:
        scratch = Path(folder)
        sets: list[PromptSet] = [resolve(spec, scratch=scratch) for spec in options.prompt_sets]
        sections = [
            f"# Tutor evaluation: {len(scenarios)} scenarios, model {settings.llm.model}, "
            f"judge {settings.llm.model_for('judge') if options.judge else 'off'}"
        ]
        if options.judge and options.labelled is not None:
            sections.append(
                "## The judge against hand labels\n\n"
                + await _judge_agreement(settings, options.labelled, scratch)
            )
        results: list[SetResult] = []
        for prompt_set in sets:
            results.append(
                await run_set(
                    settings,
                    scenarios,
                    prompt_set,
                    scratch=scratch,
                    judge=options.judge,
                    progress=_progress,
                )
            )
        verdicts = None
        if options.judge and len(results) == 2:
            verdicts = await pairwise(
                settings, results[0], results[1], scratch=scratch, progress=_progress
            )
    columns = [column(result) for result in results]
    if options.baseline is not None:
        columns.insert(0, baseline_column(options.baseline))
    sections.append("## Results (mean, and over how many scenarios)\n\n" + table(columns))
    if verdicts is not None:
        sections.append(pairwise_line(results, verdicts))
    if options.out is not None:
        write_json(options.out, as_json(results, verdicts, _meta(settings, options, scenarios)))
    return "\n\n".join(sections)
