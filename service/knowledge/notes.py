"""What the tutor is told about the learner for one piece of material: a few lines.

Only what bears on the material (concepts it names) and the mistakes that keep coming
back; nothing at all for a learner Tutor knows nothing relevant about, so their prompts
are exactly what they would be without this.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import prompts
from service.knowledge.models import Mark
from service.knowledge.profile import (
    Concept,
    ConceptStatus,
    Knowledge,
    Misconception,
    MisconceptionState,
)

# A handful of lines: enough to adapt the answer, too few to crowd out the material.
MAX_CONCEPTS = 6
MAX_MISTAKES = 3
MAX_MISTAKE_WORDS = 40
# A mistake made this often is recurring: the tutor hears of it whatever the material.
RECURRING = 2


@dataclass(frozen=True)
class Told:
    """The text for the prompt, and the prompt file it was rendered from (for the log)."""

    text: str
    prompt: prompts.Prompt


def _words(text: str) -> str:
    return " ".join(re.sub(r"[^\w]+", " ", text.casefold()).split())


def mentions(material: str, key: str) -> bool:
    """Whether the material names the concept (as whole words, singular or plural)."""
    return _named_in(f" {_words(material)} ", key)


def _named_in(haystack: str, key: str) -> bool:
    phrase = _words(key)
    if not phrase:
        return False
    variants = {phrase, phrase[:-1] if phrase.endswith("s") else f"{phrase}s"}
    return any(f" {variant} " in haystack for variant in variants)


def _effective(concept: Concept) -> ConceptStatus | Mark:
    if concept.mark is Mark.known:
        return ConceptStatus.solid
    if concept.mark is Mark.learning:
        return Mark.learning
    return concept.status


def _evidence(concept: Concept) -> str:
    said: list[str] = []
    if concept.last_score is not None:
        said.append(f"last explanation scored {concept.last_score}/5")
    if concept.open_misconceptions:
        said.append(f"{concept.open_misconceptions} mistake(s) still open")
    if concept.lapses:
        said.append(f"{concept.lapses} lapse(s) in review")
    return f" ({'; '.join(said)})" if said else ""


def _one_line(text: str) -> str:
    # Names and mistakes come from the learner's own text: one line each, never a block
    # that could pass for the prompt's own structure.
    return " ".join(text.split())


def _concept_lines(concepts: Sequence[Concept]) -> list[str]:
    known = [_one_line(c.name) for c in concepts if _effective(c) is ConceptStatus.solid]
    shaky = [
        f"{_one_line(c.name)}{_evidence(c)}"
        for c in concepts
        if _effective(c) is ConceptStatus.shaky
    ]
    new = [
        _one_line(c.name)
        for c in concepts
        if _effective(c) in (ConceptStatus.learning, Mark.learning)
    ]
    lines = []
    if known:
        lines.append("- Knows well: " + "; ".join(known) + ".")
    if shaky:
        lines.append("- Shaky on: " + "; ".join(shaky) + ".")
    if new:
        lines.append("- Still learning: " + "; ".join(new) + ".")
    return lines


def _mistake_line(mistake: Misconception) -> str:
    words = mistake.text.split()
    text = " ".join(words[:MAX_MISTAKE_WORDS]) + (" …" if len(words) > MAX_MISTAKE_WORDS else "")
    concept = _one_line(mistake.concept)
    if mistake.times >= RECURRING:
        return f"- Keeps getting this wrong ({concept}, {mistake.times} times): {text}"
    return f"- Got this wrong before ({concept}): {text}"


def facts_for(knowledge: Knowledge, material: str) -> list[str]:
    """The lines about the learner that bear on `material`."""
    ignored = {c.key for c in knowledge.concepts if c.mark is Mark.ignore}
    haystack = f" {_words(material)} "  # once: a learner can have hundreds of concepts
    named = [c for c in knowledge.concepts if c.key not in ignored and _named_in(haystack, c.key)][
        :MAX_CONCEPTS
    ]
    named_keys = {c.key for c in named}
    mistakes = [
        m
        for m in knowledge.misconceptions
        if m.state is MisconceptionState.open
        and m.concept_key not in ignored
        and (m.concept_key in named_keys or m.times >= RECURRING)
    ][:MAX_MISTAKES]
    return _concept_lines(named) + [_mistake_line(m) for m in mistakes]


def told(knowledge: Knowledge, material: str) -> Told | None:
    """What the tutor is told about the learner for `material`, or None."""
    facts = facts_for(knowledge, material)
    if not facts:
        return None
    prompt = prompts.load("learner")
    return Told(prompt.render(facts="\n".join(facts)).strip(), prompt)
