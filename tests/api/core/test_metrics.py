"""GET /metrics: requests, errors by code, model calls, tokens, first tokens, streams."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from prometheus_client.parser import text_string_to_metric_families

from fakellm import CutStream, Failure, FakeLLM, Reply
from helpers import bearer
from service.learners.service import IssuedKey

PASSAGE = "We scale the dot products by 1/sqrt(d_k)."
SSE = {"Accept": "text/event-stream"}
MODEL = "tutor-test-model"
EXPLAIN_ROUTE = "/v1/sessions/{session_id}/explain"


async def scrape(http: httpx.AsyncClient) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of /metrics, by name and labels; no key needed."""
    response = await http.get("/metrics", headers={"Authorization": ""})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


async def new_session(http: httpx.AsyncClient) -> str:
    response = await http.post("/v1/sessions", json={})
    assert response.status_code == 201
    session_id: str = response.json()["id"]
    return session_id


async def test_an_explain_counts_its_request_model_call_tokens_and_first_token(
    api: httpx.AsyncClient, fake_llm: FakeLLM
) -> None:
    fake_llm.script(Reply("Softmax saturates.", prompt_tokens=120, completion_tokens=30))
    session_id = await new_session(api)
    before = await scrape(api)
    response = await api.post(f"/v1/sessions/{session_id}/explain", json={"passage": PASSAGE})
    assert response.status_code == 200

    after = await scrape(api)
    route = {"method": "POST", "route": EXPLAIN_ROUTE}
    assert value(after, "tutor_http_requests_total", **route, status="200") == 1
    assert value(after, "tutor_http_request_duration_seconds_count", **route) == 1
    model = {"purpose": "explain", "model": MODEL}
    assert value(after, "tutor_model_calls_total", **model, outcome="ok") == 1
    assert value(after, "tutor_model_tokens_total", **model, kind="prompt") == 120
    assert value(after, "tutor_model_tokens_total", **model, kind="completion") == 30
    assert value(after, "tutor_model_time_to_first_token_seconds_count", **model) == 1
    assert value(after, "tutor_model_call_duration_seconds_count", **model) == 1
    # Counted once: the scrape before saw none of it.
    assert value(before, "tutor_model_calls_total", **model, outcome="ok") == 0


