"""Judging SM-2 and FSRS on a review history: hand-computed cases with fixed dates, then
simulated learners whose memory is known (tests/synthetic_reviews.py)."""

from __future__ import annotations

import math
from dataclasses import FrozenInstanceError
from datetime import UTC, date, datetime, timedelta

import pytest
from fsrs.scheduler import DEFAULT_PARAMETERS

from scheduler.grades import Rating
from scheduler.history import CardHistory, PastReview
from scheduler.recall import (
    Metrics,
    ScoredReview,
    compare,
    day_clock,
    evaluate_fsrs,
    evaluate_sm2,
    fsrs_predictions,
    history_bin,
    log_loss,
    metrics,
    rmse_bins,
    scored_reviews,
    sm2_predictions,
)
from synthetic_reviews import FORGETFUL_PARAMETERS, simulate_histories

START = date(2026, 1, 5)
A, H, G, E = Rating.again, Rating.hard, Rating.good, Rating.easy

FORGETFUL = FORGETFUL_PARAMETERS


def at(day: int, hour: int = 9, minute: int = 0) -> datetime:
    """An instant `day` days after START; the learner's day is the calendar day here."""
    return datetime.combine(START + timedelta(days=day), datetime.min.time(), tzinfo=UTC) + (
        timedelta(hours=hour, minutes=minute)
    )


def rated(*answers: tuple[int, Rating] | tuple[int, Rating, int]) -> CardHistory:
    """A card answered (day, rating[, hour]) in order; the learner day is the calendar day."""
    reviews = []
    for answer in answers:
        day, rating, hour = answer if len(answer) == 3 else (*answer, 9)
        reviews.append(
            PastReview.from_rating(at(day, hour, len(reviews)), START + timedelta(days=day), rating)
        )
    return CardHistory(key="card", reviews=tuple(reviews))


def graded(*answers: tuple[int, int]) -> CardHistory:
    """A card graded (day, SM-2 grade) in order."""
    reviews = [
        PastReview.from_grade(at(day, 9, index), START + timedelta(days=day), grade)
        for index, (day, grade) in enumerate(answers)
    ]
    return CardHistory(key="card", reviews=tuple(reviews))


# ---- the input type


@pytest.mark.parametrize(("grade", "rating"), [(0, A), (1, A), (2, A), (3, H), (4, G), (5, E)])
def test_a_review_carries_both_scales(grade: int, rating: Rating) -> None:
    by_grade = PastReview.from_grade(at(0), START, grade)
    assert (by_grade.grade, by_grade.rating) == (grade, rating)
    by_rating = PastReview.from_rating(at(0), START, rating)
    assert by_rating.rating == rating
    assert PastReview.from_grade(at(0), START, by_rating.grade).rating == rating


