"""`tutor scheduler` serves its own /metrics: job runs, durations, failures, and the
model calls of its jobs by purpose; SIGTERM still stops it cleanly, port and all."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from fakellm import FakeLLM, Reply
from scheduler_process import (
    JOB_IDS,
    TutorScheduler,
    a_finished_day,
    fake_model_settings,
    job_value,
    value,
)

DIARY = "You made one card about attention and reviewed it."


@pytest.fixture
def fake_llm() -> Iterator[FakeLLM]:
    with FakeLLM() as fake:
        fake.default = Reply(DIARY, prompt_tokens=200, completion_tokens=12)
        yield fake


@pytest.fixture
def studied_yesterday(tmp_path: Path) -> None:
    a_finished_day(tmp_path)


def test_the_first_runs_and_their_model_call_are_served_then_sigterm_stops_it(
    tmp_path: Path, fake_llm: FakeLLM, studied_yesterday: None
) -> None:
    scheduler = TutorScheduler(tmp_path, **fake_model_settings(fake_llm))
    scheduler.start()
    try:
        samples = scheduler.wait_for_first_runs()
    finally:
        status = scheduler.stop()

    for job in JOB_IDS:
        assert job_value(samples, "tutor_job_runs_total", job) == 1
        assert job_value(samples, "tutor_job_failures_total", job) == 0
        assert job_value(samples, "tutor_job_learner_failures_total", job) == 0
        assert job_value(samples, "tutor_job_duration_seconds_count", job) == 1
        assert job_value(samples, "tutor_job_last_success_timestamp_seconds", job) > 0
    # The study log's narrative, counted by purpose as the API counts its calls.
    model = {"purpose": "studylog", "model": "fake-model"}
    assert value(samples, "tutor_model_calls_total", **model, outcome="ok") == 1
    assert value(samples, "tutor_model_tokens_total", **model, kind="prompt") == 200
    assert value(samples, "tutor_model_tokens_total", **model, kind="completion") == 12
    assert value(samples, "tutor_model_call_duration_seconds_count", **model) == 1
    names = {name for name, _ in samples}
    assert "process_resident_memory_bytes" in names
    # The HTTP metrics are the API's alone.
    assert not {name for name in names if name.startswith(("tutor_http_", "tutor_errors"))}

    assert status == 0, scheduler.printed()
    assert f"metrics at {scheduler.metrics_url}" in scheduler.printed()
    assert "scheduler stopped" in scheduler.printed()
    with pytest.raises(httpx.ConnectError):
        httpx.get(scheduler.metrics_url, timeout=2)


def test_a_failed_model_call_is_counted_and_the_run_is_not_a_failure(
    tmp_path: Path, fake_llm: FakeLLM, studied_yesterday: None
) -> None:
    fake_llm.default = None  # the fake answers 500 to the study log's call
    scheduler = TutorScheduler(tmp_path, **fake_model_settings(fake_llm))
    scheduler.start()
    try:
        samples = scheduler.wait_for_first_runs()
    finally:
        assert scheduler.stop() == 0, scheduler.printed()

    # The narrative waits for a later run (service/studylog): nothing failed but the call.
    assert job_value(samples, "tutor_job_failures_total", "study_log") == 0
    assert job_value(samples, "tutor_job_learner_failures_total", "study_log") == 0
    model = {"purpose": "studylog", "model": "fake-model"}
    assert value(samples, "tutor_model_calls_total", **model, outcome="error") >= 1
    assert value(samples, "tutor_model_calls_total", **model, outcome="ok") == 0


def test_port_zero_serves_no_metrics(tmp_path: Path) -> None:
    scheduler = TutorScheduler(tmp_path, scheduler_metrics_port=0)
    scheduler.start()
    try:
        with pytest.raises(httpx.ConnectError):
            httpx.get(scheduler.metrics_url, timeout=2)
    finally:
        assert scheduler.stop() == 0, scheduler.printed()
    assert "metrics: not served" in scheduler.printed()


def test_a_taken_port_stops_the_start_with_a_clear_error(tmp_path: Path) -> None:
    scheduler = TutorScheduler(tmp_path)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", scheduler.metrics_port))
        taken.listen()
        result = subprocess.run(
            [sys.executable, "-m", "service", "scheduler"],
            env=scheduler.env,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stderr.strip().endswith(
        "error: TUTOR_SCHEDULER_METRICS_PORT: cannot serve metrics on "
        f"127.0.0.1:{scheduler.metrics_port} (Address already in use); "
        "set another port, or 0 for none"
    )
