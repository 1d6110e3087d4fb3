"""`tutor scheduler` as a real process, with its /metrics on a port of its own, and a
learner's day to write up so that its first study-log run calls the model."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from fakellm import FakeLLM
from helpers import bearer, free_port
from tutor_process import STARTUP_SECONDS, TutorServer

JOB_IDS = ("study_log", "auto_distill", "reminder")

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


class TutorScheduler(TutorServer):
    """One `tutor scheduler` on the data directory of `tmp_path`, with `TUTOR_*`
    settings given by name and none from the caller's shell: `TutorServer`'s handling of
    the process, and its /metrics on a free port."""

    def __init__(self, tmp_path: Path, **settings: object) -> None:
        self.metrics_port = free_port()
        self.metrics_url = f"http://127.0.0.1:{self.metrics_port}/metrics"
        super().__init__(tmp_path, **({"scheduler_metrics_port": self.metrics_port} | settings))

    def start(self) -> None:
        """Starts the scheduler and waits until its jobs are registered."""
        self.process = subprocess.Popen(
            [sys.executable, "-m", "service", "scheduler"],
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert self.process.stdout is not None
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            self.output.append(line)
            if "scheduler started with jobs" in line:
                self._reader = threading.Thread(target=self._drain, args=(self.process,))
                self._reader.daemon = True
                self._reader.start()
                return
            if not line and self.process.poll() is not None:
                break
        self.kill()
        raise AssertionError("tutor scheduler did not start:\n" + self.printed())

    def exposition(self) -> str:
        response = httpx.get(self.metrics_url, timeout=5)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("text/plain")
        return response.text

    def samples(self) -> Samples:
        return {
            (sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(self.exposition())
            for sample in family.samples
        }

    def wait_for(self, condition: Callable[[Samples], bool], what: str) -> Samples:
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            samples = self.samples()
            if condition(samples):
                return samples
            assert self.process is not None
            assert self.process.poll() is None, self.printed()
            time.sleep(0.1)
        raise AssertionError(f"the scheduler's metrics never showed {what}:\n{self.printed()}")

    def wait_for_first_runs(self) -> Samples:
        """The metrics once every job has run once (each runs at start)."""
        return self.wait_for(
            lambda samples: all(job_value(samples, "tutor_job_runs_total", job) for job in JOB_IDS),
            "a run of every job",
        )

    def stop(self) -> int:
        """SIGTERM; the exit status once the process has ended and its output is read."""
        self.send_signal(signal.SIGTERM)
        try:
            return self.wait(timeout=15)
        finally:
            self.kill()


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def job_value(samples: Samples, name: str, job: str) -> float:
    return value(samples, name, job=job)


def fake_model_settings(fake: FakeLLM) -> dict[str, object]:
    return {
        "llm_base_url": fake.base_url,
        "llm_api_key": "test",
        "llm_model": "fake-model",
        "llm_max_retries": 0,
    }


def a_finished_day(tmp_path: Path) -> None:
    """The data directory of `tmp_path` gets the learner `me` with a finished day of
    study, which a `tutor serve` of its own writes (and is stopped again)."""
    server = TutorServer(tmp_path)
    key = server.start()
    assert key is not None
    try:
        with httpx.Client(base_url=f"{server.url}/v1/", headers=bearer(key)) as api:
            study_yesterday(api)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=15)


def study_yesterday(api: httpx.Client) -> None:
    """A day with a card made and reviewed that has already ended, without waiting a day.

    The card is made and reviewed on the learner's day in UTC-11; moving the learner to
    UTC+14 afterwards makes that day at least one day before their new "today", so the
    scheduler's study-log job writes it up (one model call) at its first run.
    """
    assert api.patch("me", json={"timezone": "Pacific/Pago_Pago"}).status_code == 200
    card = api.post("cards", json={"front": "Why scale attention logits?", "back": "Softmax"})
    assert card.status_code == 201, card.text
    review = api.post("reviews", json={"card_id": card.json()["id"], "grade": 4})
    assert review.status_code == 201, review.text
    assert api.patch("me", json={"timezone": "Pacific/Kiritimati"}).status_code == 200
