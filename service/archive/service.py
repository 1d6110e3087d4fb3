"""Everything a learner owns as one zip: a JSON file per kind of row, their cards as an
Anki package, and a manifest saying what each file holds and what was left out."""

from __future__ import annotations

import asyncio
import json
import os
import re
import tempfile
import uuid
import zipfile
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from service import __version__
from service.archive import queries
from service.archive.records import record
from service.cards.models import Card
from service.db import Base
from service.exchange.service import export_anki
from service.learners.days import learner_day
from service.learners.models import Learner
from service.learners.queries import keys_of
from service.papers.models import Paper
from service.sessions.models import Message

FORMAT = "tutor-learner-archive"
# Raised when a file changes meaning; a new column or file leaves it as it is.
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
ANKI_PACKAGE = "cards.apkg"
LEARNER = "learner.json"


class _RowsOf(Protocol):
    def __call__(self, db: AsyncSession, *, learner_id: uuid.UUID) -> Awaitable[Sequence[Base]]: ...


def _with_tags(card: Card) -> dict[str, Any]:
    # The card_tags rows, folded into their card: a tag is nothing without it; and the
    # passage of a paper it came from (card_passages), likewise.
    passage = card.passage
    home = record(passage, leave_out=frozenset({"card_id"})) if passage else None
    return record(card) | {"tags": card.tags, "from_paper": home}


def _with_passage(message: Message) -> dict[str, Any]:
    # The passage of a paper the message came from (paper_passages), folded into it.
    passage = message.paper_passage
    home = record(passage, leave_out=frozenset({"message_id"})) if passage else None
    return record(message) | {"from_paper": home}


def _with_document(paper: Paper) -> dict[str, Any]:
    # Its sections, blocks and symbols, folded into the paper they were read from: the
    # blocks into their sections.
    blocks: dict[int, list[dict[str, Any]]] = {}
    for block in paper.blocks:
        blocks.setdefault(block.section_position, []).append(
            record(block, leave_out=frozenset({"paper_id", "section_position"}))
        )
    sections = [
        record(section, leave_out=frozenset({"paper_id"}))
        | {"blocks": blocks.get(section.position, [])}
        for section in paper.sections
    ]
    symbols = [record(symbol, leave_out=frozenset({"paper_id"})) for symbol in paper.symbols]
    return record(paper) | {"sections": sections, "symbols": symbols}


@dataclass(frozen=True)
class _Kind:
    file: str
    holds: str
    rows_of: _RowsOf
    shape: Callable[[Any], dict[str, Any]] = record


_KINDS = (
    _Kind("sources.json", "The reading queue: papers, videos, posts.", queries.sources_of),
    _Kind(
        "papers.json",
        "Papers read from the PDFs you uploaded (or Tutor fetched from arXiv), by source: "
        "the reading's state, and its sections with their blocks and pages, and symbols.",
        queries.papers_of,
        _with_document,
    ),
    _Kind(
        "sessions.json", "Tutoring sessions (their messages: messages.json).", queries.sessions_of
    ),
    _Kind(
        "messages.json",
        "Every message of every session, by session and position: passages, questions, "
        "explanations, attempts, critiques; with the passage of a paper one came from, and "
        "the paper context its prompts carried.",
        queries.messages_of,
        _with_passage,
    ),
    _Kind(
        "critiques.json",
        "Critiques of your own explanations: verdict, score, issues, questions.",
        queries.critiques_of,
    ),
    _Kind(
        "check_answers.json",
        "Your answers to the tutor's check questions, and how they were graded.",
        queries.check_answers_of,
    ),
    _Kind(
        "prerequisite_paths.json",
        "The ways back Tutor proposed when you were stuck: the concepts a passage rests on, "
        "which you knew, and the step for the others.",
        queries.prerequisite_paths_of,
    ),
    _Kind(
        "cards.json",
        "Flashcards with their tags and schedules (SM-2 and FSRS state), drafts and "
        "suspended cards too, and the passage of a paper each was distilled from.",
        queries.cards_of,
        _with_tags,
    ),
    _Kind(
        "reviews.json", "Every grade given, with the schedule before and after.", queries.reviews_of
    ),
    _Kind(
        "study_log.json",
        "The nightly study log: each day's facts and narrative.",
        queries.study_log_of,
    ),
    _Kind(
        "knowledge_marks.json",
        "Your corrections to what Tutor knows about you.",
        queries.knowledge_marks_of,
    ),
    _Kind(
        "fsrs_optimizations.json",
        "Fits of FSRS's parameters to your reviews.",
        queries.fsrs_optimizations_of,
    ),
    _Kind(
        "model_calls.json",
        "Every model call made for you: purpose, prompt versions, model, tokens, time, "
        "outcome (the text is in messages.json).",
        queries.model_calls_of,
    ),
    _Kind(
        "background_jobs.json",
        "Background jobs run for you: study logs written, reminders sent, drafts distilled.",
        queries.job_runs_of,
    ),
)

