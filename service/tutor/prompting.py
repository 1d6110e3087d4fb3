"""Turning a session's messages into the chat the model sees.

The chat is built so that each turn's prompt is the previous turn's prompt, byte for
byte, followed by the previous answer and the new turn: servers that cache what they
have read and written (llama.cpp's slots, vLLM's prefix cache) read only the new turn,
and those that cache prompts (OpenAI) read only the answer and the new turn. So: one
system prompt for every turn and level, the session's one nonce in every block, and a
learner's turn in history exactly as it was sent, the instruction that ended it (the
task and the depth, which vary) included.

The learner's passages and questions are untrusted: each goes into a fenced block
(service/llm/blocks.py) that the system prompt says is material, not orders. A passage
selected in a paper is followed by its PAPER CONTEXT (the paper's title, the section,
the symbols it uses as the paper defined them: service/papers/context.py), fenced too,
since it is the paper's text, and by the paper prompt (prompts/paper.md) on using the
paper's notation; the context was frozen when the passage was stored, so the turn
reads the same on every later turn.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import TYPE_CHECKING

import prompts
from service.llm.blocks import delimit
from service.llm.budget import Budget
from service.llm.model import Call
from service.llm.tokens import ChatMessage, count_text, fit_history
from service.sessions.models import Kind, Level, Message, MessageStatus, PaperPassage, Role

if TYPE_CHECKING:
    from service.knowledge.notes import Told

_BLOCK_NAMES = {
    Kind.passage: "PASSAGE",
    Kind.question: "QUESTION",
    Kind.attempt: "EXPLANATION ATTEMPT",
}
# Markers and the blank lines around a block, on top of the stored token count.
_BLOCK_OVERHEAD_TOKENS = 24
_EXPLAIN = "Explain the passage above."
_EXPLAIN_AND_ANSWER = "Explain the passage above, and answer the learner's question about it."
_ANSWER = (
    "Answer the learner's latest question, grounded in the passage under discussion. "
    'Mark anything the passage does not say as your own addition ("The passage does not '
    'say this, but …").'
)
_ANSWER_UNGROUNDED = (
    "Answer the learner's latest question. No passage grounds this session: answer from "
    "your own knowledge, and say at the start of your answer that no passage grounds it."
)
# Words per token of English prose with some math, to turn the answer limit into a plan.
_WORDS_PER_TOKEN = 0.6


# A session's passages of papers, by the position of the message each came from.
Papers = Mapping[int, PaperPassage]


def _blocks(messages: Sequence[Message], nonce: str, papers: Papers) -> str:
    parts: list[str] = []
    for message in messages:
        parts.append(delimit(_BLOCK_NAMES[message.kind], message.content, nonce))
        paper = _paper_of(message, papers)
        if paper is not None:
            parts.append(paper_part(paper.context, nonce))
    return "\n\n".join(parts)


def _block_tokens(messages: Sequence[Message], papers: Papers) -> int:
    tokens = 0
    for message in messages:
        tokens += message.token_count + _BLOCK_OVERHEAD_TOKENS
        paper = _paper_of(message, papers)
        if paper is not None:
            tokens += paper.context_tokens + _BLOCK_OVERHEAD_TOKENS + _paper_guide()[1]
    return tokens


def _paper_of(message: Message, papers: Papers) -> PaperPassage | None:
    """The paper a passage came from (an attempt's is for its critique's prompt)."""
    return papers.get(message.position) if message.kind is Kind.passage else None


def paper_part(context: str, nonce: str) -> str:
    """A passage's paper context, fenced, and how to use it (prompts/paper.md)."""
    return f"{delimit('PAPER CONTEXT', context, nonce)}\n\n{_paper_guide()[0]}"


def paper_part_tokens(context_tokens: int) -> int:
    return context_tokens + _BLOCK_OVERHEAD_TOKENS + _paper_guide()[1]


def _paper_guide() -> tuple[str, int]:
    return _rendered_guide(prompts.load("paper"))


@cache  # the same text for every passage of every paper
def _rendered_guide(prompt: prompts.Prompt) -> tuple[str, int]:
    text = prompt.render().strip()
    return text, count_text(text)


def _system() -> tuple[prompts.Prompt, ChatMessage]:
    prompt = prompts.load("tutor")
    return prompt, _system_message(prompt)


@cache  # the same few texts, rendered and counted for every turn otherwise
def _system_message(prompt: prompts.Prompt) -> ChatMessage:
    return ChatMessage.of("system", prompt.render())


def _guide(level: Level) -> prompts.Prompt:
    return prompts.load(f"level-{level.value}")


def _instruction(task: str, level: Level, words: int) -> tuple[str, int]:
    return _rendered_instruction(task, level, words, prompts.load("turn"), _guide(level))


@lru_cache(maxsize=1024)  # a few texts per paper, rendered and counted for every turn
def _rendered_instruction(
    task: str, level: Level, words: int, turn: prompts.Prompt, guide: prompts.Prompt
) -> tuple[str, int]:
    text = turn.render(
        task=task, level=level.value, level_guide=guide.body.strip(), words=str(words)
    )
    return text, count_text(text)


def answer_words(budget: Budget) -> int:
    """The answer's token limit as words, rounded to a plain number to plan with."""
    return max(50, int(round(budget.output * _WORDS_PER_TOKEN, -1)))


def _exchanges(messages: Sequence[Message]) -> Iterator[tuple[list[Message], Message | None]]:
    """The session as (learner messages, the tutor message that answered them)."""
    asked: list[Message] = []
    for message in messages:
        if message.role is Role.learner:
            asked.append(message)
            continue
        yield asked, message
        asked = []
    if asked:
        yield asked, None


