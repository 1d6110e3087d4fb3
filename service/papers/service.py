"""A paper's extraction, as a background job the learner can follow.

A paper's row is written, with its file in place, before the job starts
(`start_extraction`, status `pending`); the job runs the extractor in a sandboxed child
process (sandbox.py) and keeps the row's progress and `touched_at` current
(`extracting`); it ends `ready`, with the Document stored in the same transaction, or
`failed`, with a code and a message. A row left `pending` or `extracting` by a process
that died stops being touched: read after STALE_AFTER, it is marked failed
(`extraction_interrupted`), and `retry_extraction` starts it again on the same file.
The file is never removed by a failure: nothing a learner uploaded is lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.background import Background
from service.config import Settings
from service.errors import Conflict, NotFound
from service.learners.models import Learner
from service.learners.service import lock_learner
from service.papers import files, queries
from service.papers.arxiv import waits_for_its_title
from service.papers.document import Document
from service.papers.extractors import Extractor, extractor_name
from service.papers.failures import ExtractionFailed, FailureCode
from service.papers.files import ReceivedFile
from service.papers.models import Paper, PaperStatus
from service.papers.sandbox import SandboxLimits, extract
from service.sources.models import TITLE_LENGTH, Source
from service.sources.service import get_source

log = logging.getLogger("tutor.papers")

TOUCH_EVERY = timedelta(seconds=2)
STALE_AFTER = timedelta(seconds=60)
SWEEP_EVERY = timedelta(seconds=60)
# A file written more recently may be an upload whose row is not committed yet.
SWEEP_GRACE = timedelta(minutes=5)
_RUNNING = (PaperStatus.pending, PaperStatus.extracting)


class NoDocument(NotFound):
    code = "no_document"

    def __init__(self) -> None:
        super().__init__("This source has no document: upload a PDF first.")


class ExtractionRunning(Conflict):
    code = "extraction_running"

    def __init__(self) -> None:
        super().__init__(
            "This source's document is being read: wait until it is ready or has failed."
        )


@dataclass(frozen=True)
class ExtractionRunner:
    """What an extraction job needs beyond the request that starts it."""

    sessions: async_sessionmaker[AsyncSession]
    background: Background
    settings: Settings
    clock: Callable[[], datetime]
    limits: SandboxLimits = field(default_factory=SandboxLimits)


async def extraction_runner(request: Request) -> ExtractionRunner:  # async: no thread hop
    state = request.app.state
    return ExtractionRunner(
        sessions=state.database.sessionmaker,
        background=state.background,
        settings=state.settings,
        clock=state.clock.now,
        limits=state.paper_limits,
    )


ExtractionRunnerDep = Annotated[ExtractionRunner, Depends(extraction_runner)]


def is_stale(paper: Paper, now: datetime) -> bool:
    return paper.status in _RUNNING and now - paper.touched_at > STALE_AFTER


async def start_extraction(
    db: AsyncSession,
    runner: ExtractionRunner,
    *,
    learner: Learner,
    source_id: uuid.UUID,
    received: ReceivedFile,
    extractor: Extractor,
) -> Paper:
    """Make `received` the source's document and read it in the background.

    - `received`: a whole file under `files.papers_dir` (`files.receive` streams one
      there; `files.received_file` describes one already written); it is renamed to
      `files.paper_file(settings, paper.id, received.suffix)`, or removed if the paper
      cannot be started.
    - `extractor`: a function at the top of a module of `service.papers`, taking the
      file's path and returning a `Document` (sync or async), raising
      `failures.ExtractionFailed` for a file it refuses and calling
      `progress.report(fraction, stage)` as it goes. It runs in a child process with
      limits (sandbox.py); `symbols.find_symbols` fills the Document's symbols when the
      extractor left them empty.
    - Raises SourceNotFound (not the learner's source) and ExtractionRunning (the
      source's document is being read). A document the source had before is replaced,
      its file removed.

    Returns the paper's row, committed with status `pending`; the job has been spawned.
    """
    try:
        paper, replaced = await _replace_paper(db, runner, learner, source_id, received, extractor)
    except BaseException:
        files.discard(received.path)
        raise
    if replaced is not None:
        files.discard(replaced)
    _spawn(runner, paper.id)
    return paper


async def _replace_paper(
    db: AsyncSession,
    runner: ExtractionRunner,
    learner: Learner,
    source_id: uuid.UUID,
    received: ReceivedFile,
    extractor: Extractor,
) -> tuple[Paper, Path | None]:
    now = runner.clock()
    name = extractor_name(extractor)
    # Uploads of one learner take turns: two at once for a source would both find none.
    await lock_learner(db, learner.id)
    await get_source(db, learner=learner, source_id=source_id)
    old = await queries.paper_of_source(db, learner_id=learner.id, source_id=source_id)
    replaced = None
    if old is not None:
        if old.status in _RUNNING and not is_stale(old, now):
            raise ExtractionRunning()
        replaced = files.paper_file(runner.settings, old.id, old.file_suffix)
        await db.delete(old)
        await db.flush()  # the old row goes before the new one takes its source
    paper = Paper(
        id=uuid.uuid4(),
        learner_id=learner.id,
        source_id=source_id,
        status=PaperStatus.pending,
        stage="Waiting to start",
        file_name=received.name[:255],
        file_suffix=received.suffix,
        file_bytes=received.size,
        file_sha256=received.sha256,
        extractor=name,
        touched_at=now,
        created_at=now,
    )
    db.add(paper)
    kept = files.keep(runner.settings, received, paper.id)
    try:
        await db.commit()
    except BaseException:
        files.discard(kept)
        raise
    return paper, replaced


async def retry_extraction(
    db: AsyncSession, runner: ExtractionRunner, *, learner: Learner, source_id: uuid.UUID
) -> Paper:
    """Read the source's stored file again: after a failure, or with a newer extractor."""
    paper = await current_paper(db, runner, learner=learner, source_id=source_id)
    if paper.status in _RUNNING:
        raise ExtractionRunning()
    paper.status, paper.progress, paper.stage = PaperStatus.pending, 0.0, "Waiting to start"
    paper.error_code = paper.error_message = None
    paper.touched_at = runner.clock()
    await db.commit()
    _spawn(runner, paper.id)
    return paper


_INTERRUPTED = ExtractionFailed(
    FailureCode.extraction_interrupted,
    "Reading the file stopped without finishing (Tutor restarted or its process ended); "
    "start it again.",
)


async def current_paper(
    db: AsyncSession, runner: ExtractionRunner, *, learner: Learner, source_id: uuid.UUID
) -> Paper:
    """The source's paper, with a job whose process died marked failed (and retryable)."""
    await get_source(db, learner=learner, source_id=source_id)
    paper = await queries.paper_of_source(db, learner_id=learner.id, source_id=source_id)
    if paper is None:
        raise NoDocument()
    if is_stale(paper, runner.clock()):
        _fail(paper, paper.touched_at, _INTERRUPTED)
        await db.commit()
    return paper


async def document_states(
    db: AsyncSession, runner: ExtractionRunner, *, learner: Learner, source_ids: Sequence[uuid.UUID]
) -> list[Paper]:
    """The papers of those of the learner's sources that have one (a list page asks
    for its sources' at once), each job whose process died marked failed, as one is
    when read alone."""
    found = await queries.papers_of_sources(db, learner_id=learner.id, source_ids=source_ids)
    stale = [paper for paper in found if is_stale(paper, runner.clock())]
    for paper in stale:
        _fail(paper, paper.touched_at, _INTERRUPTED)
    if stale:
        await db.commit()
    return list(found)


async def read_document(
    db: AsyncSession,
    runner: ExtractionRunner,
    *,
    learner: Learner,
    source_id: uuid.UUID,
    from_block: int,
    limit: int,
) -> tuple[Paper, queries.DocumentPage | None]:
    """The source's paper, and once it is ready, `limit` of its blocks from `from_block`."""
    paper = await current_paper(db, runner, learner=learner, source_id=source_id)
    if paper.status != PaperStatus.ready:
        return paper, None
    page = await queries.document_page(db, paper_id=paper.id, start=from_block, limit=limit)
    return paper, page


def _spawn(runner: ExtractionRunner, paper_id: uuid.UUID) -> None:
    runner.background.spawn(run_extraction(runner, paper_id), name=f"paper-{paper_id}")


async def run_extraction(runner: ExtractionRunner, paper_id: uuid.UUID) -> None:
    """The job: claim the pending row, extract in the sandbox, store the outcome."""
    claimed = await _claim(runner, paper_id)
    if claimed is None:
        return
    extractor, path = claimed
    reports = _Reports()
    touching = asyncio.create_task(_keep_touching(runner, paper_id, reports))
    try:
        document = await extract(extractor, path, limits=runner.limits, on_progress=reports.update)
    except ExtractionFailed as failure:
        await _finish(runner, paper_id, touching, failure=failure)
        return
    except asyncio.CancelledError:
        stopping = ExtractionFailed(
            FailureCode.extraction_interrupted,
            "Tutor stopped before the file was read; start it again.",
        )
        await _finish(runner, paper_id, touching, failure=stopping)
        raise
    except Exception:
        log.exception("extracting paper %s failed", paper_id)
        crashed = ExtractionFailed(
            FailureCode.extraction_crashed, "Reading the file failed unexpectedly."
        )
        await _finish(runner, paper_id, touching, failure=crashed)
        return
    await _finish(runner, paper_id, touching, document=document)


async def _claim(runner: ExtractionRunner, paper_id: uuid.UUID) -> tuple[str, Path] | None:
    async with runner.sessions() as db:
        paper = await queries.paper_by_id(db, paper_id)
        if paper is None or paper.status != PaperStatus.pending:
            return None
        now = runner.clock()
        paper.status, paper.stage, paper.progress = PaperStatus.extracting, "Starting", 0.0
        paper.started_at = paper.touched_at = now
        paper.attempts += 1
        await db.commit()
        return paper.extractor, files.paper_file(runner.settings, paper.id, paper.file_suffix)


@dataclass
class _Reports:
    """The latest progress report, kept until the next touch writes it."""

    fraction: float = 0.0
    stage: str = "Starting"

    def update(self, fraction: float, stage: str) -> None:
        self.fraction, self.stage = fraction, stage


async def _keep_touching(runner: ExtractionRunner, paper_id: uuid.UUID, reports: _Reports) -> None:
    while True:
        await asyncio.sleep(TOUCH_EVERY.total_seconds())
        async with runner.sessions() as db:
            paper = await queries.paper_by_id(db, paper_id)
            if paper is None or paper.status != PaperStatus.extracting:
                return  # deleted, or replaced: the job's outcome will find no row
            paper.progress, paper.stage = reports.fraction, reports.stage[:200]
            paper.touched_at = runner.clock()
            await db.commit()


async def _finish(
    runner: ExtractionRunner,
    paper_id: uuid.UUID,
    touching: asyncio.Task[None],
    *,
    document: Document | None = None,
    failure: ExtractionFailed | None = None,
) -> None:
    touching.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await touching
    async with runner.sessions() as db:
        paper = await queries.paper_by_id(db, paper_id)
        if paper is None or paper.status != PaperStatus.extracting:
            return  # the source was deleted meanwhile
        now = runner.clock()
        if document is not None:
            await queries.replace_document(db, paper_id=paper_id, document=document)
            _ready(paper, now, document)
            await _adopt_title(db, paper, document)
        else:
            assert failure is not None
            _fail(paper, now, failure)
        await db.commit()


def _ready(paper: Paper, now: datetime, document: Document) -> None:
    paper.status, paper.progress, paper.stage = PaperStatus.ready, 1.0, "Ready"
    paper.title, paper.origin = document.title, document.origin
    paper.page_count = document.page_count
    paper.error_code = paper.error_message = None
    paper.finished_at = paper.touched_at = now


async def _adopt_title(db: AsyncSession, paper: Paper, document: Document) -> None:
    # A source made from an arXiv id is called "arXiv 1706.03762" until its paper is
    # read; a title the learner gave is theirs and stays.
    source = await db.get(Source, paper.source_id)
    if source is not None and document.title and waits_for_its_title(source.title, source.url):
        source.title = document.title[:TITLE_LENGTH]


def _fail(paper: Paper, now: datetime, failure: ExtractionFailed) -> None:
    paper.status, paper.stage = PaperStatus.failed, "Failed"
    paper.error_code, paper.error_message = failure.code[:64], failure.message
    paper.finished_at = paper.touched_at = now


async def sweep_files(
    sessions: async_sessionmaker[AsyncSession], settings: Settings, *, now: datetime
) -> list[Path]:
    """Remove the files no paper names any longer (see files.remove_orphans)."""
    async with sessions() as db:
        live = await queries.all_paper_ids(db)
    return await asyncio.to_thread(
        files.remove_orphans, settings, live=live, written_before=now - SWEEP_GRACE
    )


async def keep_sweeping(
    sessions: async_sessionmaker[AsyncSession], settings: Settings, clock: Callable[[], datetime]
) -> None:
    """Sweep the papers' files every SWEEP_EVERY while the API runs."""
    while True:
        try:
            removed = await sweep_files(sessions, settings, now=clock())
        except Exception:  # a database fault now is no reason to stop sweeping later
            log.exception("sweeping paper files failed")
        else:
            if removed:
                log.info("removed %d paper files no paper names", len(removed))
        await asyncio.sleep(SWEEP_EVERY.total_seconds())