_LEFT_OUT = {
    "api_keys.key_hash": "Hashes of your API keys: learner.json lists the keys by prefix.",
    "papers.file": "The files papers were read from (PDFs, LaTeX sources): papers.json "
    "names each by file_name and file_sha256, and holds what was read from it. You have "
    "the PDFs you uploaded, arXiv keeps its papers, and at up to 50 MiB each they would "
    "make the archive many times larger than everything else in it.",
    "idempotency_keys": "Retry bookkeeping for grades (a retry within a day gets the first "
    "answer back); the grades themselves are in reviews.json.",
}

_NOT_A_NAME = re.compile(r"[^A-Za-z0-9_.-]+")


def archive_name(learner: Learner, moment: datetime) -> str:
    """`tutor-export-ada-2026-05-01.zip`: the learner's name made safe for any file system,
    and their own day."""
    name = _NOT_A_NAME.sub("-", learner.name).strip("-.") or "learner"
    return f"tutor-export-{name}-{learner_day(learner, moment).isoformat()}.zip"


async def write_archive(
    db: AsyncSession, *, learner: Learner, now: datetime, out: IO[bytes]
) -> dict[str, Any]:
    """Write the learner's archive to `out` (a zip); the manifest it holds is returned."""
    await db.commit()  # what came before is not part of the snapshot that follows
    await queries.begin_snapshot(db)
    files: dict[str, dict[str, Any]] = {}
    archive = zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED)
    try:
        keys = await keys_of(db, learner_id=learner.id)
        profile = record(learner) | {
            "api_keys": [record(key, leave_out=frozenset({"key_hash"})) for key in keys]
        }
        await _add_json(archive, LEARNER, profile)
        files[LEARNER] = {"holds": "Your profile and settings, and your API keys by prefix."}
        for kind in _KINDS:
            rows = await kind.rows_of(db, learner_id=learner.id)
            await _add_json(archive, kind.file, [kind.shape(row) for row in rows])
            files[kind.file] = {"holds": kind.holds, "rows": len(rows)}
            db.expunge_all()  # one kind in memory at a time
        package = await export_anki(db, learner=learner, include_all=True)
        await asyncio.to_thread(archive.writestr, ANKI_PACKAGE, package)
        files[ANKI_PACKAGE] = {
            "holds": "Every card as an Anki package, with its progress and review log "
            "(import it into Anki, or into another Tutor)."
        }
        manifest = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "tutor_version": __version__,
            "schema_revision": await queries.schema_revision(db),
            "exported_at": now.isoformat(),
            "learner": learner.name,
            "files": files,
            "left_out": _LEFT_OUT,
        }
        await _add_json(archive, MANIFEST, manifest)
    finally:
        await db.commit()  # the snapshot ends; its connection goes back to the pool
        await asyncio.to_thread(archive.close)
    return manifest


async def write_archive_file(db: AsyncSession, *, learner: Learner, now: datetime) -> Path:
    """The learner's archive in a temporary file, which the caller removes."""
    handle, name = tempfile.mkstemp(prefix="tutor-export-", suffix=".zip")
    path = Path(name)
    try:
        with os.fdopen(handle, "wb") as out:
            await write_archive(db, learner=learner, now=now, out=out)
    except BaseException:
        await asyncio.to_thread(path.unlink, missing_ok=True)
        raise
    return path


async def counts_of(db: AsyncSession, *, learner: Learner) -> dict[str, int]:
    """What a learner has, in the words an operator deleting them reads."""
    return await queries.counts_of(db, learner_id=learner.id)


async def _add_json(archive: zipfile.ZipFile, name: str, value: object) -> None:
    data = json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True).encode()
    # Compressing is CPU work: off the event loop, one file at a time.
    await asyncio.to_thread(archive.writestr, name, data)