@dataclass(frozen=True)
class Framing:
    """What every turn's instruction says besides the task: how long an answer may be,
    and which paper the session reads (its source's title, when it has one). Both stay
    the same from turn to turn, so the instructions in the history do too."""

    words: int
    paper: str | None = None


def _learner_turn(
    asked: Sequence[Message],
    answer: Message | None,
    nonce: str,
    *,
    grounded: bool,
    framing: Framing,
    papers: Papers,
) -> ChatMessage:
    """The learner's messages, and the instruction they were answered under (a critique's
    attempt has none: the critique had its own prompt)."""
    text, tokens = _blocks(asked, nonce, papers), _block_tokens(asked, papers)
    if answer is not None and answer.kind in (Kind.explanation, Kind.answer):
        instruction, instruction_tokens = _instruction(
            _task(answer, asked, grounded, framing.paper),
            answer.level or Level.intuition,
            framing.words,
        )
        text, tokens = f"{text}\n\n{instruction}", tokens + instruction_tokens
    return ChatMessage("user", text, tokens)


def _task(answer: Message, asked: Sequence[Message], grounded: bool, paper: str | None) -> str:
    if answer.kind is Kind.explanation:
        question = any(m.kind is Kind.question for m in asked)
        task = _EXPLAIN_AND_ANSWER if question else _EXPLAIN
        # Titles are the learner's text: quoted on one line, never an instruction.
        return f'{task} The passage is from "{" ".join(paper.split())}".' if paper else task
    return _ANSWER if grounded else _ANSWER_UNGROUNDED


def _chat(
    messages: Sequence[Message], nonce: str, framing: Framing, papers: Papers
) -> tuple[list[ChatMessage], int | None]:
    """The turns of the session up to its last message (the answer being written), and
    which turn holds the passage under discussion (the latest one).

    An exchange whose answer never completed is left out of later prompts (a passage
    too long for the model must not block every later turn), unless it holds the passage
    under discussion; its learner turn then joins the next, since some chat templates
    refuse two user turns in a row.
    """
    passages = [m for m in messages if m.kind is Kind.passage]
    under_discussion = passages[-1] if passages else None
    exchanges = list(_exchanges(messages))
    turns: list[ChatMessage] = []
    passage_turn = None
    grounded = False
    for index, (asked, answer) in enumerate(exchanges):
        current = index == len(exchanges) - 1
        unanswered = answer is None or answer.status is not MessageStatus.complete
        if unanswered and not current and under_discussion not in asked:
            continue
        grounded = grounded or any(m.kind is Kind.passage for m in asked)
        turn = _learner_turn(
            asked, answer, nonce, grounded=grounded, framing=framing, papers=papers
        )
        if turns and turns[-1].role == "user":
            last = turns.pop()
            turn = ChatMessage(
                "user", f"{last.content}\n\n{turn.content}", last.tokens + turn.tokens
            )
        if under_discussion in asked or (passage_turn == len(turns)):
            passage_turn = len(turns)
        turns.append(turn)
        if answer is not None and answer.status is MessageStatus.complete and not current:
            turns.append(ChatMessage("assistant", answer.content, answer.token_count))
    return turns, passage_turn


def build_call(
    *,
    learner_id: uuid.UUID,
    budget: Budget,
    nonce: str,
    earlier: Sequence[Message],
    answer: Message,
    paper: str | None = None,
    papers: Papers | None = None,
    learner_notes: Told | None = None,
) -> Call:
    """The chat for `answer`, given the session's messages before it (and the title of
    the paper the session reads, if the learner linked it to one, the passages of
    papers its messages came from, and what Tutor knows about the learner that bears
    on it)."""
    prompt, system = _system()
    framing = Framing(words=answer_words(budget), paper=paper)
    turns, passage_turn = _chat([*earlier, answer], nonce, framing, papers or {})
    latest = turns.pop()  # the learner's latest turn: the answer is not written yet
    if learner_notes is not None:
        # In the latest turn only: the history before it stays byte for byte what it
        # was, so a server's cached prompt prefix still matches.
        latest = ChatMessage.of(
            "user", f"{latest.content}\n\n{learner_notes.text}", model=budget.model
        )
    new_passage = passage_turn == len(turns)
    messages = fit_history(
        pinned_head=[system],
        history=turns,
        pinned_tail=[latest],
        budget=budget.prompt,
        # The passage under discussion stays in the prompt however long the session,
        # unless the learner has just sent the next one.
        keep=None if new_passage else passage_turn,
    )
    return Call(
        learner_id=learner_id,
        purpose="explain",
        prompt=prompt,
        messages=messages,
        also_used=_prompts_in(messages) + ((learner_notes.prompt,) if learner_notes else ()),
    )


def _prompts_in(messages: Sequence[ChatMessage]) -> tuple[prompts.Prompt, ...]:
    """The turn instruction, and the level guides and the paper prompt whose text the
    chat holds."""
    user_text = "\n".join(m.content for m in messages if m.role == "user")
    candidates = [_guide(level) for level in Level]
    if "<<<PAPER CONTEXT " in user_text:
        # Loaded only then: a prompt set made before papers (`tutor eval --prompts`) has none.
        candidates.append(prompts.load("paper"))
    guides = tuple(
        guide for guide in candidates if guide.body.strip() and guide.body.strip() in user_text
    )
    return (prompts.load("turn"), *guides)
