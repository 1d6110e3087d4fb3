"""The chat the model sees to name a passage's prerequisites: the rules, then the material
in fenced blocks (the passage, the concept, the learner's attempts, their words)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace

import prompts
from service.llm.blocks import delimit
from service.llm.budget import Budget
from service.llm.model import Call
from service.llm.tokens import ChatMessage, PromptTooLong, count_chat


@dataclass(frozen=True)
class Attempt:
    """One of the learner's explanations of the concept, and how it was judged."""

    number: int
    explanation: str
    verdict: str
    score: int | None


@dataclass(frozen=True)
class Grounds:
    """What the prerequisites are found for; at least one of passage, explanation or
    attempts is there (service.py refuses otherwise)."""

    passage: str | None  # the passage under discussion
    explanation: str | None  # the tutor's explanation, when there is no passage
    paper: str | None  # the title of the source the session reads
    concept: str | None
    attempts: Sequence[Attempt] = ()
    asked: str | None = None  # the learner's latest words in the session


def _material(grounds: Grounds, nonce: str) -> list[str]:
    parts: list[str] = []
    if grounds.passage:
        # The title goes inside the block: a paper's title is text from outside too.
        text = f"{grounds.paper}\n\n{grounds.passage}" if grounds.paper else grounds.passage
        said = "The passage, after the paper's title" if grounds.paper else "The passage"
        parts.append(f"{said}:\n\n" + delimit("PASSAGE", text, nonce))
    elif grounds.explanation:
        parts.append(
            "There is no passage; the learner is lost in your explanation:\n\n"
            + delimit("EXPLANATION", grounds.explanation, nonce)
        )
    if grounds.concept:
        parts.append(
            "The concept they are stuck on:\n\n" + delimit("CONCEPT", grounds.concept, nonce)
        )
    for attempt in grounds.attempts:
        score = f", score {attempt.score}/5" if attempt.score is not None else ""
        parts.append(
            f"Their explanation of it, attempt {attempt.number} (judged "
            f"{attempt.verdict}{score}):\n\n"
            + delimit("EXPLANATION ATTEMPT", attempt.explanation, nonce)
        )
    return parts


def build_prerequisites_call(
    *, learner_id: uuid.UUID, budget: Budget, nonce: str, grounds: Grounds
) -> Call:
    """The call; without the learner's latest words, then with fewer attempts (the latest
    kept), if only that way it fits the budget."""
    prompt = prompts.load("prerequisites")
    system = ChatMessage.of("system", prompt.render())
    asked = (
        ["Their latest words in the session:\n\n" + delimit("QUESTION", grounds.asked, nonce)]
        if grounds.asked
        else []
    )
    candidates = [_material(grounds, nonce) + asked]
    attempts = list(grounds.attempts)
    while True:
        fewer = replace(grounds, attempts=attempts, asked=None)
        candidates.append(_material(fewer, nonce))
        if len(attempts) <= 1:
            break
        attempts = attempts[1:]
    needed = 0
    for parts in candidates:
        user = ChatMessage.of("user", "\n\n".join(parts))
        needed = count_chat([system, user])
        if needed <= budget.prompt:
            return Call(
                learner_id=learner_id,
                purpose="prerequisites",
                prompt=prompt,
                messages=[system, user],
            )
    raise PromptTooLong(needed, budget.prompt)
