"""A source made from a paper Tutor fetches itself: `POST /v1/sources` with `arxiv`.

Fetching and reading a paper is the papers domain's, which sits above this one; the
route that creates sources is here. So the app hands the route what imports a paper
(`app.state.paper_imports`, set in service/app.py), as it hands every route the model:
this module names what the route needs, service/papers/arxiv_import.py provides it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncSession

from service.learners.models import Learner
from service.openapi_docs import Refusal
from service.sources.models import Source
from service.sources.schemas import SourceCreate


class PaperImports(Protocol):
    async def from_arxiv(
        self, session: AsyncSession, *, learner: Learner, data: SourceCreate
    ) -> Source:
        """Fetch the paper `data.arxiv` names, create its source, start reading it."""
        ...


# Built per request: it needs the app's database, background tasks and settings.
PaperImportsFactory = Callable[[Request], Awaitable[PaperImports]]


async def paper_imports(request: Request) -> PaperImports:
    factory: PaperImportsFactory = request.app.state.paper_imports
    return await factory(request)


# What importing from arXiv can answer (service/papers/arxiv*.py raises them).
ARXIV_REFUSALS = (
    Refusal(
        422,
        "not_an_arxiv_id",
        "`arxiv` is neither an arXiv id (1706.03762, cs/0112017) nor a link to an arXiv paper.",
    ),
    Refusal(
        409,
        "arxiv_fetch_off",
        "Fetching papers from arXiv is turned off on this server (TUTOR_ARXIV_FETCH): "
        "create the source without `arxiv` and upload the PDF.",
    ),
    Refusal(422, "arxiv_not_found", "arXiv has no paper with that id."),
    Refusal(
        422,
        "arxiv_too_large",
        "The paper's source and its PDF are both over TUTOR_ARXIV_MAX_BYTES.",
    ),
    Refusal(502, "arxiv_unavailable", "arXiv answered with an error or could not be reached."),
    Refusal(504, "arxiv_timeout", "arXiv did not deliver the paper within TUTOR_ARXIV_TIMEOUT."),
)
