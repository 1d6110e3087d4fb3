"""Anki's "Notes in Plain Text" export: its file headers, and the text of its fields.

The export starts with `#key:value` file headers (`#separator:tab`, `#html:true`,
`#tags column:6`, …); as in Anki, every leading line starting with "#" is a header or a
comment. The headers say where the guid, note type, deck and tags columns are; of the
remaining columns the first is the front and the second the back, and any further note
fields are ignored. Without `#separator` the first data line decides: tab if it has
one, else comma. `#tags:` adds its tags to every row.

A field is HTML with `#html:true` and becomes text (line breaks kept, tags dropped,
entities decoded); without it the field is plain text. Either way MathJax's
`\\(…\\)` / `\\[…\\]` become Tutor's `$…$` / `$$…$$`.

This module knows the format only; reading the rows, and what a row must hold to become
a card, is csv_io.py's.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from html import unescape

import nh3

__all__ = [
    "AnkiLayout",
    "Header",
    "HeaderError",
    "anki_layout",
    "read_anki_headers",
    "text_of_anki_field",
]


# --- file headers ---------------------------------------------------------------------

_SEPARATORS = {
    "tab": "\t",
    "comma": ",",
    "semicolon": ";",
    "space": " ",
    "pipe": "|",
    "colon": ":",
}
_BOOLEANS = {"true": True, "false": False}
_COLUMNS = ("tags column", "guid column", "notetype column", "deck column")


@dataclass(frozen=True)
class Header:
    line: int  # 1-based line of the file; 0 for a default standing in for a missing one
    value: str


@dataclass(frozen=True)
class HeaderError:
    line: int
    message: str


@dataclass(frozen=True)
class AnkiLayout:
    """What the file headers say: the columns (0-based) and how to read the fields."""

    delimiter: str
    front: int
    back: int
    tags: int | None
    guid: int | None
    notetype: int | None
    min_columns: int  # the deck column counts too, though its value is ignored
    html: bool
    file_tags: tuple[str, ...]  # added to every row (the "#tags:" header)


def read_anki_headers(stream: io.StringIO) -> tuple[dict[str, Header], int]:
    """The `#key:value` headers by lower-case key, and how many lines the head takes.

    As in Anki, every leading line that starts with "#" belongs to the head; one
    without a key this module uses (`# vim: …`, `#deck:ML`) is a comment. The stream
    is left at the first line after the head.
    """
    headers: dict[str, Header] = {}
    line = 0
    while True:
        position = stream.tell()
        text = stream.readline()
        if not text.startswith("#"):
            stream.seek(position)
            return headers, line
        line += 1
        key, colon, value = text[1:].rstrip("\r\n").partition(":")
        if colon:
            headers[key.strip().lower()] = Header(line, value)


def anki_layout(headers: dict[str, Header], *, first_data_line: str) -> AnkiLayout | HeaderError:
    fallback = "\t" if "\t" in first_data_line else ","
    separator = headers.get("separator", Header(0, fallback))
    delimiter = _SEPARATORS.get(separator.value.strip().lower(), separator.value)
    if len(delimiter) != 1:
        return HeaderError(separator.line, f"Unknown separator {separator.value!r}.")
    html_header = headers.get("html", Header(0, "false"))
    is_html = _BOOLEANS.get(html_header.value.strip().lower())
    if is_html is None:
        return HeaderError(html_header.line, "#html must be true or false.")
    columns: dict[str, int] = {}
    for key in _COLUMNS:
        if key in headers:
            number = headers[key].value.strip()
            if not number.isdecimal() or int(number) < 1:
                return HeaderError(headers[key].line, f"#{key} must be a column number from 1.")
            columns[key] = int(number) - 1
    front, back = _field_columns(taken=set(columns.values()))
    return AnkiLayout(
        delimiter=delimiter,
        front=front,
        back=back,
        tags=columns.get("tags column"),
        guid=columns.get("guid column"),
        notetype=columns.get("notetype column"),
        min_columns=max(front, back, *columns.values()) + 1,
        html=is_html,
        file_tags=tuple(headers["tags"].value.split()) if "tags" in headers else (),
    )


def _field_columns(*, taken: set[int]) -> tuple[int, int]:
    """The first two columns no header claims: the note's first two fields."""
    free = (index for index in range(len(taken) + 2) if index not in taken)
    return next(free), next(free)


# --- field text -----------------------------------------------------------------------

# Tags that end a line in Anki's editor: <br> itself, and the blocks it wraps lines in.
_LINE_ENDING_TAGS = re.compile(r"<br\s*/?>|</(?:div|p|li|h[1-6]|tr)\s*>", re.IGNORECASE)
_STRIP_ALL_TAGS = nh3.Cleaner(tags=set())
# Not preceded by a backslash, so a LaTeX line break with spacing (`\\[2pt]`) stays.
_MATHJAX_DISPLAY = re.compile(r"(?<!\\)\\\[(.+?)(?<!\\)\\\]", re.DOTALL)
_MATHJAX_INLINE = re.compile(r"(?<!\\)\\\((.+?)(?<!\\)\\\)", re.DOTALL)


def text_of_anki_field(fragment: str, *, html: bool = True) -> str:
    """The text an Anki field imports as: HTML (`#html:true`, the default) or plain text."""
    text = _html_to_text(fragment) if html else fragment
    return _mathjax_to_dollars(text).strip()


def _html_to_text(fragment: str) -> str:
    with_line_breaks = _LINE_ENDING_TAGS.sub("\n", fragment)
    text = unescape(_STRIP_ALL_TAGS.clean(with_line_breaks))
    # Anki's editor writes &nbsp; for many ordinary spaces.
    return text.replace("\N{NO-BREAK SPACE}", " ")


def _mathjax_to_dollars(text: str) -> str:
    # Tutor's Markdown reads `\(` as an escaped parenthesis; and its `$…$` rule wants no
    # space inside the dollars, hence the strip.
    text = _MATHJAX_DISPLAY.sub(lambda match: f"$${match.group(1).strip()}$$", text)
    return _MATHJAX_INLINE.sub(lambda match: f"${match.group(1).strip()}$", text)
