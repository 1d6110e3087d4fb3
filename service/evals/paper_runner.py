"""A paper scenario, played twice: the passage pasted, then picked in its paper.

Each time a new learner has the paper as a ready source, stored as the extraction job
stores what it read (queries.replace_document), and asks in a session about that source.
Pasted is what learners did before: the passage's text alone. Picked sends the same text
with `from_paper`, so the prompt carries the PAPER CONTEXT; the only difference between
the two is what picking the passage in the paper adds.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

from service.db import Database, utcnow
from service.evals.paper_passage import Picked
from service.evals.runner import Outcome, Tutor, signed_in
from service.evals.scenarios import PASTED, PaperScenario
from service.papers import queries
from service.papers.document import Document
from service.papers.extractors import extractor_name
from service.papers.latex import document_from_source
from service.papers.models import Paper, PaperStatus

PICKED = "paper"


async def play_paper(tutor: Tutor, scenario: PaperScenario) -> list[Outcome]:
    """The pasted passage's outcome (category `paper-pasted`), then the picked one's
    (`paper`), each by a learner of its own."""
    picked = scenario.picked()
    outcomes: list[Outcome] = []
    for category in (PASTED, PICKED):
        async with signed_in(tutor.app) as learner:
            outcome = Outcome(scenario.id, category, scenario.kind)
            await _explain(learner, scenario, picked, outcome, from_paper=category == PICKED)
            outcomes.append(outcome)
    return outcomes


async def _explain(
    learner: Tutor, scenario: PaperScenario, picked: Picked, outcome: Outcome, *, from_paper: bool
) -> None:
    source_id = await learner.source(scenario.paper)
    await store_paper(
        learner.app.state.database,
        learner_id=learner.learner_id,
        source_id=uuid.UUID(source_id),
        document=picked.document,
        latex=scenario.latex,
    )
    session_id = await learner.new_session(scenario)
    body: dict[str, Any] = {"passage": picked.text, "level": scenario.level.value}
    if scenario.question:
        body["question"] = scenario.question
    if from_paper:
        body["from_paper"] = {
            "source_id": source_id,
            "first_block": picked.first_block,
            "last_block": picked.last_block,
        }
    outcome.answers.append(await learner.answer(f"/v1/sessions/{session_id}/explain", body))


async def store_paper(
    database: Database,
    *,
    learner_id: uuid.UUID,
    source_id: uuid.UUID,
    document: Document,
    latex: str,
) -> None:
    """The source's paper, ready, as if its LaTeX had been uploaded and read. No file is
    kept: nothing reads it again (a retry would, and an evaluation makes none)."""
    data = latex.encode("utf-8")
    now = utcnow()
    paper = Paper(
        id=uuid.uuid4(),
        learner_id=learner_id,
        source_id=source_id,
        status=PaperStatus.ready,
        progress=1.0,
        stage="Ready",
        file_name="main.tex",
        file_suffix=".tex",
        file_bytes=len(data),
        file_sha256=hashlib.sha256(data).hexdigest(),
        extractor=extractor_name(document_from_source),
        attempts=1,
        touched_at=now,
        started_at=now,
        finished_at=now,
        title=document.title,
        origin=document.origin,
        page_count=document.page_count,
    )
    async with database.sessionmaker() as db:
        db.add(paper)
        await db.flush()
        await queries.replace_document(db, paper_id=paper.id, document=document)
        await db.commit()
