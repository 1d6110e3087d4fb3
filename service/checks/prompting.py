"""The chat the model sees to grade a check answer: the rules, then the material."""

from __future__ import annotations

import uuid

import prompts
from service.llm.blocks import delimit
from service.llm.budget import Budget
from service.llm.model import Call
from service.llm.tokens import ChatMessage, PromptTooLong, count_chat


def build_check_call(
    *,
    learner_id: uuid.UUID,
    budget: Budget,
    nonce: str,
    passage: str | None,
    explanation: str,
    question: str,
    answer: str,
) -> Call:
    """The call; without the passage if only that way it fits (the explanation that
    asked the question is what the answer is graded against first)."""
    prompt = prompts.load("check")
    system = ChatMessage.of("system", prompt.render())
    asked = [
        "Your explanation:\n\n" + delimit("EXPLANATION", explanation, nonce),
        "The question:\n\n" + delimit("CHECK QUESTION", question, nonce),
        "The learner's answer:\n\n" + delimit("ANSWER", answer, nonce),
    ]
    candidates = [asked]
    if passage:
        candidates.insert(0, ["The passage:\n\n" + delimit("PASSAGE", passage, nonce), *asked])
    needed = 0
    for parts in candidates:
        user = ChatMessage.of("user", "\n\n".join(parts))
        needed = count_chat([system, user])
        if needed <= budget.prompt:
            return Call(
                learner_id=learner_id, purpose="check", prompt=prompt, messages=[system, user]
            )
    raise PromptTooLong(needed, budget.prompt)
