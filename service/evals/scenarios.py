"""Evaluation scenarios: data files that say what to ask Tutor and what a good answer holds.

One YAML file per scenario under `<scenarios>/<category>/<id>.yaml`; the format is in
`bench/evals/SCHEMA.md`. Loading validates every field, and the gold labels against the
material they label (a mistake's quote must be the learner's words, a rigorous
scenario's notation the passage's), so a typo in a data file fails loudly instead of
quietly lowering a number.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from service.checks.question import check_question
from service.evals import paper_passage
from service.knowledge.notes import RECURRING, mentions
from service.papers.symbol_names import symbol_key
from service.sessions.models import Level

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
Terms = Annotated[list[Text], Field(max_length=12)]
CATEGORIES = ("explain", "followup", "critique", "check", "distill", "injection", "adapt", "paper")
# A paper scenario's passage pasted, what learners did before they could pick it in the
# paper: reported as a category of its own, next to "paper", the passage picked.
PASTED = "paper-pasted"
REPORTED = (*CATEGORIES[:-1], PASTED, "paper")
_ID = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")


class ScenarioError(Exception):
    """A scenario file that cannot be used, with the file named."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Common(_Strict):
    id: Text
    title: Text
    source: Text
    paper: Text
    canary: Text | None = None
    notes: str | None = None


class Explained(_Common):
    """A passage explained at a level (and, for a follow-up scenario, questions after)."""

    level: Level
    passage: Text
    question: Text | None = None
    notation: Terms = []
    key_terms: Terms


class ExplainScenario(Explained):
    kind: Literal["explain"]


class FollowUp(_Strict):
    question: Text
    level: Level | None = None
    needs_general_knowledge: bool
    key_terms: Terms = []


class FollowUpScenario(Explained):
    kind: Literal["followup"]
    followups: Annotated[list[FollowUp], Field(min_length=1, max_length=5)]


MistakeType = Literal["misconception", "omission", "imprecision"]


class Mistake(_Strict):
    type: MistakeType
    quote: Text | None
    about: Text
    keywords: Annotated[list[Text], Field(min_length=1, max_length=8)]
    reveals: Annotated[list[Text], Field(min_length=1, max_length=6)]


class CritiqueScenario(_Common):
    kind: Literal["critique"]
    concept: Text
    passage: Text | None = None
    level: Level
    explanation: Text
    mistakes: list[Mistake]


class CheckScenario(_Common):
    """The learner's answer to the check question that ended an explanation."""

    kind: Literal["check"]
    passage: Text
    level: Level
    explanation: Text
    answer: Text
    expected_result: Literal["right", "partly", "wrong"]
    reason: Text


class PastCritique(_Strict):
    """A critique of the learner's explanation, before the scenario."""

    concept: Text
    score: Annotated[int, Field(ge=0, le=5)]
    # Each a misconception, worded as a critique words its `problem`.
    mistakes: Annotated[list[Text], Field(max_length=4)] = []
    # How many critiques, one after another, found the same.
    times: Annotated[int, Field(ge=1, le=5)] = 1


class History(_Strict):
    """What the learner did before the scenario, stored as Tutor stores it."""

    critiques: Annotated[list[PastCritique], Field(min_length=1, max_length=6)]
    known: Annotated[list[Text], Field(max_length=6)] = []  # concepts they marked known


class AdaptScenario(Explained):
    """A passage explained to a learner with a history: does the tutor revisit the
    mistake they keep making? Played twice: by that learner and by a new one."""

    kind: Literal["adapt"]
    history: History
    # Words an answer that takes up the learner's mistake would use.
    revisit: Annotated[list[Text], Field(min_length=1, max_length=8)]


TranscriptKind = Literal["passage", "question", "explanation", "answer", "attempt", "critique"]


class TranscriptMessage(_Strict):
    role: Literal["learner", "tutor"]
    kind: TranscriptKind
    level: Level | None = None
    content: Text


class GoldCard(_Strict):
    front: Text
    back: Text
    targets_mistake: bool = False


class DistillScenario(_Common):
    kind: Literal["distill"]
    transcript: Annotated[list[TranscriptMessage], Field(min_length=2)]
    max_cards: Annotated[int, Field(ge=1, le=20)]
    gold_cards: Annotated[list[GoldCard], Field(min_length=1)]


class PaperPick(_Strict):
    """The blocks a learner picks in the paper: `blocks` of them in the section numbered
    (or headed) `section`, from the one whose text starts with `starts` (its first if
    null)."""

    section: Text
    starts: Text | None = None
    blocks: Annotated[int, Field(ge=1, le=8)] = 1


