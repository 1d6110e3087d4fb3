"""read_package: packages the real Anki backend exports, and hostile uploads.

The packages come from the official `anki` package (Anki desktop's backend): a fresh
collection with notes of the stock note types and one of the learner's own, cards
answered, suspended and buried with Anki's own scheduler, then each export Anki offers
(.apkg modern and "Support older Anki versions", .colpkg both ways). What the reader
returns is compared with what Anki itself says about the same cards.

The hostile packages are built by hand with zipfile, zstandard and sqlite3.
"""

from __future__ import annotations

import io
import random
import sqlite3
import struct
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import pytest
import zstandard
from anki.collection import Collection, ExportAnkiPackageOptions
from anki.notes import Note

from anki_decks import add_note, add_vocab_note_type
from service.exchange.apkg_reader import AnkiPackage, PackageError, PackageNote, read_package

if TYPE_CHECKING:
    # Only for annotations: importing anki.cards before anki.collection is circular.
    from anki.cards import Card

SQL_FRONT = "Robert'); DROP TABLE notes; --"
SQL_BACK = "<b>1</b> OR 1=1; SELECT * FROM cards WHERE '' = ''"
CLOZE_TEXT = r"{{c1::\(E = mc^2\)}} relates {{c2::mass::what?}} to energy"

MODERN_META = b"\x08\x03"  # PackageMetadata{version: VERSION_LATEST}
LEGACY_META = b"\x08\x02"  # PackageMetadata{version: VERSION_LEGACY_2}


# --- packages from Anki ---------------------------------------------------------------


@dataclass(frozen=True)
class AnkiCardFacts:
    """What Anki says about one card just before the export."""

    ord: int
    type: int
    queue: int
    due: int
    ivl: int
    factor: int
    reps: int
    lapses: int
    stability: float | None
    eases: tuple[int, ...]


@dataclass(frozen=True)
class Exports:
    packages: dict[str, bytes]
    guids: dict[str, str]  # our name for a note → its guid
    modified: dict[str, int]  # our name for a note → its `mod`, as Anki has it
    cards: dict[int, AnkiCardFacts]
    # The calendar date of Anki's "today" and its day number: a review card due on day
    # N is due on today_date + (N - today).
    today: int
    today_date: date
    created: int  # the collection's crt


def answer(col: Collection, card: Card, ease: Literal[1, 2, 3, 4]) -> None:
    card.start_timer()  # answerCard logs the time taken since
    col.sched.answerCard(card, ease)


def build_notes(col: Collection) -> dict[str, Note]:
    add_vocab_note_type(col)
    return {
        "basic": add_note(col, "Basic", [SQL_FRONT, SQL_BACK], "Physics", ["physics", "sql"]),
        "reversed": add_note(
            col, "Basic (and reversed card)", ["Capital of France?", "Paris"], "A::B", []
        ),
        "optional_on": add_note(
            col, "Basic (optional reversed card)", ["Ohm's law", "V = IR", "y"], "A::B", []
        ),
        "optional_off": add_note(
            col, "Basic (optional reversed card)", ["Joule", "J", "<div><br></div>"], "A::B", []
        ),
        "cloze": add_note(col, "Cloze", [CLOZE_TEXT, "Einstein"], "Physics", ["physics"]),
        "vocab": add_note(col, "Vocab", ["Hund", "dog", "Der Hund bellt."], "Physics", []),
    }


def study(col: Collection, notes: dict[str, Note]) -> None:
    basic = notes["basic"].cards()[0]
    answer(col, basic, 4)  # new → review, SM-2
    forward, backward = notes["reversed"].cards()
    col.sched.set_due_date([forward.id], "0")  # a manual entry (ease 0) in the log
    forward.load()
    answer(col, forward, 1)  # a lapse: relearning, due within the day
    col.sched.suspend_cards([backward.id])
    first, second = notes["cloze"].cards()
    answer(col, first, 3)  # learning
    col.sched.bury_cards([second.id], manual=True)
    col.set_config("fsrs", True)
    answer(col, notes["optional_on"].cards()[0], 4)  # review, with an FSRS memory state


def edit_after_adding(col: Collection, note: Note) -> None:
    """Edit a field once the clock has left the second the note was added in."""
    # `mod` counts seconds and the note's id its creation in milliseconds: without the
    # wait, both could name the same second and the test could not tell them apart.
    added = note.id / 1000
    time.sleep(max(0.0, int(added) + 1.01 - time.time()))
    note.fields[1] = "Paris, since 508"
    col.update_note(note)


