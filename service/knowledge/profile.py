"""From the learner's history to what Tutor knows about them: pure functions.

A concept is anything the learner explained back (a critique's concept) or reviews (a
card's tag). Its status is read off the evidence by fixed rules, so the learner can see
why Tutor thinks what it thinks, and correct it with a mark.
"""

from __future__ import annotations

import enum
import re
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from rapidfuzz import fuzz

from service.knowledge.models import KnowledgeMark, Mark, Subject


@dataclass(frozen=True)
class CritiqueSeen:
    """A finished critique of one of the learner's explanations (read by queries.py)."""

    id: uuid.UUID
    concept: str
    verdict: str
    score: int | None
    issues: Sequence[dict[str, Any]]
    at: datetime


@dataclass(frozen=True)
class CardsTagged:
    """The learner's accepted cards carrying one tag, and how their reviews went (read
    by queries.py)."""

    tag: str
    cards: int
    reviewed: int
    lapses: int
    ease: float
    last_reviewed: datetime | None


# Two critiques' descriptions of a mistake on one concept that share this much of their
# wording (token-set ratio, 0-100) describe the same mistake coming back.
SAME_MISTAKE = 60
# SM-2 starts every card at ease 2.5 and takes it down with each hard or failed answer.
SHAKY_EASE = 2.0
SHAKY_LAPSES = 3
# A critique's score (0-5) at or below this is a failed explanation; at or above SOLID, a
# good one.
FAILED_SCORE = 2
SOLID_SCORE = 4


class ConceptStatus(enum.StrEnum):
    shaky = "shaky"
    learning = "learning"
    solid = "solid"


class MisconceptionState(enum.StrEnum):
    open = "open"
    resolved = "resolved"  # a later explanation of the concept was judged solid
    dismissed = "dismissed"  # the learner said it is not (or no longer) theirs


@dataclass
class Misconception:
    id: str
    concept: str
    concept_key: str
    text: str
    quote: str | None
    first_seen: datetime
    last_seen: datetime
    times: int = 1
    state: MisconceptionState = MisconceptionState.open


@dataclass
class Concept:
    key: str
    name: str
    status: ConceptStatus = ConceptStatus.learning
    mark: Mark | None = None
    attempts: int = 0
    last_score: int | None = None
    cards: int = 0
    reviewed: int = 0
    lapses: int = 0
    ease: float | None = None
    last_seen: datetime | None = None
    open_misconceptions: int = 0


@dataclass
class Knowledge:
    concepts: list[Concept] = field(default_factory=list)
    misconceptions: list[Misconception] = field(default_factory=list)


def concept_key(name: str) -> str:
    """ "Layer-Norm", "layer_norm" and "layer  norm" are one concept."""
    return " ".join(re.sub(r"[-_]", " ", name.casefold()).split())


def is_misconception(issue: dict[str, object]) -> bool:
    # Critiques stored before issues had types marked a misconception "wrong".
    return issue.get("type") == "misconception" or issue.get("severity") == "wrong"


def misconceptions_in(critiques: Sequence[CritiqueSeen]) -> list[Misconception]:
    """The mistakes of the learner's critiques, one per mistake however often it came
    back, each identified by its first occurrence (so a mark on it stays put)."""
    found: list[Misconception] = []
    by_concept: dict[str, list[Misconception]] = {}  # only a concept's own are compared
    for critique in critiques:
        key = concept_key(critique.concept)
        counted: set[str] = set()
        for index, issue in enumerate(critique.issues):
            if not is_misconception(issue):
                continue
            text = str(issue.get("problem") or "").strip()
            if not text:
                continue
            same = _same_mistake(by_concept.get(key, ()), text)
            if same is None:
                quote = issue.get("quote")
                found.append(
                    Misconception(
                        id=f"{critique.id}.{index}",
                        concept=critique.concept,
                        concept_key=key,
                        text=text,
                        quote=str(quote) if quote else None,
                        first_seen=critique.at,
                        last_seen=critique.at,
                    )
                )
                by_concept.setdefault(key, []).append(found[-1])
            elif same.id not in counted:
                same.times += 1
                same.last_seen = critique.at
                same.state = MisconceptionState.open
            counted.add((same or found[-1]).id)
        if critique.verdict == "solid":
            for mistake in by_concept.get(key, ()):
                if mistake.last_seen < critique.at:
                    mistake.state = MisconceptionState.resolved
    return found