class PaperScenario(_Common):
    """A passage of a paper explained twice: pasted, and picked in the paper (with its
    PAPER CONTEXT). `latex` is the paper's source, read as extraction reads one."""

    kind: Literal["paper"]
    level: Level
    latex: Text
    pick: PaperPick
    question: Text | None = None
    notation: Terms = []
    key_terms: Terms
    # Symbol (as the paper writes it) -> a few words of the paper's definition of it.
    defined_symbols: Annotated[dict[Text, Text], Field(min_length=1, max_length=8)]
    # Equation numbers ("(1)") an answer should cite.
    equations: Annotated[list[Text], Field(max_length=4)] = []

    def picked(self) -> paper_passage.Picked:
        return paper_passage.pick(
            self.latex, section=self.pick.section, starts=self.pick.starts, blocks=self.pick.blocks
        )

    @property
    def passage(self) -> str:
        """The passage as the learner sends it, pasted or picked."""
        return self.picked().text


Scenario = Annotated[
    ExplainScenario
    | FollowUpScenario
    | CritiqueScenario
    | CheckScenario
    | DistillScenario
    | AdaptScenario
    | PaperScenario,
    Field(discriminator="kind"),
]


class _File(_Strict):
    scenario: Scenario


def _check_labels(scenario: Scenario) -> list[str]:
    """What in the gold labels does not fit the material it labels."""
    problems: list[str] = []
    if isinstance(scenario, CritiqueScenario):
        for mistake in scenario.mistakes:
            if mistake.type == "omission" and mistake.quote is not None:
                problems.append(f"an omission has a quote ({mistake.quote!r})")
            if mistake.type != "omission" and mistake.quote is None:
                problems.append(f"a {mistake.type} needs the learner's words as its quote")
            if mistake.quote is not None and mistake.quote not in scenario.explanation:
                problems.append(f"quote {mistake.quote!r} is not in the explanation")
    if isinstance(scenario, CheckScenario) and check_question(scenario.explanation) is None:
        problems.append("the explanation must end with exactly one **Check:** question")
    if isinstance(scenario, AdaptScenario):
        for past in scenario.history.critiques:
            if (
                past.mistakes
                and past.times < RECURRING
                and not mentions(scenario.passage, past.concept)
            ):
                problems.append(
                    f"the tutor would not hear of {past.concept!r}: the passage does not "
                    f"name it and its mistakes came {past.times} time(s)"
                )
    if isinstance(scenario, PaperScenario):
        try:
            problems += _paper_problems(scenario)
        except paper_passage.PickError as exc:
            return [str(exc)]
    if isinstance(scenario, Explained | PaperScenario):
        missing = [symbol for symbol in scenario.notation if symbol not in scenario.passage]
        if missing:
            problems.append(f"notation {missing} is not in the passage")
        if scenario.level is Level.rigorous and len(scenario.notation) < 2:
            problems.append("a rigorous scenario names at least two symbols of the passage")
    return problems


def _paper_problems(scenario: PaperScenario) -> list[str]:
    """Labels the paper does not back: a symbol it does not define before the passage in
    the expected words, or the passage does not use (so its context would not carry
    it), an equation number it does not print."""
    picked = scenario.picked()
    defined, used = paper_passage.defined_before(picked), paper_passage.used_by(picked)
    problems: list[str] = []
    for symbol, words in scenario.defined_symbols.items():
        key = symbol_key(symbol)
        if key not in defined or key not in used:
            problems.append(f"{symbol!r} is not defined before the passage and used in it")
        elif not set(_WORDS.findall(words.casefold())) <= set(
            _WORDS.findall(defined[key].casefold())
        ):
            problems.append(f"{words!r} are not words of the paper's definition of {symbol!r}")
    labels = paper_passage.equation_labels(picked.document)
    problems += [
        f"the paper has no equation {label}" for label in scenario.equations if label not in labels
    ]
    return problems


_WORDS = re.compile(r"[a-z0-9]+")


def load_file(path: Path) -> Scenario:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        scenario = _File(scenario=raw).scenario
    except (OSError, yaml.YAMLError, ValidationError) as exc:
        raise ScenarioError(f"{path}: {exc}") from None
    if scenario.id != path.stem or not _ID.fullmatch(scenario.id):
        raise ScenarioError(f"{path}: the id must be the file's name, lowercase with dashes")
    if path.parent.name not in CATEGORIES:
        raise ScenarioError(f"{path}: the folder must be one of {', '.join(CATEGORIES)}")
    if (path.parent.name == "paper") != isinstance(scenario, PaperScenario):
        raise ScenarioError(f"{path}: a paper scenario, and only one, goes in paper/")
    problems = _check_labels(scenario)
    if problems:
        raise ScenarioError(f"{path}: " + "; ".join(problems))
    return scenario


def load_scenarios(directory: Path, *, only: str | None = None) -> list[tuple[str, Scenario]]:
    """(category, scenario) for every file under `directory`, in a stable order; `only`
    keeps those whose category or id contains it."""
    if not directory.is_dir():
        raise ScenarioError(f"no scenario folder at {directory}")
    found: list[tuple[str, Scenario]] = []
    for path in sorted(directory.glob("*/*.yaml")):
        scenario = load_file(path)
        category = path.parent.name
        if only is None or only in category or only in scenario.id:
            found.append((category, scenario))
    if not found:
        raise ScenarioError(
            f"no scenarios under {directory}" + (f" matching {only!r}" if only else "")
        )
    return found
