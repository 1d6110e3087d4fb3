"""Tutoring sessions: create, list, read, rename, attach to a source, delete."""

from __future__ import annotations

import uuid

import httpx
import pytest

from fakellm import FakeLLM, Reply
from helpers import bearer, error_of


async def test_create_list_read_update_delete(api: httpx.AsyncClient) -> None:
    source = (await api.post("/v1/sources", json={"title": "Llama 2"})).json()
    created = await api.post("/v1/sessions", json={"title": "GQA", "source_id": source["id"]})
    assert created.status_code == 201
    session = created.json()
    assert (session["title"], session["source_id"]) == ("GQA", source["id"])

    detail = (await api.get(f"/v1/sessions/{session['id']}")).json()
    assert detail == {**session, "messages": []}

    renamed = await api.patch(
        f"/v1/sessions/{session['id']}",
        json={"title": "Grouped-query attention", "source_id": None},
    )
    assert renamed.status_code == 200
    assert (renamed.json()["title"], renamed.json()["source_id"]) == (
        "Grouped-query attention",
        None,
    )

    assert (await api.delete(f"/v1/sessions/{session['id']}")).status_code == 204
    gone = await api.get(f"/v1/sessions/{session['id']}")
    assert gone.status_code == 404
    assert error_of(gone)["code"] == "session_not_found"


async def test_untitled_session_takes_its_title_later(api: httpx.AsyncClient) -> None:
    session = (await api.post("/v1/sessions", json={})).json()
    assert session["title"] is None


async def test_list_pages_newest_first(api: httpx.AsyncClient) -> None:
    for n in range(5):
        await api.post("/v1/sessions", json={"title": f"s{n}"})
    first = (await api.get("/v1/sessions", params={"limit": 3})).json()
    second = (
        await api.get("/v1/sessions", params={"limit": 3, "cursor": first["next_cursor"]})
    ).json()
    assert [s["title"] for s in first["items"] + second["items"]] == ["s4", "s3", "s2", "s1", "s0"]
    assert second["next_cursor"] is None


async def test_deleting_a_session_deletes_its_messages(
    api: httpx.AsyncClient, fake_llm: FakeLLM, session
) -> None:
    from sqlalchemy import func, select

    from service.sessions.models import Message

    fake_llm.default = Reply("ok")
    session_id = (await api.post("/v1/sessions", json={})).json()["id"]
    await api.post(f"/v1/sessions/{session_id}/explain", json={"passage": "x"})
    assert await session.scalar(select(func.count(Message.id))) == 2
    await api.delete(f"/v1/sessions/{session_id}")
    assert await session.scalar(select(func.count(Message.id))) == 0


async def test_deleting_a_source_detaches_its_sessions(api: httpx.AsyncClient) -> None:
    source = (await api.post("/v1/sources", json={"title": "PPO"})).json()
    session = (await api.post("/v1/sessions", json={"source_id": source["id"]})).json()
    await api.delete(f"/v1/sources/{source['id']}")
    assert (await api.get(f"/v1/sessions/{session['id']}")).json()["source_id"] is None


@pytest.mark.parametrize("body", [{"title": ""}, {"title": "x" * 201}, {"unknown": 1}])
async def test_invalid_session_bodies(api: httpx.AsyncClient, body: dict[str, object]) -> None:
    response = await api.post("/v1/sessions", json=body)
    assert response.status_code == 422
    assert error_of(response)["code"] == "validation_error"


@pytest.mark.parametrize(
    "body",
    [
        {"passage": ""},
        {"passage": "x", "level": "expert"},
        {"passage": "x", "question": "q" * 20_001},
        {},
    ],
)
async def test_invalid_explain_bodies(api: httpx.AsyncClient, body: dict[str, object]) -> None:
    session_id = (await api.post("/v1/sessions", json={})).json()["id"]
    response = await api.post(f"/v1/sessions/{session_id}/explain", json=body)
    assert response.status_code == 422


async def test_another_learners_source_cannot_be_attached(
    api: httpx.AsyncClient, client: httpx.AsyncClient, make_learner
) -> None:
    other = await make_learner("grace")
    theirs = (
        await client.post("/v1/sources", json={"title": "theirs"}, headers=bearer(other.key))
    ).json()
    response = await api.post("/v1/sessions", json={"source_id": theirs["id"]})
    assert response.status_code == 404
    assert error_of(response)["code"] == "source_not_found"
    mine = (await api.post("/v1/sessions", json={})).json()
    response = await api.patch(f"/v1/sessions/{mine['id']}", json={"source_id": theirs["id"]})
    assert response.status_code == 404


async def test_another_learners_session_does_not_exist_for_you(
    api: httpx.AsyncClient, client: httpx.AsyncClient, make_learner, fake_llm: FakeLLM
) -> None:
    fake_llm.default = Reply("ok")
    session_id = (await api.post("/v1/sessions", json={"title": "mine"})).json()["id"]
    message_id = (
        await api.post(f"/v1/sessions/{session_id}/explain", json={"passage": "x"})
    ).json()["message"]["id"]
    requests_before = len(fake_llm.requests)
    theirs = bearer((await make_learner("grace")).key)
    base = f"/v1/sessions/{session_id}"
    for method, path, body in [
        ("GET", base, None),
        ("PATCH", base, {"title": "stolen"}),
        ("DELETE", base, None),
        ("POST", f"{base}/explain", {"passage": "x"}),
        ("POST", f"{base}/messages", {"content": "x"}),
        ("POST", f"{base}/messages/{message_id}/retry", None),
    ]:
        response = await client.request(method, path, json=body, headers=theirs)
        assert response.status_code == 404, (method, path)
        assert error_of(response)["code"] == "session_not_found"
    assert len(fake_llm.requests) == requests_before
    assert (await client.get("/v1/sessions", headers=theirs)).json()["items"] == []
    assert (await api.get(base)).json()["title"] == "mine"


async def test_retry_of_an_unknown_message(api: httpx.AsyncClient) -> None:
    session_id = (await api.post("/v1/sessions", json={})).json()["id"]
    response = await api.post(f"/v1/sessions/{session_id}/messages/{uuid.uuid4()}/retry")
    assert response.status_code == 404
    assert error_of(response)["code"] == "message_not_found"
