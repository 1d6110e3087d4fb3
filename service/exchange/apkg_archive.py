"""An Anki package's (.apkg, .colpkg) zip and zstd layers: which collection, unpacked.

A package is a zip archive. Anki 2.1.50 and later (its Rust backend) write:

- `meta`: a protobuf `PackageMetadata`, field 1 the version: 1 for `collection.anki2`,
  2 for `collection.anki21` (both plain SQLite, schema 11: "Support older Anki
  versions"), 3 for `collection.anki21b` (SQLite compressed with zstd, schema 18, the
  default). A version this module does not know means a newer Anki, as in Anki itself.
- the collection named by the version, plus a dummy `collection.anki2` whose one note
  asks to update Anki, for versions too old to read the real one;
- `media` (a JSON map or a zstd protobuf list) and the media files, named 0, 1, 2, ….

Older versions wrote no `meta`: the collection is then `collection.anki21` if present,
else `collection.anki2`. A .colpkg (a whole-collection backup) has the same layout.

The bytes come from an upload, so nothing in them is trusted. Only members with the
fixed names above are read, and never extracted by their name; each layer of
decompression (zip, then zstd) stops once its output passes `max_bytes`, counted as the
bytes come out rather than taken from any header; only the compression methods Anki
writes are accepted. Every failure is a `PackageError` with a message for the learner.

Opening the unpacked collection is `service.exchange.apkg_collection`'s job. The protobuf
reader is here because `meta` needs it first; the note type and deck settings
(`service.exchange.apkg_settings`) use it too.
"""

from __future__ import annotations

import zipfile
import zlib
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import BinaryIO, Protocol, cast

import zstandard

__all__ = [
    "COLLECTION_NAMES",
    "CollectionMember",
    "PackageError",
    "damaged",
    "protobuf_fields",
    "unpack_collection",
]

# Newest first: the order in which a package without `meta` is searched.
COLLECTION_NAMES = ("collection.anki21b", "collection.anki21", "collection.anki2")
_NAME_FOR_VERSION = {1: "collection.anki2", 2: "collection.anki21", 3: "collection.anki21b"}
_ZSTD_COMPRESSED = "collection.anki21b"

_CHUNK = 64 * 1024
_MAX_META_BYTES = 64 * 1024  # `meta` is two bytes; anything near this is not Anki's
# Anki compresses at zstd's default level, whose window is a few MiB; without a cap, a
# hostile frame could make the decoder allocate zstd's own limit of 128 MiB.
_MAX_ZSTD_WINDOW = 32 * 1024 * 1024
# Anki's zip writer stores or deflates; other methods (bzip2 can expand a few bytes
# into gigabytes in one call) are refused rather than supported.
_ALLOWED_COMPRESSION = frozenset({zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED})

_DAMAGED = "The package is damaged ({detail}). Export it from Anki again."


# Not a ValueError: the layers below catch ValueError, and must not catch this.
class PackageError(Exception):
    """The upload cannot be read as an Anki package; the message is for the learner."""


def damaged(detail: str) -> PackageError:
    return PackageError(_DAMAGED.format(detail=detail))


@dataclass(frozen=True)
class CollectionMember:
    """Which member the collection came from, and what else the package holds."""

    name: str  # e.g. "collection.anki21b"
    media_files: int


def unpack_collection(data: bytes, path: Path, *, max_bytes: int) -> CollectionMember:
    """Write the package's collection, decompressed, to `path` (the caller's own file)."""
    with _open_zip(data) as archive:
        name = _collection_name(archive, max_bytes=max_bytes)
        _unpack(archive, name, path, max_bytes=max_bytes)
        return CollectionMember(name, _media_files(archive))


# --- zip ------------------------------------------------------------------------------


def _open_zip(data: bytes) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(BytesIO(data))
    # NotImplementedError: a header asking for a newer zip version than zipfile reads.
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, NotImplementedError) as error:
        raise PackageError(
            "This file is not an Anki package (.apkg or .colpkg): it is not a zip archive."
        ) from error


def _collection_name(archive: zipfile.ZipFile, *, max_bytes: int) -> str:
    names = set(archive.namelist())
    if "meta" in names:
        meta = _read_small(archive, "meta", limit=min(max_bytes, _MAX_META_BYTES))
        version = protobuf_fields(meta).get(1, [0])[-1]
        name = _NAME_FOR_VERSION.get(version) if isinstance(version, int) else None
        if name is None:
            raise PackageError(
                "This package was made by a newer version of Anki than Tutor can read. "
                "In Anki's export dialog, tick “Support older Anki versions” and export again."
            )
        if name not in names:
            raise damaged(f"it has no {name}")
        return name
    for name in COLLECTION_NAMES:
        if name in names:
            return name
    raise PackageError(
        "This zip archive is not an Anki package: it holds no Anki collection "
        f"({', '.join(COLLECTION_NAMES)})."
    )


