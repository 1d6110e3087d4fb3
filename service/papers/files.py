"""Where a paper's file lives on disk, and how it gets there.

A paper's file is `data_dir/papers/<paper id>.<suffix>` ("pdf", "tar.gz"). It arrives
as chunks (an upload, a download from arXiv) written to a `.part` file of its own,
counted and hashed as they come, so a file of any size is never held in memory and a
file over the limit is cut off and removed; it gets its final name as its paper's row is
written. A file no paper row names any longer (its source or its learner was deleted,
the process stopped between writing and committing) is removed by `remove_orphans`,
which the API runs every minute (service.keep_sweeping): the sources domain, below this
one, deletes a source without knowing what hangs on it.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import uuid
from collections.abc import AsyncIterable, Collection
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from service.config import Settings

_PART = ".part"


def papers_dir(settings: Settings) -> Path:
    return settings.data_dir / "papers"


def paper_file(settings: Settings, paper_id: uuid.UUID, suffix: str) -> Path:
    """The file of paper `paper_id`: data_dir/papers/<paper id>.<suffix>."""
    return papers_dir(settings) / f"{paper_id}.{suffix}"


@dataclass(frozen=True)
class ReceivedFile:
    """A file written in full under papers_dir, not yet any paper's."""

    path: Path
    # As the learner named it (an upload's file name), or as arXiv did.
    name: str
    # "pdf", "tar.gz": the final file's suffix, and how an extractor knows what it reads.
    suffix: str
    size: int
    sha256: str
    # Its first bytes, for a quick look at what it is (a PDF's header).
    head: bytes


class FileTooLarge(Exception):
    def __init__(self, limit: int) -> None:
        super().__init__(f"The file is larger than {limit // (1024 * 1024)} MiB.")
        self.limit = limit


_HEAD_BYTES = 1024


async def receive(
    settings: Settings,
    chunks: AsyncIterable[bytes],
    *,
    name: str,
    suffix: str,
    max_bytes: int,
) -> ReceivedFile:
    """Write `chunks` to a new file under papers_dir, up to `max_bytes`.

    Raises FileTooLarge (the partial file removed) past the limit; any other failure
    removes the partial file too.
    """
    directory = papers_dir(settings)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"incoming-{uuid.uuid4()}{_PART}"
    digest = hashlib.sha256()
    size = 0
    head = b""
    try:
        with path.open("wb") as out:
            async for chunk in chunks:
                size += len(chunk)
                if size > max_bytes:
                    raise FileTooLarge(max_bytes)
                if len(head) < _HEAD_BYTES:
                    head += chunk[: _HEAD_BYTES - len(head)]
                digest.update(chunk)
                out.write(chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return ReceivedFile(
        path=path, name=name, suffix=suffix, size=size, sha256=digest.hexdigest(), head=head
    )


async def received_file(path: Path, *, name: str, suffix: str) -> ReceivedFile:
    """A file already written in full under papers_dir (a download), described as
    `receive` describes an upload: hashed on a worker thread, not the event loop."""

    def describe() -> ReceivedFile:
        digest = hashlib.sha256()
        with path.open("rb") as source:
            head = source.read(_HEAD_BYTES)
            digest.update(head)
            while chunk := source.read(1024 * 1024):
                digest.update(chunk)
        return ReceivedFile(
            path=path,
            name=name,
            suffix=suffix,
            size=path.stat().st_size,
            sha256=digest.hexdigest(),
            head=head,
        )

    return await asyncio.to_thread(describe)


def keep(settings: Settings, received: ReceivedFile, paper_id: uuid.UUID) -> Path:
    """Give a received file its paper's name (an atomic rename, same directory)."""
    target = paper_file(settings, paper_id, received.suffix)
    os.replace(received.path, target)
    return target


def discard(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink(missing_ok=True)


def remove_orphans(
    settings: Settings, *, live: Collection[uuid.UUID], written_before: datetime
) -> list[Path]:
    """Remove every file under papers_dir that no paper in `live` names (its source or
    learner was deleted, or the process stopped between writing the file and committing
    its row), if it was last written before `written_before`: a file written since may
    belong to a row about to be committed, or be an upload still arriving. The files
    removed."""
    directory = papers_dir(settings)
    if not directory.is_dir():
        return []
    cutoff = written_before.timestamp()
    removed = []
    for path in directory.iterdir():
        if _paper_id_of(path) in live:
            continue
        with contextlib.suppress(FileNotFoundError):
            if path.stat().st_mtime < cutoff:
                discard(path)
                removed.append(path)
    return removed


def _paper_id_of(path: Path) -> uuid.UUID | None:
    stem = path.name.split(".", 1)[0]
    try:
        return uuid.UUID(stem)
    except ValueError:
        return None
