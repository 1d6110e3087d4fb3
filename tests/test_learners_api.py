"""GET and PATCH /v1/me."""

from __future__ import annotations

import httpx
import pytest

from helpers import error_of
from service.learners.service import IssuedKey


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


async def test_rename(api: httpx.AsyncClient) -> None:
    response = await api.patch("/v1/me", json={"name": "  Ada L.  "})
    assert response.status_code == 200
    assert response.json()["name"] == "Ada L."


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


async def test_a_taken_name_is_a_conflict(api: httpx.AsyncClient, make_learner) -> None:
    await make_learner("grace")
    response = await api.patch("/v1/me", json={"name": "grace"})
    assert response.status_code == 409
    assert error_of(response)["code"] == "name_taken"
    assert (await api.get("/v1/me")).json()["name"] == "ada"


async def test_keeping_your_own_name_is_fine(api: httpx.AsyncClient) -> None:
    response = await api.patch("/v1/me", json={"name": "ada", "day_starts_at_hour": 5})
    assert response.status_code == 200
    assert response.json()["day_starts_at_hour"] == 5
