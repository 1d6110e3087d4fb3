"""Score a stored run again with today's rulers, without asking any model.

A run's JSON keeps every outcome (what the learner saw, the critique, the cards), so a
metric fixed or added later can be measured on an old run too, and two runs made with
different versions of the metrics can be compared on the same ruler.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from service.evals.evaluation import ScenarioResult, SetResult
from service.evals.metrics import scores_for
from service.evals.promptsets import PromptSet
from service.evals.runner import Answer, Outcome
from service.evals.scenarios import Scenario


class RescoreError(Exception):
    pass


def _outcome(stored: dict[str, Any]) -> Outcome:
    answers = [Answer(**answer) for answer in stored.get("answers", [])]
    alone = stored.get("new_learner")
    new_learner = Answer(**alone) if alone else None
    return Outcome(**{**stored, "answers": answers, "new_learner": new_learner})


def rescore(path: Path, scenarios: Sequence[tuple[str, Scenario]]) -> list[SetResult]:
    """Each prompt set of the run at `path`, scored again on the scenarios it shares with
    `scenarios` (a scenario since removed or renamed is left out). The judge's grades
    are kept as they were: re-judging needs the model."""
    by_id = {scenario.id: (category, scenario) for category, scenario in scenarios}
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        return [_rescored(path, stored, by_id) for stored in document["prompt_sets"]]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise RescoreError(f"{path} is not the JSON of an earlier `tutor eval`: {exc}") from None


def _rescored(
    path: Path, stored: dict[str, Any], by_id: dict[str, tuple[str, Scenario]]
) -> SetResult:
    prompt_set = PromptSet(
        label=f"{path.name}: {stored['label']}",
        directory=Path(),
        versions=dict(stored["versions"]),
        digest=stored["digest"],
    )
    results = []
    for kept in stored["scenarios"].values():
        outcome = _outcome(kept["outcome"])
        if outcome.scenario_id not in by_id:
            continue
        _, scenario = by_id[outcome.scenario_id]
        # The category the run reported it under (a paper scenario has two).
        category = kept["category"]
        result = ScenarioResult(category, scenario, outcome, scores_for(scenario, outcome))
        result.judged = dict(kept.get("judged") or {})
        results.append(result)
    return SetResult(prompt_set, results)
