"""How far to trust the judge: its grades against a small hand-labelled set.

`bench/evals/judge/labelled.yaml` holds tutor replies a person graded on the judge's
own scales. Per dimension the report gives the share of exact agreement, the share
within one step, and how many items the judge graded at all. A judge that agrees with
the person less often than a constant guess would is not worth its numbers.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from service.evals.judge import Judge
from service.evals.scenarios import ScenarioError


class _Labelled(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    labels: dict[str, int]


class FeedbackItem(_Labelled):
    kind: Literal["critique_feedback"]
    concept: str
    explanation: str
    feedback: str


class ExplanationItem(_Labelled):
    kind: Literal["explanation"]
    level: str
    passage: str
    explanation: str


Item = Annotated[FeedbackItem | ExplanationItem, Field(discriminator="kind")]


class _LabelledSet(BaseModel):
    items: list[Item]


def load_labelled(path: Path) -> list[FeedbackItem | ExplanationItem]:
    try:
        return _LabelledSet.model_validate(yaml.safe_load(path.read_text("utf-8"))).items
    except (OSError, yaml.YAMLError, ValidationError) as exc:
        raise ScenarioError(f"{path}: {exc}") from None


async def agreement(judge: Judge, items: list[FeedbackItem | ExplanationItem]) -> str:
    """A Markdown table of the judge's agreement with the labels, per dimension."""
    pairs: dict[str, list[tuple[int, int | None]]] = defaultdict(list)
    for item in items:
        graded = (
            await judge.feedback(item.explanation, item.feedback)
            if isinstance(item, FeedbackItem)
            else await judge.explanation(item.passage, item.level, item.explanation)
        )
        given = graded.model_dump() if graded else {}
        for dimension, label in item.labels.items():
            pairs[dimension].append((label, given.get(dimension)))
    lines = [
        "| dimension | items | judged | exact | within one |",
        "|---|---|---|---|---|",
    ]
    for dimension, found in pairs.items():
        judged = [(label, grade) for label, grade in found if grade is not None]
        exact = sum(label == grade for label, grade in judged)
        near = sum(abs(label - grade) <= 1 for label, grade in judged)
        lines.append(
            f"| {dimension} | {len(found)} | {len(judged)} "
            f"| {_share(exact, len(judged))} | {_share(near, len(judged))} |"
        )
    return "\n".join(lines)


def _share(count: int, total: int) -> str:
    return f"{count / total:.2f}" if total else "–"