def _same_mistake(found: Iterable[Misconception], text: str) -> Misconception | None:
    for mistake in found:
        if fuzz.token_set_ratio(mistake.text, text) >= SAME_MISTAKE:
            return mistake
    return None


def derive(
    critiques: Sequence[CritiqueSeen],
    tagged: Sequence[CardsTagged],
    marks: Sequence[KnowledgeMark],
) -> Knowledge:
    """What Tutor knows, from the learner's critiques (oldest first), their cards per tag
    and their corrections."""
    concepts: dict[str, Concept] = {}

    def concept(name: str) -> Concept:
        key = concept_key(name)
        return concepts.setdefault(key, Concept(key=key, name=name))

    for critique in critiques:
        seen = concept(critique.concept)
        seen.name = critique.concept  # the learner's latest wording
        seen.attempts += 1
        seen.last_score = critique.score
        seen.last_seen = _latest(seen.last_seen, critique.at)
    for group in tagged:
        seen = concept(group.tag)
        seen.cards += group.cards
        seen.reviewed += group.reviewed
        seen.lapses += group.lapses
        # Tags that differ only in spelling ("layer-norm", "layer_norm") share a concept.
        seen.ease = group.ease if seen.ease is None else min(seen.ease, group.ease)
        seen.last_seen = _latest(seen.last_seen, group.last_reviewed)
    misconceptions = misconceptions_in(critiques)
    _apply_marks(concepts, misconceptions, marks)
    for mistake in misconceptions:
        if mistake.state is MisconceptionState.open and mistake.concept_key in concepts:
            concepts[mistake.concept_key].open_misconceptions += 1
    for seen in concepts.values():
        seen.status = status_of(seen)
    return Knowledge(
        concepts=sorted(concepts.values(), key=_concept_order),
        misconceptions=sorted(misconceptions, key=_misconception_order),
    )


def _apply_marks(
    concepts: dict[str, Concept],
    misconceptions: Sequence[Misconception],
    marks: Sequence[KnowledgeMark],
) -> None:
    by_id = {mistake.id: mistake for mistake in misconceptions}
    for mark in marks:
        if mark.subject is Subject.concept:
            seen = concepts.setdefault(mark.key, Concept(key=mark.key, name=mark.name or mark.key))
            seen.mark = mark.mark
        elif mark.key in by_id and mark.mark is Mark.dismissed:
            mistake = by_id[mark.key]
            # A mistake that came back after the learner dismissed it is open again.
            if mistake.last_seen <= mark.updated_at:
                mistake.state = MisconceptionState.dismissed


def status_of(seen: Concept) -> ConceptStatus:
    """Shaky: a mistake still open, a failed latest explanation, or cards that keep
    lapsing. Solid: a good latest explanation, or reviewed cards that never lapsed."""
    failed = seen.last_score is not None and seen.last_score <= FAILED_SCORE
    lapsing = seen.lapses >= SHAKY_LAPSES or (seen.ease is not None and seen.ease < SHAKY_EASE)
    if seen.open_misconceptions or failed or lapsing:
        return ConceptStatus.shaky
    if seen.last_score is not None:
        return ConceptStatus.solid if seen.last_score >= SOLID_SCORE else ConceptStatus.learning
    if seen.reviewed and not seen.lapses:
        return ConceptStatus.solid
    return ConceptStatus.learning


def _latest(current: datetime | None, candidate: datetime | None) -> datetime | None:
    if current is None or (candidate is not None and candidate > current):
        return candidate
    return current


_STATUS_ORDER = {ConceptStatus.shaky: 0, ConceptStatus.learning: 1, ConceptStatus.solid: 2}
_STATE_ORDER = {
    MisconceptionState.open: 0,
    MisconceptionState.resolved: 1,
    MisconceptionState.dismissed: 2,
}


def _concept_order(seen: Concept) -> tuple[int, float, str]:
    newest_first = -seen.last_seen.timestamp() if seen.last_seen else 0.0
    return _STATUS_ORDER[seen.status], newest_first, seen.key


def _misconception_order(mistake: Misconception) -> tuple[int, int, float]:
    return _STATE_ORDER[mistake.state], -mistake.times, -mistake.last_seen.timestamp()
