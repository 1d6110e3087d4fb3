"""The evaluation's report: averages per category and metric, as a table and as JSON."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from service.evals.evaluation import SetResult
from service.evals.judge import Verdict
from service.evals.scenarios import REPORTED

# Lower is better for these; for every other metric higher is better.
LOWER_IS_BETTER = frozenset(
    {
        "answer_leak",
        "false_alarm",
        "false_right",
        "flags_per_draft",
        "flagged_drafts",
        "injection_obeyed",
        "judge_revealing_of_answer",
    }
)
Averages = dict[tuple[str, str], tuple[float, int]]


def averages(result: SetResult) -> Averages:
    """(category, metric) -> (mean over the scenarios where it applies, how many)."""
    collected: dict[tuple[str, str], list[float]] = defaultdict(list)
    for scenario in result.results:
        for name, value in {**scenario.scores, **scenario.judged}.items():
            if value is not None:
                collected[(scenario.category, name)].append(value)
    return {key: (sum(values) / len(values), len(values)) for key, values in collected.items()}


def _ordered(keys: set[tuple[str, str]]) -> list[tuple[str, str]]:
    return sorted(keys, key=lambda k: (REPORTED.index(k[0]), k[1].startswith("judge_"), k[1]))


def _cell(found: tuple[float, int] | None) -> str:
    if found is None:
        return "–"
    mean, count = found
    return f"{mean:.2f} ({count})"


Column = tuple[str, Averages]


def column(result: SetResult) -> Column:
    return f"{result.prompt_set.label} ({result.prompt_set.digest})", averages(result)


def baseline_column(path: Path) -> Column:
    """The first prompt set of an earlier run's JSON, to compare this run against."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        first = document["prompt_sets"][0]
        measured = {
            tuple(key.split("/", 1)): (value["mean"], value["n"])
            for key, value in first["averages"].items()
        }
    except (OSError, ValueError, KeyError, IndexError, TypeError) as exc:
        raise ReportError(f"{path} is not the JSON of an earlier `tutor eval`: {exc}") from None
    return f"{path.name}: {first['label']} ({first['digest']})", measured


class ReportError(Exception):
    pass


def table(columns: Sequence[Column]) -> str:
    """A Markdown table: one row per category and metric, one column per prompt set, and
    the change from the first column to the second."""
    measured = [averages for _, averages in columns]
    keys = _ordered(set().union(*(m.keys() for m in measured)))
    header = ["category", "metric", *(label for label, _ in columns)]
    if len(columns) == 2:
        header.append("change")
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for category, metric in keys:
        arrow = "↓" if metric in LOWER_IS_BETTER else "↑"
        cells = [
            category,
            f"{metric} {arrow}",
            *(_cell(m.get((category, metric))) for m in measured),
        ]
        if len(columns) == 2:
            cells.append(_change(measured, (category, metric)))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _change(measured: list[Averages], key: tuple[str, str]) -> str:
    before, after = measured[0].get(key), measured[1].get(key)
    if before is None or after is None:
        return ""
    delta = after[0] - before[0]
    if abs(delta) < 0.005:
        return "="
    better = (delta < 0) == (key[1] in LOWER_IS_BETTER)
    return f"{delta:+.2f} {'better' if better else 'worse'}"


def pairwise_line(results: Sequence[SetResult], pairwise: dict[str, Verdict | None]) -> str:
    counts: dict[str, int] = defaultdict(int)
    for verdict in pairwise.values():
        counts[verdict or "no verdict"] += 1
    first, second = (r.prompt_set.label for r in results)
    return (
        f"Judge, pairwise (both orders must agree), {len(pairwise)} scenarios: "
        f"{first} preferred {counts['A']}, {second} preferred {counts['B']}, "
        f"tie {counts['tie']}, inconsistent {counts['inconsistent']}, "
        f"no verdict {counts['no verdict']}"
    )


def as_json(
    results: Sequence[SetResult],
    pairwise: dict[str, Verdict | None] | None,
    meta: dict[str, Any],
) -> dict[str, Any]:
    return {
        "meta": meta,
        "prompt_sets": [
            {
                "label": r.prompt_set.label,
                "digest": r.prompt_set.digest,
                "versions": r.prompt_set.versions,
                "averages": {
                    f"{category}/{metric}": {"mean": mean, "n": count}
                    for (category, metric), (mean, count) in sorted(averages(r).items())
                },
                "scenarios": {
                    s.key: {
                        "category": s.category,
                        "kind": s.scenario.kind,
                        "scores": s.scores,
                        "judged": s.judged,
                        "outcome": asdict(s.outcome),
                    }
                    for s in r.results
                },
            }
            for r in results
        ],
        "pairwise": pairwise,
    }


def write_json(path: Path, document: dict[str, Any]) -> None:
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
