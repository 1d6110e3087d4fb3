"""A source from arXiv: `POST /v1/sources` with `arxiv`, id or link.

The id is read from what the learner pasted (arxiv.py, 422 `not_an_arxiv_id`), the
paper fetched from the configured arXiv (arxiv_fetch.py: its LaTeX source, else its
PDF), then the source is created and the paper's extraction started like an upload's
(service.py `start_extraction`, with latex.py's or pdf.py's extractor). The fetch is
done before the answer, within TUTOR_ARXIV_TIMEOUT: a paper arXiv does not have, or
that cannot be had, is a clear error and leaves no source behind; the reading, which
takes longer, is the background job `GET /v1/sources/{id}/document` follows.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncSession

from service.errors import Conflict
from service.learners.models import Learner
from service.papers import files
from service.papers.arxiv import parse_arxiv_id, waiting_title
from service.papers.arxiv_fetch import fetch_paper
from service.papers.extractors import Extractor
from service.papers.latex import document_from_source
from service.papers.pdf import document_from_pdf
from service.papers.service import ExtractionRunner, extraction_runner, start_extraction
from service.sources.models import Source, SourceKind
from service.sources.schemas import SourceCreate
from service.sources.service import create_source

# What reads each kind of file arXiv sends (arxiv_fetch.sniff names them).
_EXTRACTORS: dict[str, Extractor] = {
    "tar.gz": document_from_source,
    "tex.gz": document_from_source,
    "pdf": document_from_pdf,
}


class ArxivFetchOff(Conflict):
    code = "arxiv_fetch_off"

    def __init__(self) -> None:
        super().__init__(
            "Fetching papers from arXiv is turned off on this server (TUTOR_ARXIV_FETCH): "
            "create the source without `arxiv` and upload the paper's PDF to it."
        )


@dataclass(frozen=True)
class ArxivImports:
    """`service.sources.paper_imports.PaperImports`, for papers on arXiv."""

    runner: ExtractionRunner

    async def from_arxiv(
        self, session: AsyncSession, *, learner: Learner, data: SourceCreate
    ) -> Source:
        settings = self.runner.settings
        paper = parse_arxiv_id(data.arxiv or "")
        if not settings.arxiv.fetch:
            raise ArxivFetchOff()
        received = await fetch_paper(settings, paper)
        try:
            fields = {"url": paper.abs_url, "kind": SourceKind.paper}
            if "title" not in data.model_fields_set:
                fields["title"] = waiting_title(paper)  # until the paper's own is read
            source = await create_source(
                session, learner=learner, data=data.model_copy(update=fields)
            )
        except BaseException:
            files.discard(received.path)
            raise
        await start_extraction(
            session,
            self.runner,
            learner=learner,
            source_id=source.id,
            received=received,
            extractor=_EXTRACTORS[received.suffix],
        )
        return source


async def arxiv_imports(request: Request) -> ArxivImports:
    """What `app.state.paper_imports` holds (`PaperImportsFactory`)."""
    return ArxivImports(await extraction_runner(request))
