"""What an Anki collection says about itself: creation time, time zone, decks, note types.

From schema 15 on (`collection.anki21b`) these are rows of the `notetypes`, `fields`,
`templates`, `decks` and `config` tables, with protobuf settings; before
(`collection.anki21`, `.anki2`), JSON in the `col` row. Either way they are reduced to
the same `Settings`.

Note types are the learner's own and their names are translated, so a note type is
recognised by its shape, not its name:

- `basic`: a standard note type with two fields (front, back) and one card template;
- `basic_reversed`: the same with two templates; and "Basic (optional reversed card)"
  (by its stock kind, or three fields with the second template conditional on the
  third) when the note's third field is not empty, as Anki tests it: only whitespace,
  `<br>` and `<div>` count as empty;
- `cloze`: a cloze note type whose first template shows `{{cloze:<first field>}}`, except
  Image Occlusion (a cloze type too), whose deletions are masks on an image;
- anything else is `unknown`.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Literal

from service.exchange.apkg_archive import damaged, protobuf_fields
from service.exchange.apkg_collection import cell_blob, cell_integer, cell_text, check_tables

__all__ = ["NoteKind", "NoteType", "Settings", "TypeKind", "note_kind", "read_settings"]

_COL = {"col": ("crt", "ver")}
_FIRST_TABLES_SCHEMA = 15  # note types, decks and config moved out of `col` here
_TABLES_SINCE_15 = {
    "notetypes": ("id", "name", "config"),
    "fields": ("ntid", "ord", "name"),
    "templates": ("ntid", "ord", "config"),
    "decks": ("id", "name", "kind"),
    "config": ("key", "val"),
}
_JSON_IN_COL = {"col": ("conf", "models", "decks")}


@dataclass(frozen=True)
class Settings:
    """What the collection says about itself, its note types and its decks."""

    created: int  # `crt`, a Unix time: review cards' due day numbers count from its date
    schema_version: int
    note_types: dict[int, NoteType]
    decks: dict[int, str]  # id → name with "::" between levels; filtered decks left out
    creation_offset: int | None  # minutes west of UTC where the collection was created


def read_settings(connection: sqlite3.Connection) -> Settings:
    """The settings of a collection in either schema, after checking their tables."""
    check_tables(connection, _COL)
    row = connection.execute("SELECT crt, ver FROM col LIMIT 1").fetchone()
    if row is None:
        raise damaged("its collection has no settings row")
    created, version = cell_integer(row[0]), cell_integer(row[1])
    if version < _FIRST_TABLES_SCHEMA:
        check_tables(connection, _JSON_IN_COL)
        return Settings(created, version, *_legacy_metadata(connection))
    check_tables(connection, _TABLES_SINCE_15)
    return Settings(
        created,
        version,
        note_types=_note_types(connection),
        decks=_decks(connection),
        creation_offset=_creation_offset(connection),
    )


# --- note types -----------------------------------------------------------------------

_NORMAL, _CLOZE = 0, 1
_STOCK_OPTIONAL_REVERSED, _STOCK_IMAGE_OCCLUSION = 3, 6
TypeKind = Literal["basic", "basic_reversed", "optional_reversed", "cloze", "unknown"]
NoteKind = Literal["basic", "basic_reversed", "cloze", "unknown"]


@dataclass(frozen=True)
class NoteType:
    """A note type reduced to what tells its kind."""

    name: str
    kind: int  # _NORMAL or _CLOZE
    stock_kind: int  # Anki's OriginalStockKind, 0 for note types older than 2.1.62
    fields: tuple[str, ...]
    questions: tuple[str, ...]  # each template's question format, by ord

    @property
    def recognised(self) -> TypeKind:
        """The kind its shape shows; `optional_reversed` leaves it to each note."""
        fields, questions = self.fields, self.questions
        if self.stock_kind == _STOCK_IMAGE_OCCLUSION or not fields or not questions:
            return "unknown"
        if self.kind == _CLOZE:
            pattern = r"\{\{\s*cloze:\s*" + re.escape(fields[0]) + r"\s*\}\}"
            return "cloze" if re.search(pattern, questions[0]) else "unknown"
        if self.kind != _NORMAL:
            return "unknown"
        optional = len(fields) == 3 and len(questions) == 2
        if self.stock_kind == _STOCK_OPTIONAL_REVERSED or (
            optional and questions[1].lstrip().startswith("{{#" + fields[2] + "}}")
        ):
            return "optional_reversed"
        if len(fields) == 2 and len(questions) in (1, 2):
            return "basic" if len(questions) == 1 else "basic_reversed"
        return "unknown"


# Anki's test for an empty field: nothing but whitespace, <br> and <div> tags.
_EMPTY_FIELD = re.compile(r"(?:\s|</?(?:br|div) ?/?>)*", re.IGNORECASE)


def note_kind(note_type: NoteType, fields: tuple[str, ...]) -> NoteKind:
    """The kind of one note of this type, with these fields."""
    kind = note_type.recognised
    if kind != "optional_reversed":
        return kind
    if len(fields) > 2 and not _EMPTY_FIELD.fullmatch(fields[2]):
        return "basic_reversed"
    return "basic"


# --- schema 15 and later: tables with protobuf settings ------------------------------


# No query compares or sorts the name columns: Anki declares them with its own `unicase`
# collation, which SQLite has only inside Anki ("no such collation sequence" here).
def _note_types(connection: sqlite3.Connection) -> dict[int, NoteType]:
    fields: defaultdict[int, list[tuple[int, str]]] = defaultdict(list)
    for ntid, ord_, name in connection.execute("SELECT ntid, ord, name FROM fields"):
        fields[cell_integer(ntid)].append((cell_integer(ord_), cell_text(name)))
    questions: defaultdict[int, list[tuple[int, str]]] = defaultdict(list)
    for ntid, ord_, config in connection.execute("SELECT ntid, ord, config FROM templates"):
        question = _last(protobuf_fields(cell_blob(config)), 1, b"")  # q_format
        text = question.decode("utf-8", "replace") if isinstance(question, bytes) else ""
        questions[cell_integer(ntid)].append((cell_integer(ord_), text))
    types = {}
    for ntid, name, config in connection.execute("SELECT id, name, config FROM notetypes"):
        settings = protobuf_fields(cell_blob(config))
        key = cell_integer(ntid)
        types[key] = NoteType(
            name=cell_text(name),
            kind=_number(_last(settings, 1, 0)),
            stock_kind=_number(_last(settings, 9, 0)),  # original_stock_kind
            fields=tuple(name for _, name in sorted(fields[key])),
            questions=tuple(text for _, text in sorted(questions[key])),
        )
    return types


def _last(fields: dict[int, list[int | bytes]], number: int, default: int | bytes) -> int | bytes:
    return fields.get(number, [default])[-1]  # protobuf: the last occurrence wins


def _number(value: int | bytes) -> int:
    return value if isinstance(value, int) else -1


def _decks(connection: sqlite3.Connection) -> dict[int, str]:
    names = {}
    for deck_id, name, kind in connection.execute("SELECT id, name, kind FROM decks"):
        if 2 not in protobuf_fields(cell_blob(kind)):  # field 2 (filtered) of the kind oneof
            names[cell_integer(deck_id)] = cell_text(name).replace("\x1f", "::")
    return names


def _creation_offset(connection: sqlite3.Connection) -> int | None:
    query = "SELECT val FROM config WHERE key = 'creationOffset'"
    row = connection.execute(query).fetchone()
    return None if row is None else _json_integer(_load_json(cell_text(row[0]), "settings"))


# --- before schema 15: JSON in the `col` row ------------------------------------------


def _legacy_metadata(
    connection: sqlite3.Connection,
) -> tuple[dict[int, NoteType], dict[int, str], int | None]:
    models_json, decks_json, conf_json = connection.execute(
        "SELECT models, decks, conf FROM col LIMIT 1"
    ).fetchone()  # read_settings found the row
    models = _json_object(cell_text(models_json), "note types")
    decks = _json_object(cell_text(decks_json), "decks")
    conf = _json_object(cell_text(conf_json), "settings")
    types = {_json_key(key): _legacy_note_type(model) for key, model in models.items()}
    names = {
        _json_key(key): _json_name(deck, "decks")
        for key, deck in decks.items()
        if not (isinstance(deck, dict) and deck.get("dyn"))  # filtered decks
    }
    return types, names, _json_integer(conf.get("creationOffset"))


def _legacy_note_type(model: object) -> NoteType:
    if not isinstance(model, dict):
        raise damaged("its note types cannot be read")
    fields, templates = model.get("flds"), model.get("tmpls")
    if not isinstance(fields, list) or not isinstance(templates, list):
        raise damaged("its note types cannot be read")
    return NoteType(
        name=_json_name(model, "note types"),
        kind=_json_integer(model.get("type")) or _NORMAL,
        stock_kind=_json_integer(model.get("originalStockKind")) or 0,
        fields=tuple(_json_name(field, "note types") for field in fields),
        questions=tuple(_json_question(template) for template in templates),
    )


def _load_json(text: str, what: str) -> Any:
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as error:  # RecursionError: nested too deeply
        raise damaged(f"its {what} cannot be read") from error


def _json_object(text: str, what: str) -> dict[str, Any]:
    value = _load_json(text, what)
    if not isinstance(value, dict):
        raise damaged(f"its {what} cannot be read")
    return value


def _json_key(key: str) -> int:
    if not key.lstrip("-").isdecimal():
        raise damaged("an id in its collection is not a number")
    return int(key)


def _json_name(value: object, what: str) -> str:
    name = value.get("name") if isinstance(value, dict) else None
    if not isinstance(name, str):
        raise damaged(f"its {what} cannot be read")
    return name


def _json_integer(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _json_question(template: object) -> str:
    question = template.get("qfmt") if isinstance(template, dict) else None
    return question if isinstance(question, str) else ""
