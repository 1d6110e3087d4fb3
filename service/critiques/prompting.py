"""The chat the model sees for a critique: the rules, then the material in fenced blocks."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

import prompts
from service.llm.blocks import delimit
from service.llm.budget import Budget
from service.llm.model import Call
from service.llm.tokens import ChatMessage, PromptTooLong, count_chat
from service.sessions.models import Critique, Level

if TYPE_CHECKING:
    from service.knowledge.notes import Told

# What each depth asks of an explanation: the critique demands no more than that.
_AIMS = {
    Level.eli5: "eli5: the idea in plain words, with an analogy; no math expected",
    Level.intuition: "intuition: the idea and why it works; light math welcome, no proofs",
    Level.rigorous: "rigorous: the math, with every symbol defined and the steps justified",
}


def _previous_block(previous: Critique, nonce: str) -> str:
    issues = "; ".join(str(issue["problem"]) for issue in previous.issues) or "none"
    return (
        f"The learner's previous attempt (attempt {previous.attempt}):\n\n"
        + delimit("PREVIOUS ATTEMPT", previous.explanation, nonce)
        + f"\n\nIt was judged {previous.verdict}, score {previous.score}/5. "
        f"Its issues: {issues}"
    )


def build_critique_call(
    *,
    learner_id: uuid.UUID,
    budget: Budget,
    nonce: str,
    critique: Critique,
    reference: str | None,
    previous: Critique | None,
    paper_context: str | None = None,
    learner_notes: Told | None = None,
) -> Call:
    """The call; without the previous attempt if only that way it fits the budget.
    What Tutor knows about the learner that bears on it comes last, after the material
    it is about."""
    prompt = prompts.load("critique")
    system = ChatMessage.of("system", prompt.render())
    parts = [
        f"Concept:\n\n{delimit('CONCEPT', critique.concept, nonce)}",
        f"The depth the explanation aims at: {_AIMS[critique.level or Level.intuition]}.",
    ]
    if reference:
        parts.append("Reference passage:\n\n" + delimit("PASSAGE", reference, nonce))
    else:
        parts.append(
            "No reference passage: judge against the standard understanding of the "
            "concept in the original papers."
        )
    if paper_context:
        # The paper's text too: where the passage explained back sits, and its symbols.
        parts.append(
            "Where the passage sits in its paper, and the symbols it uses as the paper "
            "defined them:\n\n" + delimit("PAPER CONTEXT", paper_context, nonce)
        )
    explanation = f"The learner's explanation (attempt {critique.attempt}):\n\n" + delimit(
        "EXPLANATION", critique.explanation, nonce
    )
    if learner_notes is not None:
        explanation = f"{explanation}\n\n{learner_notes.text}"
    candidates = [[*parts, _previous_block(previous, nonce)]] if previous else []
    candidates.append(parts)
    needed = 0
    for blocks in candidates:
        user = ChatMessage.of("user", "\n\n".join([*blocks, explanation]))
        needed = count_chat([system, user])
        if needed <= budget.prompt:
            return Call(
                learner_id=learner_id,
                purpose="critique",
                prompt=prompt,
                messages=[system, user],
                also_used=(learner_notes.prompt,) if learner_notes else (),
            )
    raise PromptTooLong(needed, budget.prompt)
