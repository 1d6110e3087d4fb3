"""Crafted dates and cursors: whatever a client makes up, the answer is a 422 in the
shared error shape that says what is wrong, never a 500.

Python's datetimes end at years 1 and 9999: a timestamp at either end with an offset
cannot even be shifted to UTC, and a day at either end has no day before or after it.
"""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx
import pytest

from helpers import error_of

# Each is a well-formed ISO 8601 timestamp Python can parse; none is a moment Tutor
# could have stored.
EDGE_TIMESTAMPS = [
    "9999-12-31T23:00:00-05:00",  # in UTC, the year 10000
    "9999-12-31T23:59:59.999999+00:00",
    "0001-01-01T00:30:00+14:00",  # in UTC, the year 0
    "0001-01-01T00:00:00+00:00",
    "0001-01-01T03:00:00+00:00",  # a learner's day starts at 04:00: the day before year 1
]
LIST_ROUTES = ["/v1/cards", "/v1/sessions", "/v1/sources"]


def cursor_of(created: Any, row_id: Any) -> str:
    raw = json.dumps([created, row_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def assert_422(response: httpx.Response, code: str, *words: str) -> dict[str, Any]:
    assert response.status_code == 422, response.text
    error = error_of(response)
    assert error["code"] == code, error
    for word in words:
        assert word in error["message"], error
    return error


@pytest.mark.parametrize("route", LIST_ROUTES)
@pytest.mark.parametrize("created", EDGE_TIMESTAMPS)
async def test_a_cursor_at_the_ends_of_time_is_refused(
    api: httpx.AsyncClient, route: str, created: str
) -> None:
    cursor = cursor_of(created, uuid.uuid4().hex)
    response = await api.get(route, params={"cursor": cursor})
    assert_422(response, "invalid_cursor", "cursor")


@pytest.mark.parametrize("route", LIST_ROUTES)
@pytest.mark.parametrize(
    "parts",
    [
        ["2026-03-10T12:00:00+00:00", 1],  # an id that is not text
        ["2026-03-10T12:00:00+00:00", None],
        ["2026-03-10T12:00:00+00:00", ["a"]],
        ["2026-03-10T12:00:00+00:00", "not-hex"],
        ["2026-03-10T12:00:00", uuid.uuid4().hex],  # no offset
        [20260310, uuid.uuid4().hex],
        {"a": 1, "b": 2},  # two keys unpack like two items
    ],
)
async def test_a_cursor_of_the_wrong_shape_is_refused(
    api: httpx.AsyncClient, route: str, parts: Any
) -> None:
    raw = json.dumps(parts).encode()
    cursor = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    response = await api.get(route, params={"cursor": cursor})
    assert_422(response, "invalid_cursor", "cursor")


@pytest.mark.parametrize("route", LIST_ROUTES)
async def test_a_cursor_handed_out_still_pages(api: httpx.AsyncClient, route: str) -> None:
    """The bounds refuse only what Tutor never hands out."""
    for n in range(3):
        if route == "/v1/cards":
            await api.post(route, json={"front": f"card {n}", "back": "b"})
        elif route == "/v1/sessions":
            await api.post(route, json={"title": f"session {n}"})
        else:
            await api.post(route, json={"title": f"source {n}"})
    first = (await api.get(route, params={"limit": 2})).json()
    second = await api.get(route, params={"limit": 2, "cursor": first["next_cursor"]})
    assert second.status_code == 200, second.text
    assert len(second.json()["items"]) == 1


async def add_card(api: httpx.AsyncClient) -> str:
    response = await api.post("/v1/cards", json={"front": "Why 1/sqrt(d_k)?", "back": "Soft."})
    assert response.status_code == 201, response.text
    card_id: str = response.json()["id"]
    return card_id


@pytest.mark.parametrize(
    "reviewed_at",
    [
        *EDGE_TIMESTAMPS,
        "0001-01-02T00:00:00+00:00",
        "1969-12-31T23:59:59+00:00",
        "9999-12-31T23:59:59-12:00",
    ],
)
async def test_a_review_at_the_ends_of_time_is_refused(
    api: httpx.AsyncClient, reviewed_at: str
) -> None:
    card_id = await add_card(api)
    response = await api.post(
        "/v1/reviews", json={"card_id": card_id, "grade": 4, "reviewed_at": reviewed_at}
    )
    error = assert_422(response, "validation_error", "reviewed_at", "1970")
    assert error["details"][0]["field"] == "reviewed_at"
    # Nothing was graded.
    reviews = await api.get(f"/v1/cards/{card_id}/reviews")
    assert reviews.json() == {"items": []}


async def test_the_earliest_moment_far_from_utc_passes_the_schema(
    api: httpx.AsyncClient,
) -> None:
    """The first moment allowed, written with the largest offset there is, is read as
    a moment: the card, made today, was simply not due then (on the learner's day
    before, as their day starts at 04:00)."""
    card_id = await add_card(api)
    response = await api.post(
        "/v1/reviews",
        json={"card_id": card_id, "grade": 4, "reviewed_at": "1970-01-01T14:00:00+14:00"},
    )
    assert response.status_code == 409, response.text
    assert error_of(response)["code"] == "not_due"
    assert "not today (1969-12-31)" in error_of(response)["message"]


async def test_an_offline_review_with_an_offset_is_graded(api: httpx.AsyncClient) -> None:
    card_id = await add_card(api)
    reviewed_at = datetime.now(UTC).astimezone(timezone(timedelta(hours=14)))
    response = await api.post(
        "/v1/reviews",
        json={"card_id": card_id, "grade": 4, "reviewed_at": reviewed_at.isoformat()},
    )
    assert response.status_code == 201, response.text
    graded = datetime.fromisoformat(response.json()["review"]["reviewed_at"])
    assert graded == reviewed_at


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31", "1969-12-31"])
@pytest.mark.parametrize("action", ["get", "regenerate"])
async def test_a_study_log_day_at_the_ends_of_time_is_refused(
    api: httpx.AsyncClient, day: str, action: str
) -> None:
    if action == "get":
        response = await api.get(f"/v1/study-log/{day}")
    else:
        response = await api.post(f"/v1/study-log/{day}/regenerate")
    error = assert_422(response, "validation_error", "1970")
    assert error["details"][0]["field"] == "path.day"


async def test_an_imported_due_date_is_not_read(api: httpx.AsyncClient) -> None:
    """Tutor's CSV carries `due`, but an import starts every card afresh: a crafted date
    there is ignored, not parsed."""
    csv = "front,back,kind,tags,status,source,due\nQ,A,basic,,active,,9999-99-99T25:61\n"
    response = await api.post(
        "/v1/import/csv", files={"file": ("cards.csv", csv.encode(), "text/csv")}
    )
    assert response.status_code < 300, response.text
