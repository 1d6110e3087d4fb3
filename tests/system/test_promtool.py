"""Both metrics endpoints pass `promtool check metrics` (Prometheus's own linter, from
Debian's `prometheus` package), as served by real processes after real work: the API's
after pages, errors and a model call, the scheduler's after its jobs' first runs."""

from __future__ import annotations

import shutil
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from fakellm import FakeLLM, Reply
from helpers import bearer
from scheduler_process import TutorScheduler, a_finished_day, fake_model_settings
from tutor_process import TutorServer


def promtool_check(exposition: str) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.fail("promtool is not installed: apt-get install prometheus (Debian's package)")
    result = subprocess.run(
        [promtool, "check", "metrics"],
        input=exposition,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    # Clean: exit 0 and not one line of lint (a problem is printed as `name: problem`).
    assert (result.returncode, result.stdout + result.stderr) == (0, ""), exposition


@pytest.fixture
def fake_llm() -> Iterator[FakeLLM]:
    with FakeLLM() as fake:
        fake.default = Reply("Softmax saturates without the scaling.")
        yield fake


def test_the_api_metrics_pass_promtool(tmp_path: Path, fake_llm: FakeLLM) -> None:
    server = TutorServer(tmp_path, **fake_model_settings(fake_llm))
    key = server.start()
    assert key is not None
    try:
        with httpx.Client(base_url=server.url, headers=bearer(key)) as http:
            for path in ("/", "/app.js", "/docs", "/openapi.json", "/no/such/page.php"):
                http.get(path)
            assert http.get("/v1/me", headers=bearer("tutor_nope")).status_code == 401
            assert http.post("/v1/sources", json={}).status_code == 422
            session = http.post("/v1/sessions", json={}).json()["id"]
            explain = http.post(f"/v1/sessions/{session}/explain", json={"passage": "QK^T/√d"})
            assert explain.status_code == 200, explain.text
            exposition = http.get("/metrics").text
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=15)

    # The traffic is in it: what promtool read is the real thing.
    for series in (
        'tutor_http_requests_total{method="GET",route="/*.js",status="200"} 1.0',
        'tutor_errors_total{code="validation_error"} 1.0',
        'tutor_model_calls_total{model="fake-model",outcome="ok",purpose="explain"} 1.0',
    ):
        assert series in exposition
    promtool_check(exposition)


def test_the_scheduler_metrics_pass_promtool(tmp_path: Path, fake_llm: FakeLLM) -> None:
    a_finished_day(tmp_path)
    scheduler = TutorScheduler(tmp_path, **fake_model_settings(fake_llm))
    scheduler.start()
    try:
        scheduler.wait_for_first_runs()
        exposition = scheduler.exposition()
    finally:
        assert scheduler.stop() == 0, scheduler.printed()

    for series in (
        'tutor_job_runs_total{job="study_log"} 1.0',
        'tutor_model_calls_total{model="fake-model",outcome="ok",purpose="studylog"} 1.0',
    ):
        assert series in exposition
    promtool_check(exposition)
