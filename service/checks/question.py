"""The "Check:" question at the end of a tutor's answer.

The tutor prompt asks for exactly one, on its own line, starting with "**Check:**".
Models vary the markup ("Check:", "**Check**:", "*Check*:"), so any non-word characters
around the word are accepted; two such lines are not one question, and neither is none.
"""

from __future__ import annotations

import re

_CHECK_LINE = re.compile(r"^\W*check\W*:[\s*_]*", re.IGNORECASE | re.MULTILINE)


def check_question(text: str) -> str | None:
    """The answer's check question, if it ends with exactly one."""
    found = list(_CHECK_LINE.finditer(text))
    if len(found) != 1:
        return None
    question = text[found[0].end() :].strip().strip("*_").strip()
    return question or None
