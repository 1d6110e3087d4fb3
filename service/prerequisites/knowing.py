"""Does the learner know a concept? Decided by fixed rules from their own history, so the
panel can say why ("2 cards you review; last graded Good"), never by the model.

The evidence, strongest first:
1. the learner's own mark on the concept (/v1/me/knowledge): "known" or "learning";
2. their latest explanation of it, critiqued (any session): solid, or shaky or wrong;
3. their active cards that name it (front, back or tag), by the latest grade given to
   any of them: Good or Easy is known; Again or Hard, or never reviewed, is not;
4. an earlier session about it whose check question they answered right.
The first rule that has something to say decides. Anything less (a session about it, a
draft card) is shown as evidence, but does not make the concept known.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from service.prerequisites.matching import names_in, same_name

# A review's rating (FSRS's scale, which every review carries): 1 Again ... 4 Easy.
RATINGS = {1: "Again", 2: "Hard", 3: "Good", 4: "Easy"}
PASSED = 3


@dataclass(frozen=True)
class CardSeen:
    """One of the learner's active cards, and its latest review, if any."""

    id: uuid.UUID
    front: str
    back: str
    tags: tuple[str, ...]
    last_rating: int | None = None
    last_reviewed: datetime | None = None


@dataclass(frozen=True)
class Explained:
    """A finished critique of the learner's explanation of a concept."""

    concept: str
    verdict: str  # solid | shaky | wrong
    score: int | None
    at: datetime


@dataclass(frozen=True)
class Studied:
    """An earlier session of the learner's: its title, and check questions answered right."""

    title: str
    checks_right: int


@dataclass(frozen=True)
class History:
    """What the learner has done, read once for every concept of a path."""

    marks: dict[str, str]  # concept name (as marked) -> known | learning | ignore
    explained: Sequence[Explained]
    cards: Sequence[CardSeen]
    studied: Sequence[Studied]


@dataclass(frozen=True)
class Knowing:
    known: bool
    evidence: str | None


def cards_naming(names: Sequence[str], cards: Sequence[CardSeen]) -> list[CardSeen]:
    """The cards whose front, back or one of whose tags names the concept."""
    return [
        card
        for card in cards
        if names_in(card.front, names)
        or names_in(card.back, names)
        or any(names_in(tag, names) for tag in card.tags)
    ]


def judge(names: Sequence[str], history: History) -> Knowing:
    """Whether the learner knows the concept called `names` (its name, then others)."""
    for rule in (_by_mark, _by_explanation, _by_cards, _by_sessions):
        decided = rule(names, history)
        if decided is not None:
            return decided
    return Knowing(False, None)


def _by_mark(names: Sequence[str], history: History) -> Knowing | None:
    for marked, mark in history.marks.items():
        if any(same_name(marked, name) for name in names):
            if mark == "known":
                return Knowing(True, "You marked it as known.")
            if mark == "learning":
                return Knowing(False, "You marked it as still learning.")
    return None


def _by_explanation(names: Sequence[str], history: History) -> Knowing | None:
    attempts = [
        seen for seen in history.explained if any(same_name(seen.concept, name) for name in names)
    ]
    if not attempts:
        return None
    latest = max(attempts, key=lambda seen: seen.at)
    score = f" ({latest.score}/5)" if latest.score is not None else ""
    if latest.verdict == "solid":
        return Knowing(True, f"You explained it back: solid{score}.")
    return Knowing(False, f"Your last explanation of it was {latest.verdict}{score}.")


def _by_cards(names: Sequence[str], history: History) -> Knowing | None:
    cards = cards_naming(names, history.cards)
    if not cards:
        return None
    count = f"{len(cards)} card{'s' if len(cards) > 1 else ''}"
    reviewed = [card for card in cards if card.last_rating is not None and card.last_reviewed]
    if not reviewed:
        return Knowing(False, f"{count} on it, not reviewed yet.")
    latest = max(reviewed, key=lambda card: card.last_reviewed or datetime.min)
    rating = latest.last_rating or 1
    evidence = f"{count} you review; last graded {RATINGS.get(rating, str(rating))}."
    return Knowing(rating >= PASSED, evidence)


def _by_sessions(names: Sequence[str], history: History) -> Knowing | None:
    about = [seen for seen in history.studied if names_in(seen.title, names)]
    if not about:
        return None
    answered = next((seen for seen in about if seen.checks_right > 0), None)
    if answered is not None:
        return Knowing(True, f"You answered its check question right in “{answered.title}”.")
    return Knowing(False, f"You studied it in “{about[0].title}”.")