def card_facts(col: Collection) -> dict[int, AnkiCardFacts]:
    assert col.db is not None
    facts: dict[int, AnkiCardFacts] = {}
    for card_id in col.find_cards(""):
        card = col.get_card(card_id)
        eases = col.db.list("SELECT ease FROM revlog WHERE cid = ? ORDER BY id", card_id)
        facts[card_id] = AnkiCardFacts(
            ord=card.ord,
            type=card.type,
            queue=card.queue,
            due=card.due,
            ivl=card.ivl,
            factor=card.factor,
            reps=card.reps,
            lapses=card.lapses,
            stability=card.memory_state.stability if card.memory_state else None,
            eases=tuple(eases),
        )
    return facts


def export_apkg(col: Collection, path: Path, *, legacy: bool, scheduling: bool = True) -> bytes:
    options = ExportAnkiPackageOptions(
        with_scheduling=scheduling, with_deck_configs=False, with_media=False, legacy=legacy
    )
    col.export_anki_package(out_path=str(path), options=options, limit=None)
    return path.read_bytes()


@pytest.fixture(scope="module")
def exports(tmp_path_factory: pytest.TempPathFactory) -> Exports:
    directory = tmp_path_factory.mktemp("anki")
    col = Collection(str(directory / "collection.anki2"))
    try:
        notes = build_notes(col)
        study(col, notes)
        edit_after_adding(col, notes["reversed"])
        modified = {name: col.get_note(added.id).mod for name, added in notes.items()}
        rollover = int(col.get_config("rollover", 4))
        facts = card_facts(col)
        today = col.sched.today
        created = col.crt
        packages = {
            "apkg": export_apkg(col, directory / "modern.apkg", legacy=False),
            "apkg-legacy": export_apkg(col, directory / "legacy.apkg", legacy=True),
            "apkg-unscheduled": export_apkg(
                col, directory / "unscheduled.apkg", legacy=False, scheduling=False
            ),
        }
        col.export_collection_package(str(directory / "modern.colpkg"), False, False)
        packages["colpkg"] = (directory / "modern.colpkg").read_bytes()
        col.reopen()
        col.export_collection_package(str(directory / "legacy.colpkg"), False, True)
        packages["colpkg-legacy"] = (directory / "legacy.colpkg").read_bytes()
    finally:
        if col.db is not None:
            col.close()
    return Exports(
        packages=packages,
        guids={name: note.guid for name, note in notes.items()},
        modified=modified,
        cards=facts,
        today=today,
        today_date=(datetime.now().astimezone() - timedelta(hours=rollover)).date(),
        created=created,
    )


SCHEDULED = ["apkg", "apkg-legacy", "colpkg", "colpkg-legacy"]


@pytest.fixture(params=SCHEDULED)
def package(request: pytest.FixtureRequest, exports: Exports) -> AnkiPackage:
    return read_package(exports.packages[request.param])


def note(package: AnkiPackage, exports: Exports, name: str) -> PackageNote:
    [found] = [note for note in package.notes if note.guid == exports.guids[name]]
    return found


@pytest.mark.parametrize(
    ("name", "collection", "schema"),
    [
        ("apkg", "collection.anki21b", 18),
        ("apkg-legacy", "collection.anki21", 11),
        ("colpkg", "collection.anki21b", 18),
        ("colpkg-legacy", "collection.anki21", 11),
    ],
)
def test_reads_the_newest_collection_not_the_dummy(
    exports: Exports, name: str, collection: str, schema: int
) -> None:
    # Every export also holds a dummy collection.anki2 asking to update Anki.
    with zipfile.ZipFile(io.BytesIO(exports.packages[name])) as archive:
        assert "collection.anki2" in archive.namelist()
    package = read_package(exports.packages[name])
    assert (package.collection, package.schema_version) == (collection, schema)
    assert package.created_at == datetime.fromtimestamp(exports.created, UTC)
    assert len(package.notes) == 6


