"""create_app(): the FastAPI application with its routers, lifespan and static UI."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from service import __version__
from service.apidocs import router as docs_router
from service.archive.router import router as archive_router
from service.background import Background
from service.body_limit import BodySizeLimitMiddleware
from service.calls.recorder import CallRecorder
from service.cards.router import router as cards_router
from service.checks.router import router as checks_router
from service.clock import SystemClock
from service.config import Settings, load_settings
from service.critiques.router import router as critiques_router
from service.db import Database
from service.error_handlers import install_error_handlers
from service.exchange.router import (
    APKG_BODY_LIMIT,
    APKG_IMPORT_PATH,
    IMPORT_BODY_LIMIT,
    IMPORT_PATH,
)
from service.exchange.router import router as exchange_router
from service.health import router as health_router
from service.inflight import InFlight
from service.knowledge.router import router as knowledge_router
from service.learners.router import router as learners_router
from service.limits.service import Limits
from service.llm.openai_compatible import OpenAICompatibleModel
from service.metrics.calls import CallMetrics
from service.metrics.middleware import MetricsMiddleware
from service.metrics.registry import Metrics
from service.metrics.router import router as metrics_router
from service.openapi_docs import API_DESCRIPTION, SIGNED_IN, TAGS, error_responses
from service.openapi_tidy import tidy_document
from service.papers.arxiv_import import arxiv_imports
from service.papers.router import DOCUMENT_BODY_LIMIT, DOCUMENT_PATH
from service.papers.router import router as papers_router
from service.papers.router import states_router as document_states_router
from service.papers.sandbox import SandboxLimits
from service.papers.service import keep_sweeping
from service.prerequisites.router import router as prerequisites_router
from service.reviews.router import router as reviews_router
from service.sessions.recovery import keep_watch
from service.sources.router import router as sources_router
from service.studylog.router import router as studylog_router
from service.tutor.router import router as tutor_router
from service.webapp import WebApp

log = logging.getLogger(__name__)

# How long shutdown waits for cancelled answers to be saved: one small write each.
_SAVE_SECONDS = 5.0

# Every /v1 route may answer with these; a route's own answers of a status replace them.
_COMMON_ERRORS = error_responses(SIGNED_IN)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or load_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        database = Database.from_settings(settings)
        # Each finished call is counted (at no cost), then logged (a write).
        llm = OpenAICompatibleModel(
            settings.llm, listeners=[CallMetrics(app.state.metrics), CallRecorder(database)]
        )
        llm.warm_up()
        # No connection is made here: a replica may start before Redis does.
        limits = Limits.from_settings(settings)
        app.state.database = database
        app.state.llm = llm
        app.state.limits = limits
        watch = asyncio.create_task(keep_watch(database, app.state.in_flight))
        # Paper files whose source was deleted (the sources domain cannot know of them).
        sweep = asyncio.create_task(
            keep_sweeping(database.sessionmaker, settings, lambda: app.state.clock.now())
        )
        try:
            yield
        finally:
            watch.cancel()
            sweep.cancel()
            await app.state.background.close()
            # Answers cut by the shutdown are still saving; the database must outlive them.
            await app.state.in_flight.settle(at_most=_SAVE_SECONDS)
            await limits.close()
            await llm.close()
            await database.dispose()

    app = FastAPI(
        title="Tutor",
        version=__version__,
        summary="A self-hosted LLM tutor with spaced repetition.",
        description=API_DESCRIPTION,
        license_info={"name": "MIT", "identifier": "MIT"},
        # Relative: the API is where this document was fetched from (behind a proxy's
        # prefix, FastAPI adds the prefix from root_path).
        servers=[{"url": "/", "description": "This server"}],
        openapi_tags=TAGS,
        lifespan=lifespan,
        # FastAPI's pages load Swagger UI and ReDoc from a CDN; service/apidocs.py serves
        # Swagger UI from a package instead, and there is no /redoc.
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.clock = SystemClock()
    app.state.in_flight = InFlight(grace_seconds=settings.shutdown_grace_seconds)
    app.state.metrics = Metrics()
    app.state.background = Background()
    # What a paper's extraction may use (service/papers/sandbox.py); tests set smaller ones.
    app.state.paper_limits = SandboxLimits()
    # What POST /v1/sources with `arxiv` fetches and reads a paper with (sources sits
    # below papers, so it is handed the importer: service/sources/paper_imports.py).
    app.state.paper_imports = arxiv_imports
    app.add_middleware(
        BodySizeLimitMiddleware,
        per_path={
            IMPORT_PATH: IMPORT_BODY_LIMIT,
            APKG_IMPORT_PATH: APKG_BODY_LIMIT,
            DOCUMENT_PATH: DOCUMENT_BODY_LIMIT,
        },
    )
    # Added last, so outermost: it counts what the other middleware answers too.
    app.add_middleware(MetricsMiddleware, metrics=app.state.metrics)
    install_error_handlers(app)

    app.include_router(health_router)
    app.include_router(docs_router)
    app.include_router(metrics_router)
    for router in (
        learners_router,
        knowledge_router,
        sources_router,
        papers_router,
        document_states_router,
        tutor_router,
        critiques_router,
        checks_router,
        prerequisites_router,
        cards_router,
        exchange_router,
        archive_router,
        reviews_router,
        studylog_router,
    ):
        app.include_router(router, responses=_COMMON_ERRORS)
    # Last, so every API route wins over a file of the same name.
    app.mount("/", WebApp(), name="web")
    tidy_document(app)
    return app
