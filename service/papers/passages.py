"""A passage named by its blocks: checked against the learner's paper, and its context
built (context.py) once, to be frozen where the passage is stored."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from functools import partial

from sqlalchemy.ext.asyncio import AsyncSession

from service.errors import Conflict, TutorError
from service.learners.models import Learner
from service.llm.tokens import count_text
from service.papers import queries
from service.papers.context import PassagePlace, context_cap, paper_context, symbols_for
from service.papers.context import symbols_used as used_by
from service.papers.document import Block, BlockKind
from service.papers.models import PaperStatus
from service.sources.service import get_source

# A passage is what a learner selects to ask about: a few paragraphs, rarely a section.
MOST_BLOCKS = 200


class DocumentNotReady(Conflict):
    code = "document_not_ready"

    def __init__(self) -> None:
        super().__init__(
            "This source has no paper ready to read (none was uploaded, or it is still "
            "being read, or reading it failed): wait until its document is ready."
        )


class PassageNotInPaper(TutorError):
    status_code = 422
    code = "passage_not_in_paper"

    def __init__(self, block_count: int) -> None:
        super().__init__(
            f"The paper has blocks 0 to {block_count - 1}; a passage is a run of at most "
            f"{MOST_BLOCKS} of them.",
            details={"block_count": block_count, "most_blocks": MOST_BLOCKS},
        )


@dataclass(frozen=True)
class Passage:
    """A passage of a paper as the session keeps it: where it is, and its context."""

    source_id: uuid.UUID
    first_block: int
    last_block: int
    paper_title: str
    section_number: str | None
    section_heading: str
    page: int | None
    # The PAPER CONTEXT block's text (unfenced) and its tokens.
    context: str
    context_tokens: int
    # The blocks' own text: the reference an explanation of it is judged against.
    text: str


async def read_passage(
    db: AsyncSession,
    *,
    learner: Learner,
    source_id: uuid.UUID,
    first_block: int,
    last_block: int,
    selected: str | None,
    passage_budget: int,
    model: str | None,
) -> Passage:
    """Blocks `first_block` to `last_block` of the learner's paper of `source_id`, and
    the context of the passage `selected` from them (the learner's selection, if given)."""
    source = await get_source(db, learner=learner, source_id=source_id)
    paper = await queries.paper_of_source(db, learner_id=learner.id, source_id=source_id)
    if paper is None or paper.status is not PaperStatus.ready:
        raise DocumentNotReady()
    count = await queries.block_count(db, paper_id=paper.id)
    if last_block >= count or last_block - first_block + 1 > MOST_BLOCKS:
        raise PassageNotInPaper(count)
    material = await queries.passage_material(
        db, paper_id=paper.id, first_block=first_block, last_block=last_block
    )
    pages = [b.page for b in material.blocks if b.page is not None]
    place = PassagePlace(
        paper_title=paper.title or source.title,
        section_number=material.section_number,
        section_heading=material.section_heading,
        first_page=pages[0] if pages else None,
        last_page=pages[-1] if pages else None,
    )
    used = used_by(
        prose=[*(b.text for b in material.blocks), *([selected] if selected else [])],
        math=[b.latex for b in material.blocks if b.latex and b.kind is BlockKind.equation],
    )
    # A paragraph's LaTeX (a LaTeX source's) holds its inline math as the author wrote it.
    used |= used_by(
        prose=[b.latex for b in material.blocks if b.latex and b.kind is BlockKind.text]
    )
    symbols = symbols_for(material.symbols, first_block=first_block, used=used)
    context, tokens = paper_context(
        place,
        material.blocks,
        symbols,
        cap=context_cap(passage_budget),
        count=partial(count_text, model=model),
    )
    return Passage(
        source_id=source_id,
        first_block=first_block,
        last_block=last_block,
        paper_title=place.paper_title,
        section_number=place.section_number,
        section_heading=place.section_heading,
        page=place.first_page,
        context=context,
        context_tokens=tokens,
        text="\n\n".join(_as_text(block) for block in material.blocks),
    )


def _as_text(block: Block) -> str:
    if block.kind is BlockKind.equation and block.label:
        return f"{block.text} {block.label}"
    return block.text
