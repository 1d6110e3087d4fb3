"""GET /metrics: the Prometheus text format, without authentication, like the probes.

Nothing in it names a learner; still, publish it only where your Prometheus can reach
it (compose keeps the API's port to the host; a reverse proxy can hide the path).
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST

from service.metrics.registry import Metrics
from service.openapi_docs import UNAUTHENTICATED

router = APIRouter(tags=["health"])


@router.get(
    "/metrics",
    response_class=Response,
    operation_id="getMetrics",
    summary="Prometheus metrics",
    responses={
        200: {
            "content": {"text/plain": {"schema": {"type": "string"}}},
            "description": "The Prometheus text exposition format.",
        }
    },
    openapi_extra=UNAUTHENTICATED,
)
async def metrics(request: Request) -> Response:
    """Requests, errors, model calls, tokens, time to first token, active streams."""
    registry: Metrics = request.app.state.metrics
    return Response(registry.exposition(), media_type=CONTENT_TYPE_LATEST)
