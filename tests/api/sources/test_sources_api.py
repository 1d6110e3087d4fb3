"""The reading queue over HTTP: create, read, filter, page, change, delete."""

from __future__ import annotations

import uuid

import httpx
import pytest

from helpers import bearer, error_of

ATTENTION = {
    "title": "Attention Is All You Need",
    "url": "https://arxiv.org/abs/1706.03762",
    "kind": "paper",
}


async def test_create_then_read_back(api: httpx.AsyncClient) -> None:
    created = await api.post("/v1/sources", json={**ATTENTION, "notes": "Section 3.2 first."})
    assert created.status_code == 201
    source = created.json()
    assert source["title"] == ATTENTION["title"]
    assert source["url"] == ATTENTION["url"]
    assert source["status"] == "queued"
    assert source["notes"] == "Section 3.2 first."
    assert source["created_at"] == source["updated_at"]
    assert source["created_at"].endswith("Z") or source["created_at"].endswith("+00:00")

    fetched = await api.get(f"/v1/sources/{source['id']}")
    assert fetched.status_code == 200
    assert fetched.json() == source


async def test_defaults_for_a_bare_title(api: httpx.AsyncClient) -> None:
    source = (await api.post("/v1/sources", json={"title": "  GPT-2  "})).json()
    assert source["title"] == "GPT-2"
    assert (source["url"], source["kind"], source["status"], source["notes"]) == (
        None,
        "paper",
        "queued",
        "",
    )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"title": ""}, "title"),
        ({"title": "   "}, "title"),
        ({"title": "x" * 301}, "title"),
        ({"title": "PPO", "url": "ftp://example.org/ppo.pdf"}, "url"),
        ({"title": "PPO", "url": "javascript:alert(1)"}, "url"),
        ({"title": "PPO", "url": "not a url"}, "url"),
        ({"title": "PPO", "kind": "podcast"}, "kind"),
        ({"title": "PPO", "status": "finished"}, "status"),
        ({"title": "PPO", "owner": "someone"}, "owner"),
        ({}, "title"),
    ],
)
async def test_invalid_source_is_refused_naming_the_field(
    api: httpx.AsyncClient, body: dict[str, object], field: str
) -> None:
    response = await api.post("/v1/sources", json=body)
    assert response.status_code == 422
    error = error_of(response)
    assert error["code"] == "validation_error"
    assert [detail["field"] for detail in error["details"]] == [field]
    assert error["message"].startswith(f"{field}:")


async def test_url_is_kept_as_written(api: httpx.AsyncClient) -> None:
    source = (
        await api.post("/v1/sources", json={"title": "DPO", "url": "http://arxiv.org"})
    ).json()
    assert source["url"] == "http://arxiv.org"


async def test_list_is_newest_first_and_pages_with_a_cursor(api: httpx.AsyncClient) -> None:
    titles = [f"paper {n}" for n in range(7)]
    for title in titles:
        assert (await api.post("/v1/sources", json={"title": title})).status_code == 201

    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        params: dict[str, str | int] = {"limit": 3}
        if cursor:
            params["cursor"] = cursor
        page = (await api.get("/v1/sources", params=params)).json()
        pages += 1
        seen += [item["title"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(titles))
    assert pages == 3


async def test_a_cursor_survives_inserts_between_pages(api: httpx.AsyncClient) -> None:
    for n in range(4):
        await api.post("/v1/sources", json={"title": f"old {n}"})
    first = (await api.get("/v1/sources", params={"limit": 2})).json()
    await api.post("/v1/sources", json={"title": "new while paging"})
    second = (
        await api.get("/v1/sources", params={"limit": 2, "cursor": first["next_cursor"]})
    ).json()
    assert [s["title"] for s in first["items"] + second["items"]] == [
        "old 3",
        "old 2",
        "old 1",
        "old 0",
    ]


async def test_filter_by_status(api: httpx.AsyncClient) -> None:
    for title, status in [("a", "queued"), ("b", "reading"), ("c", "done"), ("d", "reading")]:
        await api.post("/v1/sources", json={"title": title, "status": status})
    reading = (await api.get("/v1/sources", params={"status": "reading"})).json()
    assert [s["title"] for s in reading["items"]] == ["d", "b"]
    bad = await api.get("/v1/sources", params={"status": "someday"})
    assert bad.status_code == 422
    assert error_of(bad)["details"][0]["field"] == "query.status"


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 201}, {"cursor": "not-a-cursor"}])
async def test_bad_paging_parameters(api: httpx.AsyncClient, params: dict[str, object]) -> None:
    response = await api.get("/v1/sources", params=params)
    assert response.status_code == 422
    assert error_of(response)["code"] in {"validation_error", "invalid_cursor"}


async def test_patch_changes_only_what_is_sent(api: httpx.AsyncClient) -> None:
    source = (await api.post("/v1/sources", json=ATTENTION)).json()
    patched = await api.patch(
        f"/v1/sources/{source['id']}", json={"status": "reading", "notes": "multi-head: why 8?"}
    )
    assert patched.status_code == 200
    body = patched.json()
    assert body["status"] == "reading"
    assert body["notes"] == "multi-head: why 8?"
    assert body["title"] == ATTENTION["title"]
    assert body["url"] == ATTENTION["url"]
    assert body["updated_at"] > source["updated_at"]
    assert body["created_at"] == source["created_at"]


async def test_patch_null_clears_url_but_not_title(api: httpx.AsyncClient) -> None:
    source = (await api.post("/v1/sources", json=ATTENTION)).json()
    cleared = await api.patch(f"/v1/sources/{source['id']}", json={"url": None})
    assert cleared.status_code == 200
    assert cleared.json()["url"] is None
    refused = await api.patch(f"/v1/sources/{source['id']}", json={"title": None})
    assert refused.status_code == 422
    assert error_of(refused)["details"][0]["field"] == "title"


async def test_delete(api: httpx.AsyncClient) -> None:
    source = (await api.post("/v1/sources", json=ATTENTION)).json()
    deleted = await api.delete(f"/v1/sources/{source['id']}")
    assert deleted.status_code == 204
    assert deleted.content == b""
    gone = await api.get(f"/v1/sources/{source['id']}")
    assert gone.status_code == 404
    assert error_of(gone)["code"] == "source_not_found"


async def test_unknown_and_malformed_ids(api: httpx.AsyncClient) -> None:
    unknown = await api.get(f"/v1/sources/{uuid.uuid4()}")
    assert unknown.status_code == 404
    assert error_of(unknown)["code"] == "source_not_found"
    malformed = await api.get("/v1/sources/42")
    assert malformed.status_code == 422
    assert error_of(malformed)["details"][0]["field"] == "path.source_id"


async def test_another_learners_source_does_not_exist_for_you(
    api: httpx.AsyncClient, client: httpx.AsyncClient, make_learner
) -> None:
    mine = (await api.post("/v1/sources", json=ATTENTION)).json()
    other = await make_learner("grace")
    theirs = bearer(other.key)
    url = f"/v1/sources/{mine['id']}"

    for response in [
        await client.get(url, headers=theirs),
        await client.patch(url, json={"title": "mine now"}, headers=theirs),
        await client.delete(url, headers=theirs),
    ]:
        assert response.status_code == 404
        assert error_of(response)["code"] == "source_not_found"
    listed = await client.get("/v1/sources", headers=theirs)
    assert listed.json() == {"items": [], "next_cursor": None}
    # Untouched for its owner.
    assert (await api.get(url)).json() == mine
