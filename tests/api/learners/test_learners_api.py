"""GET and PATCH /v1/me."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from helpers import error_of
from service.config import Settings
from service.learners.models import Learner
from service.learners.service import IssuedKey, LearnerNotFound, NameTaken, rename_learner


async def test_me(api: httpx.AsyncClient, learner: IssuedKey) -> None:
    response = await api.get("/v1/me")
    assert response.status_code == 200
    me = response.json()
    assert me["id"] == str(learner.learner.id)
    assert (me["name"], me["timezone"], me["day_starts_at_hour"], me["new_cards_per_day"]) == (
        "ada",
        "UTC",
        4,
        20,
    )
    assert "key" not in str(me).lower()


async def test_patch_me_changes_what_is_sent(api: httpx.AsyncClient) -> None:
    response = await api.patch(
        "/v1/me",
        json={"timezone": "Pacific/Kiritimati", "day_starts_at_hour": 0, "new_cards_per_day": 1000},
    )
    assert response.status_code == 200
    me = response.json()
    assert (me["name"], me["timezone"], me["day_starts_at_hour"], me["new_cards_per_day"]) == (
        "ada",
        "Pacific/Kiritimati",
        0,
        1000,
    )
    assert (await api.get("/v1/me")).json() == me


async def test_a_learner_cannot_rename_themselves(api: httpx.AsyncClient) -> None:
    response = await api.patch("/v1/me", json={"name": "  Ada L.  ", "new_cards_per_day": 7})
    assert response.status_code == 422
    error = error_of(response)
    assert error["code"] == "validation_error"
    assert [(d["field"], d["type"]) for d in error["details"]] == [("name", "read_only")]
    assert "operator" in error["message"]
    me = (await api.get("/v1/me")).json()
    assert (me["name"], me["new_cards_per_day"]) == ("ada", 20)  # nothing of it was saved


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"timezone": "Mars/Olympus_Mons"}, "timezone"),
        ({"timezone": "CEST"}, "timezone"),
        ({"timezone": "+02:00"}, "timezone"),
        ({"day_starts_at_hour": 24}, "day_starts_at_hour"),
        ({"day_starts_at_hour": -1}, "day_starts_at_hour"),
        ({"new_cards_per_day": 1001}, "new_cards_per_day"),
        ({"new_cards_per_day": -5}, "new_cards_per_day"),
        ({"name": ""}, "name"),
        ({"name": None}, "name"),
        ({"timezone": None}, "timezone"),
        ({"id": "00000000-0000-0000-0000-000000000000"}, "id"),
    ],
)
async def test_invalid_changes_name_the_field(
    api: httpx.AsyncClient, body: dict[str, object], field: str
) -> None:
    before = (await api.get("/v1/me")).json()
    response = await api.patch("/v1/me", json=body)
    assert response.status_code == 422
    error = error_of(response)
    assert error["code"] == "validation_error"
    assert [d["field"] for d in error["details"]] == [field]
    assert field in error["message"]
    assert (await api.get("/v1/me")).json() == before


async def test_a_rename_does_not_tell_which_names_other_learners_have(
    api: httpx.AsyncClient, make_learner: Callable[..., Awaitable[IssuedKey]]
) -> None:
    await make_learner("grace")
    taken = await api.patch("/v1/me", json={"name": "grace"})
    free = await api.patch("/v1/me", json={"name": "nobody-has-this-name"})
    assert (taken.status_code, taken.json()) == (free.status_code, free.json())
    assert "grace" not in taken.text
    assert (await api.get("/v1/me")).json()["name"] == "ada"


@pytest.mark.parametrize("name", ["ada", "  ada  "])
async def test_sending_back_your_own_name_is_fine(api: httpx.AsyncClient, name: str) -> None:
    response = await api.patch("/v1/me", json={"name": name, "day_starts_at_hour": 5})
    assert response.status_code == 200
    assert (response.json()["name"], response.json()["day_starts_at_hour"]) == ("ada", 5)


async def test_the_operator_renames_a_learner(
    session: AsyncSession, learner: IssuedKey, make_learner: Callable[..., Awaitable[IssuedKey]]
) -> None:
    await make_learner("grace")
    renamed = await rename_learner(session, name="ada", new_name="  Ada L.  ")
    assert (renamed.id, renamed.name) == (learner.learner.id, "Ada L.")
    # The operator sees every learner anyway (`tutor learner list`), so they are told.
    with pytest.raises(NameTaken, match="'grace' already exists"):
        await rename_learner(session, name="Ada L.", new_name="grace")
    with pytest.raises(LearnerNotFound):
        await rename_learner(session, name="ada", new_name="Ada")
    session.expire_all()
    assert (await session.get_one(Learner, learner.learner.id)).name == "Ada L."


# --- the reminder webhook ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://127.0.0.1:9/hook", "loopback"),
        ("http://localhost/hook", "loopback"),
        ("http://[::1]/hook", "loopback"),
        ("http://169.254.169.254/latest/meta-data/", "link-local"),
        ("http://10.0.0.5/hook", "private"),
        ("http://no-such-host.invalid/hook", "cannot be resolved"),
    ],
)
async def test_a_webhook_tutor_would_not_deliver_to_is_refused_when_set(
    api: httpx.AsyncClient, url: str, reason: str
) -> None:
    response = await api.patch("/v1/me", json={"webhook_url": url, "reminder_hour": 7})
    assert response.status_code == 422
    error = error_of(response)
    assert error["code"] == "validation_error"
    assert [(d["field"], d["type"]) for d in error["details"]] == [
        ("webhook_url", "webhook_refused")
    ]
    assert reason in error["details"][0]["message"]
    assert error["message"].startswith("webhook_url: ")
    me = (await api.get("/v1/me")).json()
    assert (me["webhook_url"], me["reminder_hour"]) == (None, None)


async def test_a_public_webhook_is_accepted(api: httpx.AsyncClient) -> None:
    # Only checked (the host is resolved), never sent to.
    url = "https://93.184.216.34/hook?topic=tutor"
    response = await api.patch("/v1/me", json={"webhook_url": url})
    assert response.status_code == 200
    assert response.json()["webhook_url"] == url


async def test_a_private_webhook_is_accepted_where_the_deployment_allows_it(
    app: FastAPI, api: httpx.AsyncClient, settings: Settings
) -> None:
    # A self-hosted Tutor may remind a receiver on its own network: the setting that lets
    # delivery go there lets the learner set it too.
    app.state.settings = settings.model_copy(update={"allow_private_webhooks": True})
    for url in ("http://192.168.1.20:8080/ntfy", "http://127.0.0.1:9/hook"):
        response = await api.patch("/v1/me", json={"webhook_url": url})
        assert response.status_code == 200, response.text
        assert response.json()["webhook_url"] == url
