"""Fuzzing: schemathesis sends generated requests to every /v1 operation and checks that
nothing answers 5xx and that every answer is one the OpenAPI schema documents (status
code, content type, body).

The app runs in-process over ASGI, with its lifespan, rather than under a real uvicorn:
schemathesis starts the lifespan itself in the event loop it sends every request from,
so the database engine and the model client live in one loop, a failure's traceback
points into our code, and nothing waits on sockets or a server's start-up. The HTTP
layer uvicorn adds is covered by the tests that run `tutor serve`.

The model is tests/fakellm with one default reply that is valid JSON for both
structured answers (a critique and a batch of cards) and harmless Markdown for the rest,
so the model endpoints answer as they would in production instead of failing for lack
of a script.

Two kinds of test:

- Each operation alone, 100 examples (positive and negative), against a learner with a
  source, a session, an answer, a critique and a reviewed card, whose ids some examples
  use so that they reach real resources rather than a 404.
- Workflows (stateful): schemathesis chains operations, feeding ids from one response
  into the next request. The schema declares no OpenAPI links; schemathesis infers them
  from it (a `card_id` in a response feeds `/v1/cards/{card_id}` and the `card_id` of a
  review, and so on). This reaches what no single request can: grading a card created a
  step before, a distill of a session without an answer, a status move on an accepted
  card.

For CI: derandomized (the same cases on every run), no example database, no coverage
phase; the model routes are not rate limited here, so that generated requests reach the
code behind the limiter (tests/api/limits/test_limits.py tests the limiter itself).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.transport import Response
from schemathesis.generation.stateful import run_state_machine_as_test
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from fakellm import FakeLLM, Reply
from helpers import ANY_TASK_REPLY, bearer
from service.app import create_app
from service.config import Settings
from service.db import Database
from service.learners.service import create_learner

EXAMPLES_PER_OPERATION = 100
# Workflows of up to WORKFLOW_STEPS requests each.
WORKFLOWS = 100
WORKFLOW_STEPS = 10
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]

GENERATION = settings(
    max_examples=EXAMPLES_PER_OPERATION,
    derandomize=True,  # the same cases on every run
    database=None,
    deadline=None,
    # No `explain` phase: it replays a failure many times to annotate lines; CI time matters.
    phases=[Phase.explicit, Phase.generate, Phase.shrink],
    # The fixtures are per test on purpose (one database per operation), not per example.
    suppress_health_check=list(HealthCheck),
)
WORKFLOW_GENERATION = settings(
    GENERATION,
    max_examples=WORKFLOWS,
    stateful_step_count=WORKFLOW_STEPS,
    # Shrinking a workflow replays it many times over; the failure's requests are shown
    # (with a curl line for each) without it.
    phases=[Phase.generate],
)


def _openapi() -> dict[str, Any]:
    # Only the schema is needed here, so no database is opened. Every app built from the
    # same code has the same schema, so it is made once, not once per test.
    app = create_app(Settings(database_url="sqlite://", _env_file=None))
    return app.openapi()


OPENAPI = _openapi()
V1_OPERATIONS = [
    (method.upper(), path)
    for path, methods in OPENAPI["paths"].items()
    if path.startswith("/v1/")
    for method in methods
]


# Answers the generated requests seldom or never get (the model here does not fail), but
# clients do: each must be documented all the same.
RARELY_REACHED = [
    ("post", "/v1/study-log/{day}/regenerate", "502"),  # the model failed
    ("post", "/v1/study-log/{day}/regenerate", "504"),
    ("post", "/v1/reviews", "409"),  # not due: graded already today
    ("post", "/v1/sessions/{session_id}/distill", "409"),  # nothing to distill yet
    ("patch", "/v1/cards/{card_id}", "409"),  # an active card made a draft again
]


@pytest.mark.parametrize(("method", "path", "status"), RARELY_REACHED)
def test_answers_fuzzing_seldom_reaches_are_documented(method: str, path: str, status: str) -> None:
    assert status in OPENAPI["paths"][path][method]["responses"]


async def _new_key(database: Database) -> str:
    async with database.sessionmaker() as session:
        name = f"fuzz-{uuid.uuid4().hex[:12]}"
        issued = await create_learner(session, name=name, timezone="Europe/Berlin")
        return issued.key


async def _issue_key(settings: Settings) -> str:
    # Its own engine in its own loop: the app's engine belongs to schemathesis's loop.
    database = Database(settings.database)
    try:
        return await _new_key(database)
    finally:
        await database.dispose()


def _seed(client: Any, headers: dict[str, str]) -> dict[str, str]:
    """Real resources, so that some generated requests reach them instead of a 404."""

    def ok(response: Any) -> Any:
        assert response.status_code < 300, (response.status_code, response.text)
        return response.json() if response.content else None

    post = client.post
    source = ok(post("/v1/sources", json={"title": "Attention"}, headers=headers))
    session = ok(post("/v1/sessions", json={"source_id": source["id"]}, headers=headers))
    base = f"/v1/sessions/{session['id']}"
    explained = ok(
        post(f"{base}/explain", json={"passage": "Scale by 1/sqrt(d_k)."}, headers=headers)
    )
    critique = {"concept": "attention", "explanation": "Softmax of QK^T over sqrt d_k, times V."}
    critiqued = ok(post(f"{base}/critiques", json=critique, headers=headers))
    explanation_id = explained["message"]["id"]
    check = ok(
        post(f"{base}/messages/{explanation_id}/check", json={"answer": "V"}, headers=headers)
    )
    cards = ok(post(f"{base}/distill", json={}, headers=headers))["cards"]
    card_ids = [card["id"] for card in cards]
    ok(post("/v1/cards/accept", json={"ids": card_ids}, headers=headers))
    ok(post("/v1/reviews", json={"card_id": card_ids[0], "grade": 4}, headers=headers))
    messages = ok(client.get(base, headers=headers))["messages"]
    return {
        "source_id": source["id"],
        "session_id": session["id"],
        "message_id": messages[-1]["id"],
        "card_id": card_ids[-1],
        "critique_id": critiqued["id"],
        "check_id": check["id"],
        "day": datetime.now(UTC).date().isoformat(),
        "misconception_id": f"{critiqued['id']}.0",
        "concept": critique["concept"],
    }


@pytest.fixture
def fuzz_key(settings: Settings) -> str:
    return asyncio.run(_issue_key(settings))


@pytest.fixture
def fuzz_app(fake_llm: FakeLLM, settings: Settings) -> Iterator[FastAPI]:
    fake_llm.default = Reply(ANY_TASK_REPLY)
    app = create_app(settings.model_copy(update={"rate_limit_per_minute": 0}))
    try:
        yield app
    finally:
        # schemathesis started the app's lifespan on first use; this ends it.
        asgi.shutdown_lifespans()


@pytest.mark.parametrize(("method", "path"), V1_OPERATIONS)
def test_every_operation_answers_as_documented(
    fuzz_app: FastAPI, fuzz_key: str, method: str, path: str
) -> None:
    schema = schemathesis.openapi.from_dict(OPENAPI)
    schema.app = fuzz_app  # what from_asgi does, without fetching the schema again
    operation = schema[path][method]
    headers = bearer(fuzz_key)
    with asgi.get_client(fuzz_app) as client:
        real = _seed(client, headers)
    strategies = [operation.as_strategy(mode) for mode in GenerationMode]
    names = [p.name for p in operation.path_parameters]
    if names:
        # Generated ids almost always miss; these reach the learner's real resources.
        known = {name: real[name] for name in names}
        strategies += [
            operation.as_strategy(mode, path_parameters=known) for mode in GenerationMode
        ]

    @GENERATION
    @given(case=st.one_of(strategies))
    def check(case: schemathesis.Case) -> None:
        case.call_and_validate(headers=headers, checks=CHECKS)

    check()


def test_workflows_answer_as_documented(fuzz_app: FastAPI, settings: Settings) -> None:
    schema = schemathesis.openapi.from_dict(OPENAPI)
    schema.app = fuzz_app
    # One loop and one engine for the keys, beside the app's own (see _issue_key).
    with asyncio.Runner() as runner:
        database = Database(settings.database)

        class Workflow(schema.as_state_machine()):  # type: ignore[misc]
            def setup(self) -> None:
                # A new learner per workflow: workflows do not see each other's data, so
                # a workflow replayed draws what it drew the first time (Hypothesis stops
                # a test whose generation depends on outside state).
                self.headers = bearer(runner.run(_new_key(database)))

            def get_call_kwargs(self, case: schemathesis.Case) -> dict[str, Any]:
                return {"headers": self.headers}

            def validate_response(
                self, response: Response, case: schemathesis.Case, *_: Any, **__: Any
            ) -> None:
                case.validate_response(response, checks=CHECKS)

        try:
            run_state_machine_as_test(Workflow, settings=WORKFLOW_GENERATION)
        finally:
            runner.run(database.dispose())
