"""Your own history as the judge, over HTTP: GET /v1/stats/scheduler on simulated
learners whose memory follows FSRS (the right answer is known), and fitting FSRS as a
background job in its own process, including that process killed and Tutor stopping.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from helpers import bearer, child_processes, error_of, store_histories
from scheduler.history import CardHistory
from service.app import create_app
from service.config import Settings
from service.db import Database
from service.learners.service import create_learner
from service.reviews.models import FsrsOptimization
from synthetic_reviews import simulate_histories

# An FSRS learner unlike FSRS's defaults: memories that start stronger and fade slower.
STRONG_MEMORY = (
    0.9, 2.5, 5.0, 15.0, 6.4133, 0.8334, 3.0194, 0.001, 2.2, 0.1666, 0.796,
    1.4835, 0.0614, 0.2629, 1.6483, 0.6014, 1.8729, 0.5425, 0.0912, 0.0658, 0.1542,
)  # fmt: skip


async def ada_with(app: FastAPI, histories: Sequence[CardHistory]) -> httpx.AsyncClient:
    async with app.state.database.sessionmaker() as db:
        issued = await create_learner(db, name=f"ada-{uuid.uuid4().hex[:6]}", timezone="UTC")
    await store_histories(app.state.database.sessionmaker, issued.learner.id, histories)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(
        transport=transport, base_url="http://tutor.test", headers=bearer(issued.key)
    )


def scores_of(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {score["scheduler"]: score for score in body["scores"]}


async def wait_for_fit(api: httpx.AsyncClient, *, seconds: float = 120) -> dict[str, Any]:
    for _ in range(int(seconds * 10)):
        job: dict[str, Any] = (await api.get("/v1/me/fsrs/optimize")).json()
        if job["status"] != "running":
            return job
        await asyncio.sleep(0.1)
    raise AssertionError("the fit did not finish")


def fit_workers() -> list[int]:
    """The pids of this test process's running fit processes."""
    return child_processes("service.reviews.fit_worker")


async def test_with_no_reviews_nothing_is_scored(api: httpx.AsyncClient) -> None:
    body = (await api.get("/v1/stats/scheduler")).json()
    assert (body["in_use"], body["cards"], body["reviews"], body["best"]) == ("sm2", 0, 0, None)
    assert [score["scheduler"] for score in body["scores"]] == ["sm2", "fsrs_default"]
    for score in body["scores"]:
        assert score["reviews"] == 0
        assert score["log_loss"] is None
        assert score["rmse_bins"] is None
    assert (body["fit_has"], body["fit_needs"]) == (0, 512)

    missing = await api.get("/v1/me/fsrs/optimize")
    assert missing.status_code == 404
    assert error_of(missing)["code"] == "no_optimization"


async def test_fsrs_predicts_a_learner_whose_memory_is_fsrs_better_than_sm2(
    app: FastAPI,
) -> None:
    histories = simulate_histories(cards=60, days=90, seed=3)
    async with await ada_with(app, histories) as api:
        body = (await api.get("/v1/stats/scheduler")).json()
    scores = scores_of(body)
    assert body["cards"] == 60
    assert body["reviews"] == sum(len(history.reviews) for history in histories)
    assert scores["sm2"]["reviews"] == scores["fsrs_default"]["reviews"] > 100
    assert scores["fsrs_default"]["log_loss"] < scores["sm2"]["log_loss"]
    assert body["best"] == "fsrs_default"
    fsrs = scores["fsrs_default"]
    assert fsrs["mean_predicted"] == pytest.approx(fsrs["mean_recalled"], abs=0.05)


async def test_too_few_reviews_to_fit_says_how_many(app: FastAPI) -> None:
    async with await ada_with(app, simulate_histories(cards=20, days=40, seed=1)) as api:
        response = await api.post("/v1/me/fsrs/optimize")
        have = (await api.get("/v1/stats/scheduler")).json()["fit_has"]
    assert response.status_code == 422
    error = error_of(response)
    assert error["code"] == "not_enough_reviews"
    assert error["details"] == {"have": have, "need": 512}
    assert "512" in error["message"]


