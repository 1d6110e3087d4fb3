"""Fenced blocks: how untrusted text (passages, explanations, transcripts) enters a prompt.

A block opens with `<<<NAME nonce>>>` and closes with `<<<END NAME nonce>>>`, and the
system prompts say that what is inside is material, never instructions. The nonce is
random and kept for a session's life, so every turn of a session sends the same bytes
for the same material and the server's prompt cache is reused. A nonce that is not
secret would let text close its own block, so every occurrence of it inside the text
is masked: no text can contain its block's closing marker, whatever it knows.
"""

from __future__ import annotations

import re
import secrets

# Every name Tutor fences material with (the answer filter drops their markers when a
# model copies them into an answer).
BLOCK_NAMES = (
    "PASSAGE",
    # Where a passage sits in its paper, and the symbols it uses (service/papers/context.py).
    "PAPER CONTEXT",
    "QUESTION",
    "EXPLANATION ATTEMPT",
    "EXPLANATION",
    "PREVIOUS ATTEMPT",
    "CONCEPT",
    "TRANSCRIPT",
    "EXISTING CARDS",
    "FACTS",
    "CHECK QUESTION",
    "ANSWER",
    # The evaluation's judge (service/evals/judge.py).
    "FEEDBACK",
    "REQUEST",
    "REPLY A",
    "REPLY B",
)
NONCE_LENGTH = 12
_NONCE_MASK = "x"  # not a hex digit, so a masked stretch can never be part of a nonce
# A marker as a model copies it, which is not always exactly: two brackets for three.
MARKER = re.compile(
    r"<{2,3}(?:END )?(?:" + "|".join(BLOCK_NAMES) + r")(?: [0-9a-f]{4,32})?>{2,3}[ \t]*(?:\r?\n)?"
)


def new_nonce() -> str:
    return secrets.token_hex(NONCE_LENGTH // 2)


def delimit(name: str, text: str, nonce: str) -> str:
    assert name in BLOCK_NAMES, name
    masked = text.replace(nonce, _NONCE_MASK * len(nonce))
    return f"<<<{name} {nonce}>>>\n{masked}\n<<<END {name} {nonce}>>>"
