"""Fitting FSRS to a learner's history with py-fsrs's optimizer (PyTorch): the threshold,
the review logs it is given, and a fit on a simulated learner whose parameters are known."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import fsrs
import pytest
from fsrs.scheduler import LOWER_BOUNDS_PARAMETERS, UPPER_BOUNDS_PARAMETERS

from scheduler.fitting import (
    OPTIMIZER_MAX_REVIEWS_PER_CARD,
    OPTIMIZER_MINI_BATCH,
    NotEnoughReviews,
    fit_fsrs,
    optimizer_review_count,
    review_logs,
)
from scheduler.grades import Rating
from scheduler.history import CardHistory, PastReview
from scheduler.recall import scored_reviews
from synthetic_reviews import FORGETFUL_PARAMETERS, simulate_histories

START = date(2026, 1, 5)
ROOT = Path(__file__).resolve().parents[3]

FORGETFUL = FORGETFUL_PARAMETERS


def daily(key: int, days: int, *, again_on: frozenset[int] = frozenset()) -> CardHistory:
    """A card reviewed once a day for `days` days, Good, or Again (then Good) on `again_on`."""
    reviews = []
    for day in range(days):
        review_date = START + timedelta(days=day)
        reviewed_at = datetime(2026, 1, 5, 20, tzinfo=UTC) + timedelta(days=day)
        answers = [Rating.again, Rating.good] if day in again_on else [Rating.good]
        for repeat, answer in enumerate(answers):
            reviews.append(
                PastReview.from_rating(
                    reviewed_at + timedelta(minutes=10 * repeat), review_date, answer
                )
            )
    return CardHistory(key=key, reviews=tuple(reviews))


def test_the_optimizer_constants_are_py_fsrs_own() -> None:
    from fsrs import optimizer

    assert optimizer.mini_batch_size == OPTIMIZER_MINI_BATCH
    assert optimizer.max_seq_len == OPTIMIZER_MAX_REVIEWS_PER_CARD


@pytest.mark.parametrize(
    ("histories", "expected"),
    [
        ([daily(1, 1)], 0),
        ([daily(1, 10)], 9),
        # a same-day relearning review is no test of memory
        ([daily(1, 10, again_on=frozenset({3, 6}))], 9),
        # the optimizer reads each card's first 64 reviews only
        ([daily(1, 64)], 63),
        ([daily(1, 100)], 63),
        ([daily(1, 10), daily(2, 5)], 13),
    ],
)
def test_the_reviews_the_optimizer_learns_from(histories: list[CardHistory], expected: int) -> None:
    assert optimizer_review_count(histories) == expected


def test_review_logs_number_cards_in_order_on_the_learner_day_clock() -> None:
    # 20:00 on day 0, then 20:10; 20:00 on day 1: the day clock keeps order, counts days.
    logs = review_logs([daily("a", 1), daily("b", 2, again_on=frozenset({0}))])
    assert [(log.card_id, log.rating) for log in logs] == [
        (0, fsrs.Rating.Good),
        (1, fsrs.Rating.Again),
        (1, fsrs.Rating.Good),
        (1, fsrs.Rating.Good),
    ]
    instants = [log.review_datetime for log in logs]
    assert all(instant.tzinfo is UTC for instant in instants)
    assert instants[1] < instants[2] < instants[3]
    assert ((instants[2] - instants[1]).days, (instants[3] - instants[2]).days) == (0, 1)
    assert all(log.review_duration is None for log in logs)


@pytest.mark.parametrize(
    ("histories", "have"),
    [
        ([], 0),
        ([daily(1, 1), daily(2, 1, again_on=frozenset({0}))], 0),
        # one short of a mini-batch, reviews past the 64th of a card not counted:
        # 8 cards × 63 + 7 = 511 (recall scores 8 × 69 + 7 = 559)
        ([daily(key, 70) for key in range(8)] + [daily(8, 8)], 511),
    ],
)
def test_below_one_mini_batch_there_is_nothing_to_fit(
    histories: list[CardHistory], have: int
) -> None:
    with pytest.raises(NotEnoughReviews) as raised:
        fit_fsrs(histories)
    assert (raised.value.have, raised.value.need) == (have, 512)
    assert "needs 512 reviews" in str(raised.value)
    assert f"has {have}" in str(raised.value)


def test_a_short_simulated_history_is_not_enough() -> None:
    histories = simulate_histories(cards=10, days=60, seed=5, parameters=FORGETFUL)
    have = optimizer_review_count(histories)
    assert 0 < have < 512
    with pytest.raises(NotEnoughReviews, match=f"has {have}$"):
        fit_fsrs(histories)


def test_fitting_a_forgetful_learner_beats_the_defaults_on_their_history() -> None:
    # About 800 scored reviews: a few seconds of optimizer on two cores.
    histories = simulate_histories(cards=50, days=120, seed=0, parameters=FORGETFUL)
    result = fit_fsrs(histories)
    assert result.reviews == optimizer_review_count(histories)
    assert 700 < result.reviews < 1000
    assert (
        result.before.reviews
        == result.after.reviews
        == sum(len(scored_reviews(history)) for history in histories)
    )
    assert len(result.parameters) == 21
    assert all(isinstance(value, float) for value in result.parameters)
    assert all(
        low <= value <= high
        for value, low, high in zip(
            result.parameters, LOWER_BOUNDS_PARAMETERS, UPPER_BOUNDS_PARAMETERS, strict=True
        )
    )
    assert result.log_loss_after < result.log_loss_before - 0.02
    # The defaults expect far more recall than this learner has; the fit comes closer.
    recalled = result.after.mean_recalled
    assert recalled is not None
    assert result.after.mean_predicted is not None
    assert result.before.mean_predicted is not None
    assert abs(result.after.mean_predicted - recalled) < abs(
        result.before.mean_predicted - recalled
    )


def test_without_pytorch_the_operator_is_told_what_to_install() -> None:
    # A separate interpreter in which `import torch` fails, as where the extra is missing.
    script = textwrap.dedent(
        """
        import sys
        sys.modules["torch"] = None  # import torch now raises ImportError
        from synthetic_reviews import FORGETFUL_PARAMETERS, simulate_histories
        from scheduler.fitting import OptimizerUnavailable, fit_fsrs
        from tests.api.reviews.test_fitting import FORGETFUL
        try:
            fit_fsrs(simulate_histories(cards=40, days=120, seed=0, parameters=FORGETFUL))
        except OptimizerUnavailable as error:
            print(error)
        """
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "tests")])}
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
        check=True,
    )
    assert "pip install 'tutor-service[optimizer]'" in done.stdout
