"""Turning a session's messages into the chat the model sees.

The learner's passages and questions are untrusted: each goes into a block fenced by
markers carrying a random nonce, so text inside a passage cannot close its own block
and pose as an instruction (the system prompts say the blocks are material, not orders).
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Sequence
from functools import cache
from itertools import groupby

import prompts
from service.config import LLMSettings
from service.llm.client import Call
from service.llm.tokens import ChatMessage, fit_history
from service.tutor.models import Kind, Level, Message, Role, Status

_BLOCK_NAMES = {
    Kind.passage: "PASSAGE",
    Kind.question: "QUESTION",
    Kind.attempt: "EXPLANATION ATTEMPT",
}
# Markers and the blank lines around a block, on top of the stored token count.
_BLOCK_OVERHEAD_TOKENS = 24
_GROUNDED = (
    "Ground your answer in the passage under discussion (the first block of the session) "
    "where it is relevant, and say so when it does not contain the answer."
)
_UNGROUNDED = (
    "No passage grounds this session: answer from your own knowledge, and say at the "
    "start of your answer that no passage grounds it."
)


def delimit(name: str, text: str, nonce: str) -> str:
    return f"<<<{name} {nonce}>>>\n{text}\n<<<END {name} {nonce}>>>"


def _learner_turn(
    messages: Sequence[Message], nonce: str, closing: str | None = None
) -> ChatMessage:
    blocks = [delimit(_BLOCK_NAMES[m.kind], m.content, nonce) for m in messages]
    if closing is None and all(m.kind is Kind.passage for m in messages):
        closing = "Explain this passage."
    if closing:
        blocks.append(closing)
    tokens = sum(m.token_count + _BLOCK_OVERHEAD_TOKENS for m in messages)
    return ChatMessage(role="user", content="\n\n".join(blocks), tokens=tokens)


def _history_turns(messages: Sequence[Message], nonce: str) -> list[ChatMessage]:
    """Consecutive learner messages make one user turn; only finished answers count."""
    turns = []
    usable = [m for m in messages if m.role is Role.learner or m.status is Status.complete]
    for role, group in groupby(usable, key=lambda m: m.role):
        run = list(group)
        if role is Role.learner:
            turns.append(_learner_turn(run, nonce))
        else:
            turns += [ChatMessage("assistant", m.content, m.token_count) for m in run]
    return turns


def _split_latest_learner_turn(
    earlier: Sequence[Message],
) -> tuple[list[Message], list[Message]]:
    """(everything before, the learner messages since the tutor last spoke)."""
    cut = len(earlier)
    while cut > 0 and earlier[cut - 1].role is Role.learner:
        cut -= 1
    return list(earlier[:cut]), list(earlier[cut:])


@cache  # the same few prompts, rendered and counted for every turn otherwise
def _system(name: str, level: Level, **extra: str) -> tuple[prompts.Prompt, ChatMessage]:
    prompt = prompts.load(name)
    guide = prompts.load(f"level-{level.value}").body.strip()
    text = prompt.render(level=level.value, level_guide=guide, **extra)
    return prompt, ChatMessage.of("system", text)


def build_call(
    *,
    learner_id: uuid.UUID,
    settings: LLMSettings,
    earlier: Sequence[Message],
    answer: Message,
) -> Call:
    """The chat for `answer`, given the session's messages before it."""
    nonce = secrets.token_hex(4)
    level = answer.level or Level.intuition
    history, latest = _split_latest_learner_turn(earlier)
    tail = [_learner_turn(latest, nonce)]
    budget = settings.context_tokens - settings.max_output_tokens

    if answer.kind is Kind.explanation:
        prompt, system = _system("explain", level)
        head = [system]
    else:
        passages = [m for m in history if m.kind is Kind.passage]
        grounding = _GROUNDED if passages else _UNGROUNDED
        prompt, system = _system("followup", level, grounding=grounding)
        head = [system]
        if passages:
            # The passage under discussion stays in the prompt however long the session.
            pinned = passages[-1]
            head.append(_learner_turn([pinned], nonce, "This is the passage under discussion."))
            history = [m for m in history if m.id != pinned.id]

    messages = fit_history(
        pinned_head=head,
        history=_history_turns(history, nonce),
        pinned_tail=tail,
        budget=budget,
    )
    return Call(learner_id=learner_id, purpose="explain", prompt=prompt, messages=messages)
