"""What Tutor measures, in one Prometheus registry per process (or per app).

A registry of its own (not prometheus_client's global one) so that several apps in one
process, as in the tests, count apart. Labels never name a learner: their number must
stay small, and /metrics must reveal nothing about anyone's studies.

Every process that calls the model (the API, `tutor scheduler`) exports the same
model-call metrics (`ProcessMetrics`); the HTTP ones are the API's alone (`Metrics`),
the job ones the scheduler's (service/metrics/jobs.py).
"""

from __future__ import annotations

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)

# Requests: from a cached page (1 ms) to a whole streamed answer (a minute or two).
_REQUEST_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)
# Time to first token: local models answer in tens of ms, busy hosted ones in seconds.
_FIRST_TOKEN_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60)
_MODEL_CALL_BUCKETS = (0.25, 0.5, 1, 2.5, 5, 10, 20, 40, 60, 120)


class ProcessMetrics:
    """A process's registry: its own resources, and the calls it makes to the model."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        self.model_calls = Counter(
            "tutor_model_calls",
            "Calls to the model, by purpose, model and outcome (ok, truncated, timeout, ...).",
            ["purpose", "model", "outcome"],
            registry=self.registry,
        )
        self.model_tokens = Counter(
            "tutor_model_tokens",
            "Tokens spent, by purpose, model and kind (prompt or completion).",
            ["purpose", "model", "kind"],
            registry=self.registry,
        )
        self.time_to_first_token = Histogram(
            "tutor_model_time_to_first_token_seconds",
            "From sending a call to its first token (the whole answer when not streamed).",
            ["purpose", "model"],
            buckets=_FIRST_TOKEN_BUCKETS,
            registry=self.registry,
        )
        self.model_call_seconds = Histogram(
            "tutor_model_call_duration_seconds",
            "From sending a call to its last token or its failure.",
            ["purpose", "model"],
            buckets=_MODEL_CALL_BUCKETS,
            registry=self.registry,
        )

    def model_call(
        self,
        *,
        purpose: str,
        model: str,
        outcome: str,
        prompt_tokens: int | None,
        completion_tokens: int | None,
        first_token_ms: int | None,
        duration_ms: int,
    ) -> None:
        self.model_calls.labels(purpose, model, outcome).inc()
        if prompt_tokens:
            self.model_tokens.labels(purpose, model, "prompt").inc(prompt_tokens)
        if completion_tokens:
            self.model_tokens.labels(purpose, model, "completion").inc(completion_tokens)
        if first_token_ms is not None:
            self.time_to_first_token.labels(purpose, model).observe(first_token_ms / 1000)
        self.model_call_seconds.labels(purpose, model).observe(duration_ms / 1000)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


class Metrics(ProcessMetrics):
    """The API's: requests, errors and streams besides the model calls."""

    def __init__(self) -> None:
        super().__init__()
        self.requests = Counter(
            "tutor_http_requests",
            "HTTP requests answered, by route template and status code.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.request_seconds = Histogram(
            "tutor_http_request_duration_seconds",
            "From the request's arrival to the end of its response (a whole stream for SSE).",
            ["method", "route"],
            buckets=_REQUEST_BUCKETS,
            registry=self.registry,
        )
        self.errors = Counter(
            "tutor_errors",
            "Errors answered, by their `error.code` (streamed `error` events included).",
            ["code"],
            registry=self.registry,
        )
        self.active_streams = Gauge(
            "tutor_active_streams",
            "Answers streaming to a client right now.",
            registry=self.registry,
        )
