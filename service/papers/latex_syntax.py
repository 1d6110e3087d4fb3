"""Reading LaTeX arguments: a `{group}`, an `[option]`, a single token.

Loops, not recursion, so a group nested ten thousand deep is read like any other;
each function takes the text and a position and says where the argument ends.
"""

from __future__ import annotations

import re

_CONTROL_SEQUENCE = re.compile(r"\\(?:[A-Za-z@]+|.)", re.DOTALL)
_SPACES = re.compile(r"\s*")


def skip_spaces(text: str, position: int) -> int:
    match = _SPACES.match(text, position)
    return match.end() if match else position


def read_group(text: str, position: int) -> tuple[str, int] | None:
    """The inside of the `{...}` starting at `position` (after spaces), and the
    position after its `}`; None if no group starts there or it never closes."""
    return _read_delimited(text, position, "{", "}")


def read_option(text: str, position: int) -> tuple[str, int] | None:
    """The inside of an optional `[...]` argument at `position` (after spaces)."""
    return _read_delimited(text, position, "[", "]")


def _read_delimited(
    text: str, position: int, open_char: str, close_char: str
) -> tuple[str, int] | None:
    position = skip_spaces(text, position)
    if not text.startswith(open_char, position):
        return None
    end = closing(text, position, open_char, close_char)
    if end is None:
        return None
    return text[position + 1 : end], end + 1


def read_argument(text: str, position: int) -> tuple[str, int] | None:
    """A macro's argument as TeX reads it: a group's inside, or else one token (a
    control sequence or a character)."""
    group = read_group(text, position)
    if group is not None:
        return group
    position = skip_spaces(text, position)
    if position >= len(text) or text[position] == "}":
        return None
    token = _CONTROL_SEQUENCE.match(text, position)
    end = token.end() if token else position + 1
    return text[position:end], end


def closing(text: str, opening: int, open_char: str, close_char: str) -> int | None:
    """Where the `close_char` that ends the argument opened at `opening` is: for `{`, the
    `}` that balances it; for `[`, as LaTeX reads an option, the first `]` outside braces
    (`[a{]}b]` is one option). Escaped braces (`\\{`) are text, not structure."""
    depth = 0
    position = opening
    length = len(text)
    while position < length:
        char = text[position]
        if char == "\\":
            position += 2
            continue
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth < 0:
                return None
            if depth == 0 and close_char == "}":
                return position
        elif char == close_char and depth == 0 and position > opening:
            return position
        position += 1
    return None
