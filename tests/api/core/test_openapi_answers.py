"""Real answers against the OpenAPI document: refusals with a status and a code the
operation documents, streamed events that fit the event schemas, and PATCH fields that
take null where the document says so (tests/api/core/test_openapi.py checks the
document itself)."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
from jsonschema import Draft202012Validator

from fakellm import CutStream, Failure, FakeLLM, Reply
from helpers import error_of
from service.app import create_app
from service.config import Settings

OPENAPI: dict[str, Any] = create_app(Settings(database_url="sqlite://", _env_file=None)).openapi()
PASSAGE = "We compute the dot products of the query with all keys, divide each by √d_k."


def _documented(operation: str, response: httpx.Response) -> None:
    """The response's status, and its `error.code`, are among the operation's own."""
    method, path = operation.split(" ", 1)
    responses = OPENAPI["paths"][path][method.lower()]["responses"]
    status = str(response.status_code)
    assert status in responses, f"{operation}: {status} undocumented ({response.text})"
    code = error_of(response)["code"]
    examples = responses[status]["content"]["application/json"]["examples"]
    assert code in examples, f"{operation}: {code} undocumented under {status}"


async def _session(api: httpx.AsyncClient) -> str:
    created = await api.post("/v1/sessions", json={})
    assert created.status_code == 201, created.text
    session_id: str = created.json()["id"]
    return session_id


async def test_refusals_are_documented_for_their_operation(
    api: httpx.AsyncClient, fake_llm: FakeLLM
) -> None:
    missing = f"/v1/sources/{uuid.uuid4()}"
    _documented("GET /v1/sources/{source_id}", await api.get(missing))
    _documented(
        "POST /v1/sources",
        await api.post(
            "/v1/sources", content=b'{"title": ', headers={"Content-Type": "application/json"}
        ),
    )
    too_large = await api.post("/v1/sources", json={"title": "BERT", "notes": "x" * 1_100_000})
    assert too_large.status_code == 413
    _documented("POST /v1/sources", too_large)
    _documented("GET /v1/me", await api.get("/v1/me", headers={"Authorization": "Bearer no"}))
    _documented("PATCH /v1/me", await api.patch("/v1/me", json={"name": "grace"}))
    not_multipart = await api.post("/v1/import/csv", json={"file": "front,back"})
    _documented("POST /v1/import/csv", not_multipart)

    card = (await api.post("/v1/cards", json={"front": "What does Adam correct?"})).json()
    graded = await api.post("/v1/reviews", json={"card_id": card["id"], "grade": 5})
    assert graded.status_code == 201, graded.text
    again = await api.post("/v1/reviews", json={"card_id": card["id"], "grade": 5})
    assert error_of(again)["code"] == "not_due"
    _documented("POST /v1/reviews", again)

    session_id = await _session(api)
    fake_llm.script(Failure(500, "overloaded"))
    failed = await api.post(f"/v1/sessions/{session_id}/explain", json={"passage": PASSAGE})
    assert failed.status_code == 502
    _documented("POST /v1/sessions/{session_id}/explain", failed)
    fake_llm.script(Reply("Each query scores every key."))
    retried = await api.post(
        f"/v1/sessions/{session_id}/messages/{error_of(failed)['details']['message_id']}/retry"
    )
    assert retried.status_code == 200, retried.text
    answer_id = retried.json()["message"]["id"]
    not_retryable = await api.post(f"/v1/sessions/{session_id}/messages/{answer_id}/retry")
    _documented("POST /v1/sessions/{session_id}/messages/{message_id}/retry", not_retryable)


def _events(body: str) -> list[dict[str, str]]:
    """Each event of a stream as the document describes one: its name and its data."""
    events = []
    for block in body.replace("\r\n", "\n").split("\n\n"):
        lines = [line for line in block.splitlines() if line and not line.startswith(":")]
        if lines:
            events.append(dict(line.split(": ", 1) for line in lines))
    return events


def _check_stream(body: str, names: list[str]) -> None:
    path = OPENAPI["paths"]["/v1/sessions/{session_id}/explain"]["post"]
    schema = path["responses"]["200"]["content"]["text/event-stream"]["schema"]
    components = {"components": OPENAPI["components"]}
    events = _events(body)
    assert [event["event"] for event in events] == names
    for event in events:
        Draft202012Validator({**schema, **components}).validate(event)
        (kind,) = [
            k for k in schema["oneOf"] if k["properties"]["event"]["const"] == event["event"]
        ]
        data_schema = kind["properties"]["data"]["contentSchema"]
        checker = Draft202012Validator.FORMAT_CHECKER
        Draft202012Validator({**data_schema, **components}, format_checker=checker).validate(
            json.loads(event["data"])
        )


async def test_a_streamed_answer_fits_the_documented_events(
    api: httpx.AsyncClient, fake_llm: FakeLLM
) -> None:
    fake_llm.script(Reply("Each query scores every key.", chunk_size=6, delay_between_chunks=0.01))
    response = await api.post(
        f"/v1/sessions/{await _session(api)}/explain",
        json={"passage": PASSAGE},
        headers={"Accept": "text/event-stream"},
    )
    assert response.status_code == 200
    names = [event["event"] for event in _events(response.text)]
    assert len(names) > 2
    _check_stream(response.text, ["delta"] * (len(names) - 1) + ["done"])


async def test_a_stream_that_breaks_off_fits_the_documented_events(
    api: httpx.AsyncClient, fake_llm: FakeLLM
) -> None:
    fake_llm.script(CutStream("Attention weights are a softmax over", after_chunks=3))
    response = await api.post(
        f"/v1/sessions/{await _session(api)}/explain",
        json={"passage": PASSAGE},
        headers={"Accept": "text/event-stream"},
    )
    names = [event["event"] for event in _events(response.text)]
    assert names[-1] == "error"
    _check_stream(response.text, ["delta"] * (len(names) - 1) + ["error"])


async def test_a_session_title_takes_null_as_documented(api: httpx.AsyncClient) -> None:
    titled = (await api.post("/v1/sessions", json={"title": "Adam"})).json()
    cleared = await api.patch(f"/v1/sessions/{titled['id']}", json={"title": None})
    assert cleared.status_code == 200, cleared.text
    assert cleared.json()["title"] is None
    assert (await api.get(f"/v1/sessions/{titled['id']}")).json()["title"] is None
    # A field the document says is not nullable refuses null.
    refused = await api.patch("/v1/me", json={"timezone": None})
    assert refused.status_code == 422
    assert error_of(refused)["details"][0]["field"] == "timezone"