def _media_files(archive: zipfile.ZipFile) -> int:
    return sum(1 for name in archive.namelist() if name.isdecimal())


def _member(archive: zipfile.ZipFile, name: str) -> BinaryIO:
    info = archive.getinfo(name)
    if info.flag_bits & 0x1:
        raise damaged(f"{name} is encrypted")
    if info.compress_type not in _ALLOWED_COMPRESSION:
        raise damaged(f"{name} is compressed with a method Anki does not use")
    return cast(BinaryIO, archive.open(info))


# --- size caps ------------------------------------------------------------------------


class _Readable(Protocol):
    def read(self, size: int = ..., /) -> bytes: ...


class _Capped:
    """A reader that refuses to give out more than `limit` bytes in all."""

    def __init__(self, source: _Readable, limit: int) -> None:
        self._source = source
        self._left = limit
        self.limit = limit

    def read(self, size: int = _CHUNK, /) -> bytes:
        # At most one chunk per call, even for read(-1): callers here loop until b"".
        chunk = self._source.read(_CHUNK if size < 0 else min(size, _CHUNK))
        self._left -= len(chunk)
        if self._left < 0:
            raise _too_large(self.limit)
        return chunk


def _too_large(limit: int) -> PackageError:
    return PackageError(
        f"The package unpacks to more than {limit / (1 << 20):,.0f} MiB, more than Tutor "
        "reads at a time. Export a smaller deck from Anki."
    )


# Errors a damaged member raises while it is opened or read: a header pointing outside
# the archive (ValueError: negative seek), a flag zipfile does not support, a bad CRC or
# deflate stream, a zstd frame that does not decode, data that ends early.
_READ_ERRORS = (
    *(zipfile.BadZipFile, ValueError, NotImplementedError),
    *(zlib.error, zstandard.ZstdError, EOFError, OSError),
)


def _read_small(archive: zipfile.ZipFile, name: str, *, limit: int) -> bytes:
    try:
        with _member(archive, name) as member:
            reader = _Capped(member, limit)
            return b"".join(iter(reader.read, b""))
    except _READ_ERRORS as error:
        raise damaged(f"{name} cannot be read") from error


def _unpack(archive: zipfile.ZipFile, name: str, path: Path, *, max_bytes: int) -> None:
    try:
        with _member(archive, name) as member, path.open("wb") as out:
            reader: _Readable = _Capped(member, max_bytes)
            if name == _ZSTD_COMPRESSED:
                reader = _Capped(_zstd_reader(reader), max_bytes)
            for chunk in iter(lambda: reader.read(_CHUNK), b""):
                out.write(chunk)
    except _READ_ERRORS as error:
        raise damaged(f"{name} cannot be unpacked") from error


def _zstd_reader(source: _Readable) -> _Readable:
    decompressor = zstandard.ZstdDecompressor(max_window_size=_MAX_ZSTD_WINDOW)
    # read() on this reader returns at most the size asked for, whatever the frame
    # header declares (or omits), so the cap around it holds while streaming.
    return decompressor.stream_reader(
        cast(BinaryIO, source), read_size=_CHUNK, read_across_frames=True
    )


# --- protobuf -------------------------------------------------------------------------

_WIRE_VARINT, _WIRE_FIXED64, _WIRE_BYTES, _WIRE_FIXED32 = 0, 1, 2, 5


def protobuf_fields(message: bytes) -> dict[int, list[int | bytes]]:
    """The top-level fields of a protobuf message: varints as int, the rest as bytes.

    Anki keeps note type, template and deck settings, and the package's `meta`, as
    protobuf messages; the few numbers read here need no generated code.
    """
    fields: dict[int, list[int | bytes]] = {}
    position = 0
    while position < len(message):
        key, position = _varint(message, position)
        value: int | bytes
        wire_type = key & 0x7
        if wire_type == _WIRE_VARINT:
            value, position = _varint(message, position)
        elif wire_type in (_WIRE_FIXED64, _WIRE_FIXED32, _WIRE_BYTES):
            if wire_type == _WIRE_BYTES:
                length, position = _varint(message, position)
            else:
                length = 8 if wire_type == _WIRE_FIXED64 else 4
            if position + length > len(message):
                raise damaged("a settings record ends early")
            value, position = message[position : position + length], position + length
        else:
            raise damaged("a settings record cannot be read")
        fields.setdefault(key >> 3, []).append(value)
    return fields


def _varint(message: bytes, position: int) -> tuple[int, int]:
    result = 0
    for shift in range(0, 70, 7):  # ten bytes at most, as for a negative int64
        if position >= len(message):
            break
        byte = message[position]
        position += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, position
    raise damaged("a settings record cannot be read")
