"""What `tutor scheduler` measures: its job runs, besides the model calls every process
counts (`ProcessMetrics`). Labels are job ids (`study_log`, `auto_distill`, `reminder`),
never a learner."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

from service.metrics.registry import ProcessMetrics

# A reminder pass takes milliseconds; a study-log pass waits on the model per learner.
_JOB_BUCKETS = (0.01, 0.05, 0.1, 0.5, 1, 5, 15, 30, 60, 120, 300, 600)


class SchedulerMetrics(ProcessMetrics):
    def __init__(self, job_ids: tuple[str, ...] = ()) -> None:
        super().__init__()
        self.job_runs = Counter(
            "tutor_job_runs",
            "Job runs finished, by job (failed ones included).",
            ["job"],
            registry=self.registry,
        )
        self.job_failures = Counter(
            "tutor_job_failures",
            "Job runs that failed as a whole (the database unreachable, say), by job.",
            ["job"],
            registry=self.registry,
        )
        self.job_learner_failures = Counter(
            "tutor_job_learner_failures",
            "Learners a job run failed for (logged; the other learners still got "
            "their turn), by job.",
            ["job"],
            registry=self.registry,
        )
        self.job_seconds = Histogram(
            "tutor_job_duration_seconds",
            "How long a job run took, by job.",
            ["job"],
            buckets=_JOB_BUCKETS,
            registry=self.registry,
        )
        self.job_last_success = Gauge(
            "tutor_job_last_success_timestamp_seconds",
            "When a job run last finished without failing as a whole (Unix time), by job.",
            ["job"],
            registry=self.registry,
        )
        # Every job's series from the start: a job that never failed shows 0, not nothing.
        for job in job_ids:
            for metric in (self.job_runs, self.job_failures, self.job_learner_failures):
                metric.labels(job)
            self.job_seconds.labels(job)

    def job_run(self, job: str, *, seconds: float, failed: bool, learners_failed: int = 0) -> None:
        self.job_runs.labels(job).inc()
        self.job_seconds.labels(job).observe(seconds)
        self.job_learner_failures.labels(job).inc(learners_failed)
        if failed:
            self.job_failures.labels(job).inc()
        else:
            self.job_last_success.labels(job).set_to_current_time()