@pytest.mark.parametrize(
    ("reviewed_at", "grade", "rating", "message"),
    [
        (datetime(2026, 1, 5, 9), 4, G, "timezone-aware"),
        (at(0), 4, A, "not the same answer"),
        (at(0), 2, H, "not the same answer"),
        (at(0), 6, E, "0 to 5"),
    ],
)
def test_a_review_that_contradicts_itself_is_refused(
    reviewed_at: datetime, grade: int, rating: Rating, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        PastReview(reviewed_at, START, grade, rating)


@pytest.mark.parametrize(
    "swapped",
    [
        # later instant, earlier learner day
        (
            PastReview.from_grade(at(1), START + timedelta(days=1), 4),
            PastReview.from_grade(at(2), START, 4),
        ),
        # earlier instant
        (PastReview.from_grade(at(1), START, 4), PastReview.from_grade(at(0), START, 4)),
    ],
)
def test_reviews_out_of_order_are_refused(swapped: tuple[PastReview, PastReview]) -> None:
    with pytest.raises(ValueError, match="not in order"):
        CardHistory(key=7, reviews=swapped)


def test_histories_are_immutable() -> None:
    history = rated((0, G))
    with pytest.raises(FrozenInstanceError):
        history.key = "other"  # type: ignore[misc]


# ---- which reviews are scored


def test_only_reviews_on_a_later_learner_day_are_scored() -> None:
    history = rated(
        (0, A),  # first review: never scored
        (0, G),  # same day: relearning, not a test
        (1, G),  # scored: 1 day
        (5, A),  # scored: 4 days, a lapse
        (5, G),  # same day
        (6, H),  # scored: 1 day, after one lapse
        (20, G),  # scored: 14 days
    )
    assert scored_reviews(history) == [
        ScoredReview("card", 2, START + timedelta(days=1), 1, ordinal=2, lapses=0, recalled=True),
        ScoredReview("card", 3, START + timedelta(days=5), 4, ordinal=3, lapses=0, recalled=False),
        ScoredReview("card", 5, START + timedelta(days=6), 1, ordinal=4, lapses=1, recalled=True),
        ScoredReview("card", 6, START + timedelta(days=20), 14, ordinal=5, lapses=1, recalled=True),
    ]


@pytest.mark.parametrize(
    "history",
    [
        CardHistory(key="new", reviews=()),
        rated((0, G)),
        rated((0, A), (0, G), (0, G)),
    ],
)
def test_nothing_scored_gives_counts_of_zero_and_no_metrics(history: CardHistory) -> None:
    nothing = Metrics(
        reviews=0, log_loss=None, rmse_bins=None, mean_predicted=None, mean_recalled=None
    )
    assert compare([history]).sm2 == nothing
    assert compare([history]).fsrs == nothing
    assert compare([]).fsrs == nothing


# ---- the learner-day clock


def test_the_clock_counts_learner_days_not_hours() -> None:
    # 21:00, then 08:00 on the next learner day: eleven hours, one day.
    history = rated((0, G, 21), (1, G, 8), (1, G, 9))
    clock = day_clock(history)
    assert (clock[1] - clock[0]).days == 1
    assert (clock[2] - clock[1]).days == 0
    assert clock[0] < clock[1] < clock[2]
    assert all(instant.tzinfo is UTC for instant in clock)


# ---- FSRS's predictions, by FSRS's formula: R = (1 + F·t/S)^−d, d = 0.1542,
# F = 0.9^(−1/d) − 1, S after a first answer = w[rating − 1] (w2 = 2.3065, w3 = 8.2956)


@pytest.mark.parametrize(
    ("history", "expected"),
    [
        (rated((0, G), (3, G)), [0.8809479557659419]),
        (rated((0, E), (10, G)), [0.8866572196242765]),
        # eleven hours apart, on consecutive learner days: one day, not "no time at all"
        (rated((0, G, 21), (1, G, 8)), [0.9468474993825461]),
        # Again: S = w0 = 0.212, one day later
        (rated((0, A), (1, G)), [0.7661957302284143]),
        # a same-day Again is replayed, not predicted: short-term S = S·e^(w17·(w18 − 2))·S^−w19
        # = 0.08336, so the next day's recall is lower
        (rated((0, A), (0, A), (1, G)), [0.6752635759821058]),
    ],
)
def test_fsrs_predicts_retrievability_before_each_scored_review(
    history: CardHistory, expected: list[float]
) -> None:
    assert fsrs_predictions(history) == pytest.approx(expected, rel=1e-12)


def test_fsrs_uses_the_parameters_it_is_given() -> None:
    history = rated((0, G), (3, G))
    assert fsrs_predictions(history, DEFAULT_PARAMETERS) == fsrs_predictions(history)
    # FORGETFUL: S after Good is w2 = 0.6, decay 0.6: (1 + (0.9^(−1/0.6) − 1) · 3/0.6)^−0.6
    assert fsrs_predictions(history, FORGETFUL) == pytest.approx([0.6678385482217569], rel=1e-12)


def test_fsrs_refuses_parameters_out_of_bounds() -> None:
    with pytest.raises(ValueError, match="out of bounds"):
        fsrs_predictions(rated((0, G), (3, G)), [1000.0] * 21)


# ---- SM-2's predictions: 0.9 ** (elapsed days / max(interval, 1))


@pytest.mark.parametrize(
    ("history", "expected"),
    [
        # 4 → I = 1; on time after 1 day: 0.9
        (graded((0, 4), (1, 4)), [0.9]),
        # then I = 6; 12 days: two intervals, 0.81
        (graded((0, 4), (1, 4), (13, 4)), [0.9, 0.81]),
        # a lapse sets I = 0, counted as one day; the same-day relearning is not scored
        (graded((0, 4), (1, 1), (1, 4), (3, 4)), [0.9, 0.9**2]),
        # a 3 joins the drill (I = 1 stands); the drill's same-day repeats are not scored
        (graded((0, 3), (0, 3), (0, 4), (2, 5)), [0.9**2]),
        # reviewed early: half the interval, more than 90%
        (graded((0, 4), (1, 4), (4, 4)), [0.9, 0.9 ** (3 / 6)]),
    ],
)
def test_sm2_expects_90_percent_at_the_interval(
    history: CardHistory, expected: list[float]
) -> None:
    assert sm2_predictions(history) == pytest.approx(expected, rel=1e-12)


def test_sm2_survives_intervals_past_the_last_date() -> None:
    # Daily passes multiply SM-2's interval by ≥ 2.5 each time: unbounded, it would pass
    # the year 9999 within a month; the replay caps it at a century.
    history = graded(*[(day, 5) for day in range(60)])
    predictions = sm2_predictions(history)
    assert len(predictions) == 59
    assert predictions[-1] > 0.9999


# ---- the metrics, computed by hand


@pytest.mark.parametrize(
    ("predicted", "outcomes", "expected"),
    [
        ([0.9], [True], -math.log(0.9)),  # 0.10536
        ([0.8], [False], -math.log(0.2)),  # 1.60944
        ([0.9, 0.8], [True, False], 0.8573992140459633),
        ([0.5, 0.5, 0.5, 0.5], [True, False, True, False], math.log(2)),
        # certainty proved wrong is clipped at 1 − 1e-6: −ln(1e-6) = 13.8155, not infinity
        ([1.0], [False], 13.815510557964274),
        ([0.0], [True], 13.815510557964274),
    ],
)
def test_log_loss(predicted: list[float], outcomes: list[bool], expected: float) -> None:
    assert log_loss(predicted, outcomes) == pytest.approx(expected, rel=1e-9)


def scored(
    elapsed: int = 1, ordinal: int = 2, lapses: int = 0, *, recalled: bool = True
) -> ScoredReview:
    return ScoredReview("card", 1, START, elapsed, ordinal, lapses, recalled)


@pytest.mark.parametrize(
    ("review", "expected"),
    [
        # elapsed days, bins ×3.62: 1–3 | 4–13 | 14–47
        (scored(elapsed=1), (0, 1, -1)),
        (scored(elapsed=3), (0, 1, -1)),
        (scored(elapsed=4), (1, 1, -1)),
        (scored(elapsed=13), (1, 1, -1)),
        (scored(elapsed=14), (2, 1, -1)),
        # ordinal, bins ×1.89: 2–3 | 4–6 | 7–12
        (scored(ordinal=3), (0, 1, -1)),
        (scored(ordinal=4), (0, 2, -1)),
        (scored(ordinal=7), (0, 3, -1)),
        # lapses: 0 alone, then bins ×1.73: 1 | 2 | 3–5 | 6–8
        (scored(lapses=1), (0, 1, 0)),
        (scored(lapses=2), (0, 1, 1)),
        (scored(lapses=3), (0, 1, 2)),
        (scored(lapses=5), (0, 1, 2)),
        (scored(lapses=6), (0, 1, 3)),
    ],
)
def test_the_benchmarks_history_bins(review: ScoredReview, expected: tuple[int, int, int]) -> None:
    assert history_bin(review) == expected


@pytest.mark.parametrize(
    ("reviews", "predicted", "expected"),
    [
        # one bin: recalled 3 of 4 (0.75) against a mean prediction of 0.85
        (
            [scored(), scored(), scored(), scored(recalled=False)],
            [0.9, 0.9, 0.8, 0.8],
            0.1,
        ),
        # two bins, weighted by count: 2 reviews off by 0.1 (0.5 recalled, 0.6 predicted),
        # 1 review off by 0.3: sqrt((2 · 0.1² + 1 · 0.3²) / 3) = sqrt(0.11 / 3)
        (
            [scored(), scored(recalled=False), scored(elapsed=30)],
            [0.6, 0.6, 0.7],
            0.19148542155126763,
        ),
        # errors of opposite sign in one bin cancel; in two bins they do not
        ([scored(), scored(recalled=False)], [0.5, 0.5], 0.0),
        ([scored(), scored(elapsed=30, recalled=False)], [0.5, 0.5], 0.5),
    ],
)
def test_rmse_bins(reviews: list[ScoredReview], predicted: list[float], expected: float) -> None:
    assert rmse_bins(reviews, predicted) == pytest.approx(expected, abs=1e-12)


def test_nothing_to_judge_is_none_not_nan() -> None:
    assert log_loss([], []) is None
    assert rmse_bins([], []) is None


def test_metrics_gathers_them_all() -> None:
    reviews = [scored(), scored(), scored(), scored(recalled=False)]
    assert metrics(reviews, [0.9, 0.9, 0.8, 0.8]) == Metrics(
        reviews=4,
        log_loss=pytest.approx((2 * -math.log(0.9) - math.log(0.8) - math.log(0.2)) / 4),
        rmse_bins=pytest.approx(0.1),
        mean_predicted=pytest.approx(0.85),
        mean_recalled=0.75,
    )


def test_predictions_and_reviews_must_pair_up() -> None:
    with pytest.raises(ValueError, match="2 predictions for 1 reviews"):
        metrics([scored()], [0.5, 0.5])


# ---- simulated learners: the right answer is known


def known(value: float | None) -> float:
    assert value is not None
    return value


@pytest.mark.parametrize("seed", [0, 1])
def test_on_a_learner_whose_memory_is_fsrs_fsrs_beats_sm2_and_is_calibrated(seed: int) -> None:
    histories = simulate_histories(cards=800, days=365, seed=seed)
    result = compare(histories)
    fsrs, sm2 = result.fsrs, result.sm2
    assert fsrs.reviews == sm2.reviews > 5000
    assert known(fsrs.log_loss) < known(sm2.log_loss) - 0.05
    # FSRS's defaults are this learner's memory: only chance separates prediction and outcome.
    assert known(fsrs.rmse_bins) < 0.05
    assert known(sm2.rmse_bins) > 0.1
    assert known(fsrs.mean_predicted) == pytest.approx(known(fsrs.mean_recalled), abs=0.015)


@pytest.mark.parametrize("seed", [0, 1])
def test_on_a_forgetful_learner_their_own_parameters_beat_the_defaults(seed: int) -> None:
    histories = simulate_histories(cards=300, days=240, seed=seed, parameters=FORGETFUL)
    true = evaluate_fsrs(histories, FORGETFUL)
    defaults = evaluate_fsrs(histories)
    assert true.reviews == defaults.reviews == evaluate_sm2(histories).reviews > 5000
    assert known(true.log_loss) < known(defaults.log_loss) - 0.03
    assert known(true.rmse_bins) < 0.05
    assert known(true.mean_predicted) == pytest.approx(known(true.mean_recalled), abs=0.015)
    # The defaults expect this learner to remember far more than they do.
    assert known(defaults.mean_predicted) > known(true.mean_recalled) + 0.05


def test_the_simulated_learner_is_deterministic() -> None:
    assert simulate_histories(cards=20, days=60, seed=3) == simulate_histories(
        cards=20, days=60, seed=3
    )
    assert simulate_histories(cards=20, days=60, seed=3) != simulate_histories(
        cards=20, days=60, seed=4
    )