def test_note_kinds_come_from_the_note_types_shape(package: AnkiPackage, exports: Exports) -> None:
    kinds = {name: note(package, exports, name).kind for name in exports.guids}
    assert kinds == {
        "basic": "basic",
        "reversed": "basic_reversed",
        "optional_on": "basic_reversed",
        "optional_off": "basic",  # its "Add Reverse" holds only <div><br></div>
        "cloze": "cloze",
        "vocab": "unknown",
    }
    assert note(package, exports, "vocab").note_type == "Vocab"
    assert note(package, exports, "optional_on").note_type == "Basic (optional reversed card)"


def test_unknown_note_types_are_reported(package: AnkiPackage) -> None:
    assert package.problems == ("1 note of unknown note type 'Vocab'",)


def test_fields_and_tags_are_text_even_when_they_look_like_sql(
    package: AnkiPackage, exports: Exports
) -> None:
    basic = note(package, exports, "basic")
    assert basic.fields == (SQL_FRONT, SQL_BACK)
    assert basic.tags == ("physics", "sql")
    assert note(package, exports, "cloze").fields == (CLOZE_TEXT, "Einstein")
    assert note(package, exports, "vocab").fields == ("Hund", "dog", "Der Hund bellt.")


def test_modification_times_are_as_anki_has_them(package: AnkiPackage, exports: Exports) -> None:
    for name, mod in exports.modified.items():
        assert note(package, exports, name).modified_at == datetime.fromtimestamp(mod, UTC)
    edited = note(package, exports, "reversed")
    assert edited.fields == ("Capital of France?", "Paris, since 508")
    assert edited.modified_at is not None
    # Edited after it was added: the time is the edit's, not the note's creation.
    assert edited.modified_at > datetime.fromtimestamp(edited.id / 1000, UTC)
    assert abs(edited.modified_at - datetime.now(UTC)) < timedelta(minutes=10)


def test_decks_nested_and_per_note(package: AnkiPackage, exports: Exports) -> None:
    # The empty Default deck every collection has is left out, as Anki hides it.
    assert package.decks == ("A", "A::B", "Physics")
    assert note(package, exports, "basic").deck == "Physics"
    assert note(package, exports, "reversed").deck == "A::B"


def test_cards_are_as_anki_has_them(package: AnkiPackage, exports: Exports) -> None:
    cards = {card.id: card for note in package.notes for card in note.cards}
    assert cards.keys() == exports.cards.keys()
    for card_id, anki in exports.cards.items():
        card = cards[card_id]
        assert (card.ord, card.type, card.queue, card.due) == (
            anki.ord,
            anki.type,
            anki.queue,
            anki.due,
        )
        assert (card.interval, card.ease_factor, card.reps, card.lapses) == (
            anki.ivl,
            anki.factor,
            anki.reps,
            anki.lapses,
        )
        assert tuple(review.ease for review in card.reviews) == anki.eases


def test_due_dates_and_times(package: AnkiPackage, exports: Exports) -> None:
    [basic] = note(package, exports, "basic").cards
    assert (basic.type, basic.queue, basic.ease_factor) == (2, 2, 2500)
    assert basic.interval >= 3  # Anki's easy interval, 4 days, give or take its fuzz
    assert basic.due_date == exports.today_date + timedelta(days=basic.due - exports.today)
    assert basic.due_at is None
    forward, backward = note(package, exports, "reversed").cards
    assert (forward.type, forward.queue, forward.lapses) == (3, 1, 1)  # relearning
    assert forward.due_at == datetime.fromtimestamp(forward.due, UTC)
    assert forward.due_date is None
    assert backward.suspended
    assert (backward.due_date, backward.due_at) == (None, None)
    first, second = note(package, exports, "cloze").cards
    assert (first.ord, first.queue, second.ord) == (0, 1, 1)
    assert first.due_at is not None
    assert first.due_at > datetime.now(UTC)
    assert second.buried
    assert second.queue == -3


def test_review_log_keeps_manual_entries_flagged(package: AnkiPackage, exports: Exports) -> None:
    [basic] = note(package, exports, "basic").cards
    assert [(review.ease, review.kind, review.manual) for review in basic.reviews] == [
        (4, "learn", False)
    ]
    forward, _ = note(package, exports, "reversed").cards
    assert [(review.ease, review.kind, review.manual) for review in forward.reviews] == [
        (0, "manual", True),  # the due date set by hand
        (1, "review", False),
    ]
    lapse = forward.reviews[1]
    assert lapse.reviewed_at is not None
    assert abs(lapse.reviewed_at - datetime.now(UTC)) < timedelta(minutes=10)
    assert lapse.reviewed_at == datetime.fromtimestamp(lapse.id / 1000, UTC)


