"""One evaluation: every scenario run on a prompt set, scored in code and by the judge.

Scenarios run one after another: a local model server answers one request at a time
well, and a replayed recording needs no speed.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel

from service.config import Settings
from service.evals.judge import Judge, Verdict
from service.evals.metrics import Scores, scores_for
from service.evals.paper_runner import play_paper
from service.evals.promptsets import PromptSet
from service.evals.runner import Outcome, Tutor, eval_settings, running_tutor
from service.evals.scenarios import (
    CATEGORIES,
    CritiqueScenario,
    Explained,
    PaperScenario,
    Scenario,
)

log = logging.getLogger(__name__)
Progress = Callable[[str], None]


@dataclass
class ScenarioResult:
    category: str
    scenario: Scenario
    outcome: Outcome
    scores: Scores
    judged: dict[str, float] = field(default_factory=dict)

    @property
    def key(self) -> str:
        """The scenario's id; for a paper scenario's pasted run, "<id>:paper-pasted"."""
        if self.category in CATEGORIES:
            return self.scenario.id
        return f"{self.scenario.id}:{self.category}"


@dataclass
class SetResult:
    prompt_set: PromptSet
    results: list[ScenarioResult]


async def _judged(judge: Judge, scenario: Scenario, outcome: Outcome) -> dict[str, float]:
    """The judge's grades for what the learner saw first (missing when it could not)."""
    if not outcome.answers or outcome.answers[0].error:
        return {}
    shown = outcome.answers[0].text
    if isinstance(scenario, CritiqueScenario):
        graded: BaseModel | None = await judge.feedback(scenario.explanation, shown)
    elif isinstance(scenario, Explained | PaperScenario):
        graded = await judge.explanation(scenario.passage, scenario.level.value, shown)
    else:
        return {}
    if graded is None:
        return {}
    return {f"judge_{name}": float(value) for name, value in graded.model_dump().items()}


async def run_set(
    settings: Settings,
    scenarios: Sequence[tuple[str, Scenario]],
    prompt_set: PromptSet,
    *,
    scratch: Path,
    judge: bool,
    progress: Progress,
) -> SetResult:
    results: list[ScenarioResult] = []
    folder = Path(tempfile.mkdtemp(prefix="run-", dir=scratch))
    async with running_tutor(eval_settings(settings, folder), prompt_set) as tutor:
        for index, (category, scenario) in enumerate(scenarios, start=1):
            progress(f"[{prompt_set.label}] {index}/{len(scenarios)} {scenario.id}")
            if isinstance(scenario, PaperScenario):
                outcomes = await play_paper(tutor, scenario)  # pasted, then picked
            else:
                outcomes = [await tutor.run(category, scenario)]
            for outcome in outcomes:
                scores = scores_for(scenario, outcome)
                result = ScenarioResult(outcome.category, scenario, outcome, scores)
                if judge:
                    result.judged = await _judged(_judge_of(tutor), scenario, outcome)
                results.append(result)
    return SetResult(prompt_set, results)


def _judge_of(tutor: Tutor) -> Judge:
    return Judge(tutor.app.state.llm, tutor.learner_id)


def _request_of(scenario: Scenario) -> str:
    if isinstance(scenario, CritiqueScenario):
        return (
            f"Critique the learner's explanation of {scenario.concept} "
            f"(aimed at depth {scenario.level.value}):\n\n{scenario.explanation}"
        )
    if isinstance(scenario, Explained | PaperScenario):
        return f"Explain at depth {scenario.level.value}:\n\n{scenario.passage}"
    return ""


async def pairwise(
    settings: Settings,
    first: SetResult,
    second: SetResult,
    *,
    scratch: Path,
    progress: Progress,
) -> dict[str, Verdict | None]:
    """For each scenario both sets answered, which set's reply the judge prefers."""
    verdicts: dict[str, Verdict | None] = {}
    folder = scratch / "pairwise"
    folder.mkdir(parents=True, exist_ok=True)
    async with running_tutor(eval_settings(settings, folder), second.prompt_set) as tutor:
        judge = _judge_of(tutor)
        for a, b in zip(first.results, second.results, strict=True):
            request = _request_of(a.scenario)
            replies = (_first_reply(a.outcome), _first_reply(b.outcome))
            if not request or None in replies:
                continue
            progress(f"[pairwise] {a.key}")
            verdicts[a.key] = await judge.pairwise(request, *replies)  # type: ignore[arg-type]
    return verdicts


def _first_reply(outcome: Outcome) -> str | None:
    if not outcome.answers or outcome.answers[0].error:
        return None
    return outcome.answers[0].text
