"""Cards as delimited text: Tutor's own CSV out, and two formats in.

Export writes `front,back,kind,tags,status,source,due` with the `csv` module's standard
quoting, so commas, quotes and line breaks inside a card survive a round trip.

Import reads bytes that must be UTF-8 (a byte-order mark is accepted) and tells the two
formats apart by their first lines:

- Anki's "Notes in Plain Text" export starts with `#key:value` file headers; what they
  say, and how its HTML and MathJax fields become text, is anki_text.py's. A row's GUID
  (at most `MAX_GUID_CHARS`) names the note, so that importing it again updates the
  card it became (cards/exchange.py); the deck column is ignored.
- Otherwise a first line naming the columns `front` and `back` (and optionally `tags`),
  in any case and order, is the header of Tutor's CSV, separated by commas (or by tabs
  or semicolons, as some spreadsheets save it); other columns, such as status and due,
  are ignored.
- A first line with a tab but no such header is Anki's export without file headers
  (older Anki versions): front, back and optionally tags, as plain text.
- Anything else is refused with one error on line 1 rather than guessed at: taking a
  header for a card, or a card for a header, would import something the learner never
  wrote, or silently drop a card.

A bad row is reported with the line it starts on, and the other rows still import.
Tags are split on whitespace. A card is a cloze card when its front has a deletion
(`{{c1::…}}`, as cloze.py parses it), and then its back is optional extra. A row meant
as a cloze card that hides nothing is an error, since it could not be reviewed
(quality.lacks_deletion): its kind column (Tutor's CSV) or note type (Anki's, a name
with "cloze") says cloze, or its front opens a deletion without making one
(`{{c0::…}}`, `{{c1::` never closed, `{{c1::}}`).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date

from service.cards.quality import WRITE_A_DELETION, lacks_deletion
from service.exchange.anki_text import (
    AnkiLayout,
    HeaderError,
    anki_layout,
    read_anki_headers,
    text_of_anki_field,
)

__all__ = [
    "CSV_COLUMNS",
    "MAX_FIELD_CHARS",
    "MAX_GUID_CHARS",
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
MAX_GUID_CHARS = 64  # the width of cards.anki_guid; Anki's own GUIDs have 10


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
    guid: str | None = None  # the Anki note's GUID, from Anki's "#guid column"
    # False when the row has no tags column: updating a card then keeps its tags.
    tags_given: bool = True


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
    headers, header_lines = read_anki_headers(stream)
    if not header_lines:
        return _parse_without_anki_headers(stream)
    anki = anki_layout(headers, first_data_line=_peek_line(stream))
    if isinstance(anki, HeaderError):
        return ParsedImport(errors=[RowError(anki.line, anki.message)])
    layout = _layout_of_anki(anki)
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
    guid: int | None = None
    kind: int | None = None  # a column saying "cloze" (Tutor's kind, Anki's note type)
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
        kind=names.index("kind") if "kind" in names else None,
        min_columns=len(names),
        max_columns=len(names),
    )


def _layout_of_anki(anki: AnkiLayout) -> _Layout:
    return _Layout(
        delimiter=anki.delimiter,
        front=anki.front,
        back=anki.back,
        tags=anki.tags,
        guid=anki.guid,
        kind=anki.notetype,
        min_columns=anki.min_columns,
        max_columns=None,  # Anki pads every row to its widest note type; extras are fields
        html=anki.html,
        mathjax=True,
        file_tags=anki.file_tags,
    )


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
    meant_as_cloze = _says_cloze(record, layout) or _CLOZE_OPENING.search(front) is not None
    if meant_as_cloze and lacks_deletion(front):
        return RowError(record.line, WRITE_A_DELETION)
    if not back and not meant_as_cloze:
        return RowError(
            record.line, "The back is empty (only a cloze card, with {{c1::…}}, may omit it)."
        )
    guid = _cell(record, layout.guid).strip() or None
    if guid is not None and len(guid) > MAX_GUID_CHARS:
        return RowError(record.line, f"The GUID is longer than {MAX_GUID_CHARS} characters.")
    # Older Anki exports have a tags column only when tags were exported.
    tags_given = layout.tags is not None and layout.tags < len(record.cells)
    tags = _cell(record, layout.tags).split()
    return ImportRow(
        line=record.line,
        front=front,
        back=back,
        tags=tuple(dict.fromkeys((*tags, *layout.file_tags))),
        guid=guid,
        tags_given=tags_given,
    )


def _cell(record: _Record, column: int | None) -> str:
    """The row's cell in `column`; empty when the layout or the row has no such column."""
    return record.cells[column] if column is not None and column < len(record.cells) else ""


def _says_cloze(record: _Record, layout: _Layout) -> bool:
    return "cloze" in _cell(record, layout.kind).casefold()


_CLOZE_OPENING = re.compile(r"\{\{c\d+::")


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


def _field_text(cell: str, layout: _Layout) -> str:
    # Only Anki's layouts read MathJax, and only they may be HTML (so html implies mathjax).
    if layout.mathjax:
        return text_of_anki_field(cell, html=layout.html)
    return cell.strip()
