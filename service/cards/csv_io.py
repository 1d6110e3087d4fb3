"""Cards as delimited text: Tutor's own CSV out, and two formats in.

Export writes `front,back,kind,tags,status,source,due` with the `csv` module's standard
quoting, so commas, quotes and line breaks inside a card survive a round trip.

Import reads bytes that must be UTF-8 (a byte-order mark is accepted) and tells the two
formats apart by their first lines:

- Anki's "Notes in Plain Text" export starts with `#key:value` file headers
  (`#separator:tab`, `#html:true`, `#tags column:6`, …); as in Anki, every leading line
  starting with "#" is a header or a comment. The headers say where the guid, note
  type, deck and tags columns are; of the remaining columns the first is the front and
  the second the back, and any further note fields are ignored. Without `#separator`
  the first data line decides: tab if it has one, else comma. With `#html:true` fields
  are HTML and become text (line breaks kept, tags dropped, entities decoded); without
  it they are plain text. MathJax's `\\(…\\)` / `\\[…\\]` become Tutor's `$…$` / `$$…$$`.
- Otherwise a first line naming the columns `front` and `back` (and optionally `tags`),
  in any case and order, is the header of Tutor's CSV, separated by commas (or by tabs
  or semicolons, as some spreadsheets save it); other columns, such as kind and due,
  are ignored.
- A first line with a tab but no such header is Anki's export without file headers
  (older Anki versions): front, back and optionally tags, as plain text.
- Anything else is refused with one error on line 1 rather than guessed at: taking a
  header for a card, or a card for a header, would import something the learner never
  wrote, or silently drop a card.

A bad row is reported with the line it starts on, and the other rows still import.
Tags are split on whitespace. An empty back is allowed only on a cloze card (a front
with `{{c1::…}}`), whose back is optional extra information.
"""

from __future__ import annotations

import csv
import html
import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date

import nh3

__all__ = [
    "CSV_COLUMNS",
    "MAX_FIELD_CHARS",
    "CsvCard",
    "ImportRow",
    "NotUtf8",
    "ParsedImport",
    "RowError",
    "format_csv",
    "parse_cards",
]

CSV_COLUMNS = ("front", "back", "kind", "tags", "status", "source", "due")
MAX_FIELD_CHARS = 20_000


# --- export ---------------------------------------------------------------------------


@dataclass(frozen=True)
class CsvCard:
    front: str
    back: str
    kind: str
    tags: tuple[str, ...]
    status: str
    source: str | None
    due: date | None