def test_fsrs_memory_state(package: AnkiPackage, exports: Exports) -> None:
    reviewed = note(package, exports, "optional_on").cards[0]
    anki = exports.cards[reviewed.id]
    assert reviewed.memory is not None
    assert reviewed.memory.stability == pytest.approx(anki.stability, abs=1e-3)
    assert 1 <= reviewed.memory.difficulty <= 10
    assert reviewed.memory.desired_retention == pytest.approx(0.9)
    assert note(package, exports, "basic").cards[0].memory is None  # answered under SM-2


def test_export_without_scheduling_has_new_cards_only(exports: Exports) -> None:
    package = read_package(exports.packages["apkg-unscheduled"])
    cards = [card for note in package.notes for card in note.cards]
    assert len(cards) == len(exports.cards)
    assert {(card.type, card.queue) for card in cards} == {(0, 0)}
    assert not any(card.reviews or card.due_date or card.due_at for card in cards)


# --- hand-made packages ---------------------------------------------------------------


def zip_of(members: dict[str, bytes], compression: int = zipfile.ZIP_STORED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()


def member(package: bytes, name: str) -> bytes:
    with zipfile.ZipFile(io.BytesIO(package)) as archive:
        return archive.read(name)


@pytest.fixture(scope="module")
def legacy_collection(exports: Exports) -> bytes:
    """A real collection.anki21 (schema 11, plain SQLite) to modify."""
    return member(exports.packages["apkg-legacy"], "collection.anki21")


def legacy_package(collection: bytes) -> bytes:
    return zip_of({"meta": LEGACY_META, "collection.anki21": collection})


def modified(collection: bytes, directory: Path, sql: str) -> bytes:
    path = directory / "modified.anki21"
    path.write_bytes(collection)
    with sqlite3.connect(path) as connection:
        connection.executescript(sql)
    connection.close()
    return path.read_bytes()


def refused(data: bytes, **limits: int) -> str:
    with pytest.raises(PackageError) as caught:
        read_package(data, **limits)
    return str(caught.value)


@pytest.fixture
def private_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The temporary directory the reader uses, checked to be left empty."""
    directory = tmp_path / "tmp"
    directory.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(directory))
    yield directory
    assert list(directory.iterdir()) == []


@pytest.mark.parametrize("data", [b"", b"hello", b"%PDF-1.7\n", bytes(range(256)) * 10])
def test_not_a_zip(data: bytes) -> None:
    assert "not a zip archive" in refused(data)


def test_a_zip_without_a_collection(private_tmp: Path) -> None:
    message = refused(zip_of({"media": b"{}", "0": b"\x89PNG", "notes.txt": b"hello"}))
    assert "holds no Anki collection" in message
    assert "holds no Anki collection" in refused(zip_of({}))


def test_member_names_are_never_paths(
    legacy_collection: bytes, tmp_path: Path, private_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    work = tmp_path / "work" / "deeper"
    work.mkdir(parents=True)
    monkeypatch.chdir(work)
    traversal = {
        "../collection.anki21": legacy_collection,
        "/collection.anki21": legacy_collection,
        "../../etc/passwd": b"root:x:0:0",
        "sub/collection.anki2": legacy_collection,
    }
    assert "holds no Anki collection" in refused(zip_of(traversal))
    # Beside a real collection, such members are ignored, not extracted.
    package = read_package(zip_of({**traversal, "collection.anki21": legacy_collection}))
    assert len(package.notes) == 6
    assert sorted(path.name for path in tmp_path.rglob("*")) == ["deeper", "tmp", "work"]


def test_a_deflate_bomb_is_stopped_while_streaming(private_tmp: Path) -> None:
    bomb = zip_of({"collection.anki21": bytes(8 << 20)}, zipfile.ZIP_DEFLATED)
    assert len(bomb) < 20_000
    assert "more than 1 MiB" in refused(bomb, max_bytes=1 << 20)


def with_central_header(
    package: bytes, *, size: int | None = None, flags: int | None = None, version: int | None = None
) -> bytes:
    """The zip with its first central directory entry rewritten to lie."""
    data = bytearray(package)
    entry = data.index(b"PK\x01\x02")
    if version is not None:
        data[entry + 6] = version  # the zip version needed to extract it
    if flags is not None:
        struct.pack_into("<H", data, entry + 8, flags)
    if size is not None:
        struct.pack_into("<I", data, entry + 24, size)
    return bytes(data)


def test_a_header_that_lies_about_the_size_is_not_trusted(private_tmp: Path) -> None:
    bomb = zip_of({"collection.anki21": bytes(8 << 20)}, zipfile.ZIP_DEFLATED)
    # Declaring 100 bytes or 4 GiB changes nothing: output is counted as it comes.
    assert "damaged" in refused(with_central_header(bomb, size=100))
    assert "more than 1 MiB" in refused(
        with_central_header(bomb, size=2**32 - 2), max_bytes=1 << 20
    )


def test_a_zstd_bomb_without_a_declared_size_is_stopped(private_tmp: Path) -> None:
    compressor = zstandard.ZstdCompressor(write_content_size=False)
    frame = compressor.compress(bytes(8 << 20))
    assert len(frame) < 2_000
    bomb = zip_of({"meta": MODERN_META, "collection.anki21b": frame})
    assert "more than 1 MiB" in refused(bomb, max_bytes=1 << 20)


def test_a_collection_that_is_not_zstd(private_tmp: Path) -> None:
    package = zip_of({"meta": MODERN_META, "collection.anki21b": b"SQLite format 3\x00" * 64})
    assert "damaged" in refused(package)


def test_compression_and_encryption_anki_never_uses(legacy_collection: bytes) -> None:
    bzip2 = zip_of({"collection.anki21": legacy_collection}, zipfile.ZIP_BZIP2)
    assert "method Anki does not use" in refused(bzip2)
    encrypted = with_central_header(zip_of({"collection.anki21": legacy_collection}), flags=1)
    assert "encrypted" in refused(encrypted)


def test_a_zip_needing_a_newer_zip_version(legacy_collection: bytes) -> None:
    package = with_central_header(zip_of({"collection.anki21": legacy_collection}), version=200)
    assert "not a zip archive" in refused(package)


def test_a_package_from_a_newer_anki(legacy_collection: bytes) -> None:
    package = zip_of({"meta": b"\x08\x04", "collection.anki21": legacy_collection})
    assert "newer version of Anki" in refused(package)


def test_meta_naming_a_collection_the_package_lacks(exports: Exports) -> None:
    dummy = member(exports.packages["apkg"], "collection.anki2")
    package = zip_of({"meta": MODERN_META, "collection.anki2": dummy})
    assert "it has no collection.anki21b" in refused(package)


def test_without_meta_the_newest_collection_is_read(
    exports: Exports, legacy_collection: bytes
) -> None:
    dummy = member(exports.packages["apkg"], "collection.anki2")
    package = read_package(
        zip_of({"collection.anki2": dummy, "collection.anki21": legacy_collection})
    )
    assert (package.collection, len(package.notes)) == ("collection.anki21", 6)
    # A package from Anki 2.1.49 or older with only collection.anki2: the dummy here.
    [only] = read_package(zip_of({"collection.anki2": dummy})).notes
    assert "Please update" in only.fields[0]


@pytest.mark.parametrize(
    "collection",
    [
        pytest.param(b"not a database at all", id="not-sqlite"),
        pytest.param(b"SQLite format 3\x00" + random.Random(1).randbytes(8192), id="garbage"),
    ],
)
def test_a_corrupt_collection(collection: bytes, private_tmp: Path) -> None:
    assert "damaged" in refused(legacy_package(collection))


def test_a_truncated_collection(legacy_collection: bytes, private_tmp: Path) -> None:
    truncated = legacy_collection[: len(legacy_collection) // 3]
    assert "damaged" in refused(legacy_package(truncated))


def test_a_database_that_is_not_an_anki_collection(tmp_path: Path) -> None:
    other = modified(b"", tmp_path, "CREATE TABLE recipes (name TEXT);")
    assert "it has no table 'col'" in refused(legacy_package(other))


def test_a_collection_missing_a_column(legacy_collection: bytes, tmp_path: Path) -> None:
    collection = modified(
        legacy_collection,
        tmp_path,
        "DROP INDEX ix_cards_sched; ALTER TABLE cards DROP COLUMN queue;",
    )
    assert "its table 'cards' has no stored column 'queue'" in refused(legacy_package(collection))


def test_triggers_and_views_in_the_file_never_run(legacy_collection: bytes, tmp_path: Path) -> None:
    collection = modified(
        legacy_collection,
        tmp_path,
        """
        CREATE TABLE audit (at TEXT);
        CREATE TRIGGER notes_read AFTER UPDATE ON notes BEGIN INSERT INTO audit VALUES (1); END;
        CREATE VIEW everything AS SELECT * FROM notes, cards, revlog;
        """,
    )
    package = read_package(legacy_package(collection))
    assert len(package.notes) == 6


def test_a_view_in_place_of_a_table_is_refused(legacy_collection: bytes, tmp_path: Path) -> None:
    collection = modified(
        legacy_collection,
        tmp_path,
        """
        ALTER TABLE notes RENAME TO real_notes;
        CREATE VIEW notes AS SELECT a.* FROM real_notes a, real_notes b, real_notes c;
        """,
    )
    assert "it has no table 'notes'" in refused(legacy_package(collection))


def test_a_generated_column_is_refused(legacy_collection: bytes, tmp_path: Path) -> None:
    # Computed on every read: a small file could produce a gigabyte per row.
    collection = modified(
        legacy_collection,
        tmp_path,
        """
        ALTER TABLE notes DROP COLUMN flds;
        ALTER TABLE notes ADD COLUMN flds TEXT GENERATED ALWAYS AS (hex(zeroblob(1000000)));
        """,
    )
    assert "no stored column 'flds'" in refused(legacy_package(collection))


def test_a_value_of_the_wrong_type(legacy_collection: bytes, tmp_path: Path) -> None:
    collection = modified(legacy_collection, tmp_path, "UPDATE cards SET due = 'tomorrow';")
    assert "is not a number" in refused(legacy_package(collection))


def test_note_types_nested_too_deeply(legacy_collection: bytes, tmp_path: Path) -> None:
    # 100,000 "[" then as many "]": hex() of n zero bytes is n "00".
    collection = modified(
        legacy_collection,
        tmp_path,
        "UPDATE col SET models = replace(hex(zeroblob(100000)), '00', '[')"
        " || replace(hex(zeroblob(100000)), '00', ']');",
    )
    assert "note types cannot be read" in refused(legacy_package(collection))


def test_too_many_notes(legacy_collection: bytes, tmp_path: Path) -> None:
    collection = modified(
        legacy_collection,
        tmp_path,
        """
        WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000)
        INSERT INTO notes SELECT i, 'guid' || i, (SELECT mid FROM notes LIMIT 1), 0, 0, '',
            'front' || char(31) || 'back', 'front', 0, 0, '' FROM n;
        """,
    )
    message = refused(legacy_package(collection))
    assert "100,006 notes; Tutor reads at most 100,000" in message
    assert "at most 3 at a time" in refused(legacy_package(legacy_collection), max_notes=3)


def test_damage_anywhere_gives_only_package_errors(legacy_collection: bytes) -> None:
    """Random damage to a real package: it reads, or fails with PackageError."""
    rng = random.Random(18)
    whole = legacy_package(legacy_collection)
    mutations: list[Callable[[], bytes]] = [
        lambda: whole[: rng.randrange(len(whole))],
        lambda: flipped(whole, rng),
        lambda: legacy_package(damage(legacy_collection, rng)),
    ]
    outcomes = {"read": 0, "refused": 0}
    for round_ in range(240):
        try:
            read_package(mutations[round_ % 3]())
        except PackageError:
            outcomes["refused"] += 1
        else:
            outcomes["read"] += 1
    assert outcomes["refused"] > 0


def flipped(data: bytes, rng: random.Random) -> bytes:
    """The bytes with a few random bits flipped anywhere: zip headers, CRCs, data."""
    damaged = bytearray(data)
    for _ in range(rng.randrange(1, 5)):
        damaged[rng.randrange(len(damaged))] ^= 1 << rng.randrange(8)
    return bytes(damaged)


def damage(data: bytes, rng: random.Random) -> bytes:
    """SQLite bytes with a few random runs overwritten, past the 100-byte file header."""
    damaged = bytearray(data)
    for _ in range(rng.randrange(1, 8)):
        start = rng.randrange(100, len(damaged))
        length = rng.randrange(1, 64)
        damaged[start : start + length] = rng.randbytes(len(damaged[start : start + length]))
    return bytes(damaged)