async def test_errors_are_counted_by_their_code(api: httpx.AsyncClient) -> None:
    await api.get(f"/v1/cards/{uuid.uuid4()}")
    await api.get(f"/v1/cards/{uuid.uuid4()}")
    await api.post(
        "/v1/sources", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    await api.get("/v1/me", headers={"Authorization": "Bearer tutor_nope"})
    await api.post("/v1/sources", content=b"x" * (2 * 1024 * 1024))  # refused by middleware

    samples = await scrape(api)
    assert value(samples, "tutor_errors_total", code="card_not_found") == 2
    assert value(samples, "tutor_errors_total", code="invalid_json") == 1
    assert value(samples, "tutor_errors_total", code="unauthorized") == 1
    assert value(samples, "tutor_errors_total", code="body_too_large") == 1
    assert value(samples, "tutor_errors_total", code="unknown") == 0
    card = {"method": "GET", "route": "/v1/cards/{card_id}"}
    assert value(samples, "tutor_http_requests_total", **card, status="404") == 2


async def test_a_failure_before_the_answer_counts_the_call_and_the_error(
    api: httpx.AsyncClient, fake_llm: FakeLLM
) -> None:
    fake_llm.script(Failure(500))
    session_id = await new_session(api)
    response = await api.post(f"/v1/sessions/{session_id}/explain", json={"passage": PASSAGE})
    code = response.json()["error"]["code"]
    assert response.status_code == 502

    samples = await scrape(api)
    assert value(samples, "tutor_errors_total", code=code) == 1
    calls = {
        labels: count
        for (name, labels), count in samples.items()
        if name == "tutor_model_calls_total"
    }
    assert sum(calls.values()) == 1
    assert dict(next(iter(calls))).get("outcome") == "error"


async def test_an_error_in_a_stream_is_counted_though_the_status_was_200(
    api: httpx.AsyncClient, fake_llm: FakeLLM
) -> None:
    fake_llm.script(CutStream("Attention weighs the values by", after_chunks=2))
    session_id = await new_session(api)
    response = await api.post(
        f"/v1/sessions/{session_id}/explain", json={"passage": PASSAGE}, headers=SSE
    )
    assert response.status_code == 200
    assert "event: error" in response.text

    samples = await scrape(api)
    assert errors_by_code(samples) == {"llm_interrupted": 1}  # once, and nothing else
    model = {"purpose": "explain", "model": MODEL}
    assert value(samples, "tutor_model_calls_total", **model, outcome="interrupted") == 1


async def test_active_streams_rise_while_an_answer_streams_and_fall_after(
    live_url: str, learner: IssuedKey, fake_llm: FakeLLM
) -> None:
    fake_llm.script(Reply("Rotary embeddings rotate pairs. " * 20, delay_between_chunks=0.02))
    async with httpx.AsyncClient(base_url=live_url, headers=bearer(learner.key)) as http:
        session_id = await new_session(http)
        url = f"/v1/sessions/{session_id}/explain"
        async with http.stream("POST", url, json={"passage": PASSAGE}, headers=SSE) as stream:
            lines = stream.aiter_lines()
            async for line in lines:
                if line == "event: delta":
                    break
            assert value(await scrape(http), "tutor_active_streams") == 1
            async for _ in lines:
                pass  # to the end of the answer
        for _ in range(100):  # the response winds down a moment after its last byte
            if value(await scrape(http), "tutor_active_streams") == 0:
                break
            await asyncio.sleep(0.02)
        assert value(await scrape(http), "tutor_active_streams") == 0


async def test_the_metrics_name_no_learner_and_no_resource(
    api: httpx.AsyncClient, learner: IssuedKey, fake_llm: FakeLLM
) -> None:
    fake_llm.script(Reply("An answer."))
    session_id = await new_session(api)
    await api.post(f"/v1/sessions/{session_id}/explain", json={"passage": PASSAGE})
    await api.get(f"/v1/sessions/{session_id}")

    text = (await api.get("/metrics")).text
    for secret in (session_id, str(learner.learner.id), learner.key, "ada", PASSAGE):
        assert secret not in text
    assert 'route="/v1/sessions/{session_id}"' in text


@pytest.mark.parametrize("path", ["/no/such/page.php", "/v1/nothing/here"])
async def test_unknown_paths_share_one_label(api: httpx.AsyncClient, path: str) -> None:
    await api.get(path)
    text = (await api.get("/metrics")).text
    assert path not in text


def requests_by_route(samples: dict) -> dict[tuple[str, str, str], float]:
    return {
        (labels["method"], labels["route"], labels["status"]): count
        for (name, label_set), count in samples.items()
        if name == "tutor_http_requests_total"
        for labels in [dict(label_set)]
        if labels["route"] != "/metrics"
    }


@pytest.mark.parametrize(
    ("method", "path", "route", "status"),
    [
        # The web app: its one page (hash-routed), its files grouped by kind.
        ("GET", "/", "/", 200),
        ("GET", "/index.html", "/", 200),
        ("HEAD", "/", "/", 200),
        ("GET", "/app.js", "/*.js", 200),
        ("GET", "/lib/api.js", "/*.js", 200),
        ("GET", "/pages/review.js", "/*.js", 200),
        ("GET", "/app.css", "/*.css", 200),
        ("GET", "/favicon.svg", "/*.svg", 200),
        ("POST", "/", "/", 405),
        # What is not /v1: by its path or template.
        ("GET", "/docs", "/docs", 200),
        ("GET", "/docs/assets/swagger-ui.css", "/docs/assets/{name}", 200),
        ("GET", "/openapi.json", "/openapi.json", 200),
        ("GET", "/healthz", "/healthz", 200),
        ("GET", "/readyz", "/readyz", 200),
        # The API: by template.
        ("GET", "/v1/me", "/v1/me", 200),
        ("GET", "/v1/cards/0b9c1c5e-5d1e-4a53-9f4e-2f0c6a1b7d10", "/v1/cards/{card_id}", 404),
        ("PUT", "/v1/me", "/v1/me", 405),
        # Nothing serves these: one label, never the path.
        ("GET", "/no/such/page.php", "unmatched", 404),
        ("GET", "/v1/nothing/here", "unmatched", 404),
        ("GET", "/lib/", "unmatched", 404),
        ("GET", "/app.js.map", "unmatched", 404),
        ("POST", "/wp-login.php", "unmatched", 405),
    ],
)
async def test_each_kind_of_path_gets_its_route_label(
    api: httpx.AsyncClient, method: str, path: str, route: str, status: int
) -> None:
    response = await api.request(method, path)
    assert response.status_code == status

    counted = requests_by_route(await scrape(api))
    assert counted == {(method, route, str(status)): 1}


@pytest.mark.parametrize(
    ("method", "path", "route"),
    [
        ("POST", "/v1/sources", "/v1/sources"),
        # `/v1/cards/{card_id}` takes the path too, with other methods.
        ("POST", "/v1/cards/accept", "/v1/cards/accept"),
        ("PATCH", "/v1/cards/0b9c1c5e-5d1e-4a53-9f4e-2f0c6a1b7d10", "/v1/cards/{card_id}"),
        ("POST", "/", "/"),
        ("POST", "/no/such/upload.php", "unmatched"),
    ],
)
async def test_a_body_refused_before_routing_is_labelled_with_its_route(
    api: httpx.AsyncClient, method: str, path: str, route: str
) -> None:
    response = await api.request(method, path, content=b"x" * (2 * 1024 * 1024))
    assert response.status_code == 413

    counted = requests_by_route(await scrape(api))
    assert counted == {(method, route, "413"): 1}


def errors_by_code(samples: dict) -> dict[str, float]:
    return {
        dict(labels)["code"]: count
        for (name, labels), count in samples.items()
        if name == "tutor_errors_total"
    }


async def _chunked(body: bytes) -> AsyncIterator[bytes]:
    for start in range(0, len(body), 64 * 1024):
        yield body[start : start + 64 * 1024]


async def _not_due(api: httpx.AsyncClient) -> httpx.Response:
    card = await api.post("/v1/cards", json={"front": "Why scale logits?", "back": "Softmax"})
    assert card.status_code == 201, card.text
    review = {"card_id": card.json()["id"], "grade": 4}
    assert (await api.post("/v1/reviews", json=review)).status_code == 201
    return await api.post("/v1/reviews", json=review)


ERRORS = {
    "declared body too large": (
        lambda api: api.post("/v1/sources", content=b"x" * (2 * 1024 * 1024)),
        413,
        "body_too_large",
    ),
    "chunked body too large": (
        lambda api: api.post(
            "/v1/sources",
            content=_chunked(b"x" * (2 * 1024 * 1024)),
            headers={"Content-Type": "application/json"},
        ),
        413,
        "body_too_large",
    ),
    "validation": (lambda api: api.post("/v1/sources", json={}), 422, "validation_error"),
    "invalid JSON": (
        lambda api: api.post(
            "/v1/sources", content=b"{not json", headers={"Content-Type": "application/json"}
        ),
        422,
        "invalid_json",
    ),
    "unknown route": (lambda api: api.get("/v1/nothing/here"), 404, "not_found"),
    "unknown web app file": (lambda api: api.get("/nope.js"), 404, "not_found"),
    "unknown resource": (
        lambda api: api.get(f"/v1/cards/{uuid.uuid4()}"),
        404,
        "card_not_found",
    ),
    "method": (lambda api: api.put("/v1/me"), 405, "method_not_allowed"),
    "no key": (
        lambda api: api.get("/v1/me", headers={"Authorization": "Bearer tutor_nope"}),
        401,
        "unauthorized",
    ),
    "conflict": (_not_due, 409, "not_due"),
}


@pytest.mark.parametrize("case", ERRORS.values(), ids=ERRORS.keys())
async def test_each_error_is_counted_once_with_its_code(
    api: httpx.AsyncClient, case: tuple[Callable[..., Awaitable[httpx.Response]], int, str]
) -> None:
    send, status, code = case
    response = await send(api)
    assert response.status_code == status
    assert response.json()["error"]["code"] == code

    assert errors_by_code(await scrape(api)) == {code: 1}


async def test_an_unhandled_exception_is_counted_once_as_internal_error(
    app: FastAPI, api: httpx.AsyncClient
) -> None:
    async def explode() -> None:
        raise RuntimeError("a bug")

    app.router.routes.insert(0, APIRoute("/v1/boom", explode))
    response = await api.get("/v1/boom")
    assert response.status_code == 500

    samples = await scrape(api)
    assert errors_by_code(samples) == {"internal_error": 1}
    assert requests_by_route(samples) == {("GET", "/v1/boom", "500"): 1}
