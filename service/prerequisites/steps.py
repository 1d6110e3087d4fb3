"""The step back for each concept: nothing if known; else a source the learner already
has that teaches it, or the paper the model suggests, to add; else ask here."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from service.papers.arxiv import NotAnArxivId, parse_arxiv_id
from service.prerequisites.matching import names_in, same_title
from service.prerequisites.schemas import ConceptDraft, PaperDraft, PrerequisiteStepOut

# A concept name this short matched against source titles finds too much ("RL").
_SHORTEST_NAME_FOR_A_TITLE = 5


@dataclass(frozen=True)
class Queued:
    """A source in the learner's reading queue."""

    id: uuid.UUID
    title: str
    url: str | None

    @property
    def arxiv_id(self) -> str | None:
        return arxiv_id_in(self.url)


def arxiv_id_in(text: str | None) -> str | None:
    """The arXiv id (no version) `text` gives, if it is one or a link to one."""
    if not text:
        return None
    try:
        return parse_arxiv_id(text).identifier
    except NotAnArxivId:
        return None


def step_for(concept: ConceptDraft, *, known: bool, queue: Sequence[Queued]) -> PrerequisiteStepOut:
    if known:
        return PrerequisiteStepOut(kind="known", source_id=None, title=None, arxiv_id=None)
    source = _in_queue(concept, queue)
    if source is not None:
        return PrerequisiteStepOut(
            kind="queued_source", source_id=source.id, title=source.title, arxiv_id=None
        )
    if concept.paper is not None:
        paper: PaperDraft = concept.paper
        return PrerequisiteStepOut(
            kind="add_source",
            source_id=None,
            title=paper.title,
            arxiv_id=arxiv_id_in(paper.arxiv_id),  # one that is no arXiv id at all is dropped
        )
    return PrerequisiteStepOut(kind="explain", source_id=None, title=None, arxiv_id=None)


def _in_queue(concept: ConceptDraft, queue: Sequence[Queued]) -> Queued | None:
    """The suggested paper if the queue has it (by arXiv id, else title), else a source
    whose title names the concept."""
    paper = concept.paper
    if paper is not None:
        wanted = arxiv_id_in(paper.arxiv_id)
        for source in queue:
            if wanted is not None and source.arxiv_id == wanted:
                return source
        for source in queue:
            if same_title(source.title, paper.title):
                return source
    names = [
        name
        for name in (concept.name, *concept.also_called)
        if len(name.strip()) >= _SHORTEST_NAME_FOR_A_TITLE
    ]
    return next((source for source in queue if names and names_in(source.title, names)), None)