def format_csv(cards: Iterable[CsvCard]) -> str:
    """Tutor's CSV, header first; tags space-separated, `due` as an ISO date or empty."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for card in cards:
        due = card.due.isoformat() if card.due else ""
        tags = " ".join(card.tags)
        writer.writerow(
            [card.front, card.back, card.kind, tags, card.status, card.source or "", due]
        )
    return out.getvalue()


# --- import: results ------------------------------------------------------------------


class NotUtf8(ValueError):
    """The uploaded file is not UTF-8 text."""


@dataclass(frozen=True)
class ImportRow:
    line: int  # 1-based line of the file the row starts on
    front: str
    back: str
    tags: tuple[str, ...]


@dataclass(frozen=True)
class RowError:
    line: int
    message: str


@dataclass(frozen=True)
class ParsedImport:
    rows: list[ImportRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)


def parse_cards(data: bytes) -> ParsedImport:
    """Cards from Tutor's CSV or Anki's plain-text export; raises NotUtf8."""
    stream = io.StringIO(_decode(data), newline="")
    headers, header_lines = _read_anki_headers(stream)
    if not header_lines:
        return _parse_without_anki_headers(stream)
    layout = _anki_layout(headers, first_data_line=_peek_line(stream))
    if isinstance(layout, RowError):
        return ParsedImport(errors=[layout])
    return _parse_rows(_records(stream, layout.delimiter, header_lines), layout)


def _decode(data: bytes) -> str:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise NotUtf8(
            f"The file is not UTF-8 text (byte {error.start + 1} cannot be read). "
            "Save it as UTF-8 (in a spreadsheet, choose 'CSV UTF-8') and import it again."
        ) from None
    # UTF-16 without a byte-order mark decodes as "UTF-8" with a NUL after every
    # ASCII letter; no card contains NUL, and PostgreSQL could not store it anyway.
    if "\x00" in text:
        raise NotUtf8(
            "The file is not UTF-8 text (it contains NUL characters, as UTF-16 text does). "
            "Save it as UTF-8 and import it again."
        )
    return text


# --- import: layouts ------------------------------------------------------------------


@dataclass(frozen=True)
class _Layout:
    """Where a format keeps front, back and tags (0-based), and how to read fields."""

    delimiter: str
    front: int
    back: int
    tags: int | None
    min_columns: int
    max_columns: int | None
    html: bool = False
    mathjax: bool = False  # fields come from Anki, with \(…\) / \[…\] math
    file_tags: tuple[str, ...] = ()  # added to every row (Anki's "#tags:" header)


def _peek_line(stream: io.StringIO) -> str:
    position = stream.tell()
    line = stream.readline()
    stream.seek(position)
    return line


# Semicolons are what spreadsheets write where the decimal separator is a comma.
_HEADER_DELIMITERS = (",", "\t", ";")


def _parse_without_anki_headers(stream: io.StringIO) -> ParsedImport:
    first_line = _peek_line(stream)
    if not first_line:
        return ParsedImport(errors=[RowError(1, "The file is empty.")])
    for delimiter in _HEADER_DELIMITERS:
        layout = _tutor_layout(_header_names(first_line, delimiter), delimiter)
        if layout is not None:
            records = _records(stream, delimiter, lines_before=0)
            next(records)  # the header
            return _parse_rows(records, layout)
    if "\t" in first_line:
        return _parse_rows(_records(stream, "\t", lines_before=0), _HEADERLESS_ANKI)
    return ParsedImport(errors=[RowError(1, _MISSING_HEADER)])


_MISSING_HEADER = (
    "The first line must be a header naming the columns front and back (tags optional), "
    "like: front,back,tags"
)

# Older Anki exports: no file headers, plain text, tags (when exported) last.
_HEADERLESS_ANKI = _Layout(
    delimiter="\t", front=0, back=1, tags=2, min_columns=2, max_columns=3, mathjax=True
)


def _header_names(line: str, delimiter: str) -> list[str]:
    try:
        cells = next(csv.reader([line], delimiter=delimiter))
    except csv.Error:  # a field over the reader's size limit: not a header anyway
        return []
    return [cell.strip().lower() for cell in cells]


def _tutor_layout(names: list[str], delimiter: str) -> _Layout | None:
    if "front" not in names or "back" not in names:
        return None
    return _Layout(
        delimiter=delimiter,
        front=names.index("front"),
        back=names.index("back"),
        tags=names.index("tags") if "tags" in names else None,
        min_columns=len(names),
        max_columns=len(names),
    )


# --- import: Anki's file headers ------------------------------------------------------

_SEPARATORS = {
    "tab": "\t",
    "comma": ",",
    "semicolon": ";",
    "space": " ",
    "pipe": "|",
    "colon": ":",
}
_BOOLEANS = {"true": True, "false": False}
_SKIPPED_COLUMNS = ("guid column", "notetype column", "deck column")


@dataclass(frozen=True)
class _Header:
    line: int
    value: str


def _read_anki_headers(stream: io.StringIO) -> tuple[dict[str, _Header], int]:
    """The `#key:value` headers by lower-case key, and how many lines the head takes.

    As in Anki, every leading line that starts with "#" belongs to the head; one
    without a key this module uses (`# vim: …`, `#deck:ML`) is a comment.
    """
    headers: dict[str, _Header] = {}
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
            headers[key.strip().lower()] = _Header(line, value)


def _anki_layout(headers: dict[str, _Header], *, first_data_line: str) -> _Layout | RowError:
    fallback = "\t" if "\t" in first_data_line else ","
    separator = headers.get("separator", _Header(0, fallback))
    delimiter = _SEPARATORS.get(separator.value.strip().lower(), separator.value)
    if len(delimiter) != 1:
        return RowError(separator.line, f"Unknown separator {separator.value!r}.")
    html_header = headers.get("html", _Header(0, "false"))
    is_html = _BOOLEANS.get(html_header.value.strip().lower())
    if is_html is None:
        return RowError(html_header.line, "#html must be true or false.")
    columns: dict[str, int] = {}
    for key in ("tags column", *_SKIPPED_COLUMNS):
        if key in headers:
            number = headers[key].value.strip()
            if not number.isdecimal() or int(number) < 1:
                return RowError(headers[key].line, f"#{key} must be a column number from 1.")
            columns[key] = int(number) - 1
    front, back = _field_columns(taken=set(columns.values()))
    return _Layout(
        delimiter=delimiter,
        front=front,
        back=back,
        tags=columns.get("tags column"),
        min_columns=max(front, back, *columns.values()) + 1,
        max_columns=None,  # Anki pads every row to its widest note type; extras are fields
        html=is_html,
        mathjax=True,
        file_tags=tuple(headers["tags"].value.split()) if "tags" in headers else (),
    )


def _field_columns(*, taken: set[int]) -> tuple[int, int]:
    """The first two columns no header claims: the note's first two fields."""
    free = (index for index in range(len(taken) + 2) if index not in taken)
    return next(free), next(free)