async def test_fitting_runs_in_the_background_and_fsrs_then_uses_the_fit(app: FastAPI) -> None:
    histories = simulate_histories(cards=120, days=150, seed=11, parameters=STRONG_MEMORY)
    async with await ada_with(app, histories) as api:
        await api.patch("/v1/me/scheduler", json={"scheduler": "fsrs"})
        before = await schedules(api)
        started = await api.post("/v1/me/fsrs/optimize")
        assert started.status_code == 202, started.text
        assert started.json()["status"] == "running"
        assert started.json()["reviews"] >= 512
        again = await api.post("/v1/me/fsrs/optimize")
        assert again.status_code == 409
        assert error_of(again)["code"] == "optimization_running"

        job = await wait_for_fit(api)
        assert job["status"] == "done", job
        assert job["applied"] is True
        assert job["log_loss_after"] < job["log_loss_before"]
        assert len(job["parameters"]) == 21

        settings = (await api.get("/v1/me/scheduler")).json()
        assert settings["fsrs_parameters_fitted"] is True
        assert settings["fsrs_parameters"] == pytest.approx(job["parameters"])
        assert await schedules(api) != before  # the cards were derived again with the fit
        scores = scores_of((await api.get("/v1/stats/scheduler")).json())
        assert scores["fsrs_fitted"]["log_loss"] == pytest.approx(job["log_loss_after"])
        assert scores["fsrs_fitted"]["log_loss"] < scores["fsrs_default"]["log_loss"]

        reset = await api.patch("/v1/me/scheduler", json={"fsrs_parameters": None})
        assert reset.json()["fsrs_parameters_fitted"] is False
        assert await schedules(api) == before


async def schedules(api: httpx.AsyncClient) -> list[dict[str, Any]]:
    cards = (await api.get("/v1/cards", params={"limit": 200})).json()["items"]
    return sorted((card["schedule"] for card in cards), key=lambda s: (s["due"], str(s["fsrs"])))


async def test_a_killed_fit_fails_clearly_and_changes_nothing(app: FastAPI) -> None:
    histories = simulate_histories(cards=120, days=150, seed=5)
    async with await ada_with(app, histories) as api:
        assert (await api.post("/v1/me/fsrs/optimize")).status_code == 202
        for _ in range(100):
            if workers := fit_workers():
                break
            await asyncio.sleep(0.05)
        assert workers, "no fit process appeared"
        for pid in workers:
            os.kill(pid, signal.SIGKILL)
        job = await wait_for_fit(api)
        assert job["status"] == "failed"
        assert "exited with -9" in job["message"]
        assert (await api.get("/v1/me/scheduler")).json()["fsrs_parameters_fitted"] is False
        # Failed, so a new fit may start.
        assert (await api.post("/v1/me/fsrs/optimize")).status_code == 202


async def test_a_fit_whose_process_died_unseen_counts_as_failed(app: FastAPI) -> None:
    histories = simulate_histories(cards=120, days=150, seed=5)
    async with await ada_with(app, histories) as api:
        me = (await api.get("/v1/me")).json()
        async with app.state.database.sessionmaker() as db:
            # What a replica killed mid-fit leaves: a running row nobody touches.
            db.add(
                FsrsOptimization(
                    learner_id=uuid.UUID(me["id"]),
                    status="running",
                    stage="Fitting",
                    reviews=600,
                    estimated_seconds=5,
                    touched_at=datetime.now(UTC) - timedelta(minutes=5),
                    created_at=datetime.now(UTC) - timedelta(minutes=6),
                )
            )
            await db.commit()
        job = (await api.get("/v1/me/fsrs/optimize")).json()
        assert job["status"] == "failed"
        assert "start it again" in job["message"]
        assert (await api.post("/v1/me/fsrs/optimize")).status_code == 202


async def test_stopping_tutor_stops_the_fit_and_says_so(settings: Settings) -> None:
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        histories = simulate_histories(cards=120, days=150, seed=5)
        api = await ada_with(application, histories)
        async with api:
            assert (await api.post("/v1/me/fsrs/optimize")).status_code == 202
            for _ in range(100):
                if fit_workers():
                    break
                await asyncio.sleep(0.05)
    assert fit_workers() == []  # the fit's process went with Tutor
    database = Database.from_settings(settings)
    try:
        async with database.sessionmaker() as db:
            job = await db.scalar(select(FsrsOptimization))
    finally:
        await database.dispose()
    assert job is not None
    assert job.status == "failed"
    assert job.message == "Stopped: Tutor was shutting down."


async def test_without_pytorch_the_fit_says_what_to_install(
    app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    histories = simulate_histories(cards=120, days=150, seed=5)
    async with await ada_with(app, histories) as api:
        monkeypatch.setitem(sys.modules, "torch", None)  # as if it were not installed
        response = await api.post("/v1/me/fsrs/optimize")
    assert response.status_code == 503
    error = error_of(response)
    assert error["code"] == "optimizer_unavailable"
    assert "tutor-service[optimizer]" in error["message"]
