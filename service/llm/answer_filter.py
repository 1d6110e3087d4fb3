"""What a model writes that is not its answer: its thinking, and copied block markers.

Reasoning models (DeepSeek-R1 and its distills, Qwen3, QwQ) think before they answer,
between `<think>` and `</think>` at the very start of their text, when the server does
not move the thinking into `reasoning_content` itself. Small models echo the
`<<<END QUESTION …>>>` markers that fence the learner's material. Neither is the
answer: the filter drops both as the text streams, holding back only the few
characters that could still turn out to be the start of a tag or marker.

Only a leading thinking block is thinking: an explanation of DeepSeek-R1 may well
mention `<think>` in its middle, and that is answer.
"""

from __future__ import annotations

import re
from enum import Enum, auto

from service.llm.blocks import BLOCK_NAMES, MARKER

_THINKING_TAGS = ("<think>", "<thinking>")
# What may still become a marker (and the line end it takes with it), at the end of what
# has arrived so far; and the longest such text.
_MARKER_HEAD = re.compile(r"<{1,3}|<{2,3}[A-Z][A-Z ]*(?: [0-9a-f]{0,32})?(?:>{1,3}[ \t]*\r?)?")
_LONGEST_MARKER = len("<<<END  >>>") + max(map(len, BLOCK_NAMES)) + 32
# A thinking block whose opening tag was in the prompt (chat templates that start the
# reply with `<think>`): the reply has only the closing tag, on a line of its own.
_ORPHAN_CLOSE = re.compile(r"^[ \t]*</think>[ \t]*$", re.M)


class _State(Enum):
    start = auto()  # nothing but whitespace yet: a thinking tag may still open
    thinking = auto()
    thought = auto()  # the thinking is over: the blank lines after it are not answer
    answer = auto()


class AnswerFilter:
    """Feed the text as it arrives; what comes out is the answer."""

    def __init__(self) -> None:
        self._state = _State.start
        self._pending = ""  # arrived, but not yet known to be answer
        self._closing = ""

    def feed(self, text: str) -> str:
        self._pending += text
        if self._state is _State.start:
            self._look_for_thinking()
        if self._state is _State.thinking:
            self._skip_thinking()
        if self._state is _State.thought:
            self._pending = self._pending.lstrip()
            if self._pending:
                self._state = _State.answer
        if self._state is _State.answer:
            return self._release(hold_back=True)
        return ""

    def end(self) -> str:
        """What is left when the answer is complete."""
        if self._state in (_State.thinking, _State.thought):
            return ""  # no answer after the thinking
        return self._release(hold_back=False)

    def _look_for_thinking(self) -> None:
        head = self._pending.lstrip()
        for tag in _THINKING_TAGS:
            if head.startswith(tag):
                self._state = _State.thinking
                self._closing = "</" + tag[1:]
                self._pending = head[len(tag) :]
                return
        if not head or any(tag.startswith(head) for tag in _THINKING_TAGS):
            return  # too little yet to tell
        self._state = _State.answer

    def _skip_thinking(self) -> None:
        end = self._pending.find(self._closing)
        if end == -1:
            # Only a closing tag split across two pieces needs keeping.
            self._pending = self._pending[-(len(self._closing) - 1) :]
            return
        self._pending = self._pending[end + len(self._closing) :]
        self._state = _State.thought

    def _release(self, *, hold_back: bool) -> str:
        text = self._pending
        if "<" not in text:  # nearly every piece: nothing to drop or hold back
            self._pending = ""
            return text
        cut = _unfinished_marker_at(text) if hold_back else len(text)
        self._pending = text[cut:]
        return MARKER.sub("", text[:cut])


def _unfinished_marker_at(text: str) -> int:
    """Where a marker may have begun without ending yet (len(text) if nowhere)."""
    window = max(0, len(text) - _LONGEST_MARKER - 4)
    start = text.find("<", window)
    while start != -1:
        if _MARKER_HEAD.fullmatch(text, start):
            return start
        start = text.find("<", start + 1)
    return len(text)


def without_orphan_thinking(text: str) -> str:
    """The answer after a lone `</think>` line, when no `<think>` came before it."""
    match = _ORPHAN_CLOSE.search(text)
    if match is None or "<think>" in text[: match.start()]:
        return text
    return text[match.end() :].lstrip()