# --- import: records and rows ---------------------------------------------------------


@dataclass(frozen=True)
class _Record:
    line: int
    cells: list[str]
    error: str | None = None


def _records(stream: io.StringIO, delimiter: str, lines_before: int) -> Iterator[_Record]:
    reader = csv.reader(stream, delimiter=delimiter)
    previous_end = 0
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            # The reader raises on a field over its size limit (131,072 characters);
            # it resumes on the next line, so one bad row does not stop the file.
            yield _Record(lines_before + previous_end + 1, [], _csv_error_message(error))
        else:
            yield _Record(lines_before + previous_end + 1, cells)
        previous_end = reader.line_num


def _csv_error_message(error: csv.Error) -> str:
    if "field limit" in str(error):
        return f"A field is longer than {MAX_FIELD_CHARS:,} characters."
    return f"The row cannot be read: {error}."


def _parse_rows(records: Iterable[_Record], layout: _Layout) -> ParsedImport:
    result = ParsedImport()
    for record in records:
        if record.error is None and not any(cell.strip() for cell in record.cells):
            continue  # a blank line
        row = _row(record, layout)
        if isinstance(row, RowError):
            result.errors.append(row)
        else:
            result.rows.append(row)
    return result


def _row(record: _Record, layout: _Layout) -> ImportRow | RowError:
    problem = record.error or _shape_problem(record.cells, layout)
    if problem:
        return RowError(record.line, problem)
    front = _field_text(record.cells[layout.front], layout)
    back = _field_text(record.cells[layout.back], layout)
    if not front:
        return RowError(record.line, "The front is empty.")
    if not back and not _CLOZE_DELETION.search(front):
        return RowError(
            record.line, "The back is empty (only a cloze card, with {{c1::…}}, may omit it)."
        )
    return ImportRow(line=record.line, front=front, back=back, tags=_tags(record, layout))


def _tags(record: _Record, layout: _Layout) -> tuple[str, ...]:
    cell = ""
    # Older Anki exports have a tags column only when tags were exported.
    if layout.tags is not None and layout.tags < len(record.cells):
        cell = record.cells[layout.tags]
    return tuple(dict.fromkeys((*cell.split(), *layout.file_tags)))


_CLOZE_DELETION = re.compile(r"\{\{c\d+::")


def _shape_problem(cells: list[str], layout: _Layout) -> str | None:
    count, low, high = len(cells), layout.min_columns, layout.max_columns
    if low == high and count != low:
        return f"Expected {low} columns, found {count}."
    if count < low:
        return f"Expected at least {low} columns, found {count}."
    if high is not None and count > high:
        return f"Expected at most {high} columns, found {count}."
    if any(len(cell) > MAX_FIELD_CHARS for cell in cells):
        return f"A field is longer than {MAX_FIELD_CHARS:,} characters."
    return None


# --- import: Anki field text ----------------------------------------------------------

# Tags that end a line in Anki's editor: <br> itself, and the blocks it wraps lines in.
_LINE_ENDING_TAGS = re.compile(r"<br\s*/?>|</(?:div|p|li|h[1-6]|tr)\s*>", re.IGNORECASE)
_STRIP_ALL_TAGS = nh3.Cleaner(tags=set())
# Not preceded by a backslash, so a LaTeX line break with spacing (`\\[2pt]`) stays.
_MATHJAX_DISPLAY = re.compile(r"(?<!\\)\\\[(.+?)(?<!\\)\\\]", re.DOTALL)
_MATHJAX_INLINE = re.compile(r"(?<!\\)\\\((.+?)(?<!\\)\\\)", re.DOTALL)


def _field_text(cell: str, layout: _Layout) -> str:
    text = _html_to_text(cell) if layout.html else cell
    return _mathjax_to_dollars(text).strip() if layout.mathjax else text.strip()


def _html_to_text(fragment: str) -> str:
    with_line_breaks = _LINE_ENDING_TAGS.sub("\n", fragment)
    text = html.unescape(_STRIP_ALL_TAGS.clean(with_line_breaks))
    # Anki's editor writes &nbsp; for many ordinary spaces.
    return text.replace("\N{NO-BREAK SPACE}", " ")


def _mathjax_to_dollars(text: str) -> str:
    # Tutor's Markdown reads `\(` as an escaped parenthesis; and its `$…$` rule wants no
    # space inside the dollars, hence the strip.
    text = _MATHJAX_DISPLAY.sub(lambda match: f"$${match.group(1).strip()}$$", text)
    return _MATHJAX_INLINE.sub(lambda match: f"${match.group(1).strip()}$", text)
