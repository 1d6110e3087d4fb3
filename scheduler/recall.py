"""Your own history as the judge: how well SM-2 and FSRS predict what you recalled.

Pure: no database, no clock. Each scheduler replays each card's history and, before
every review, says how likely the card is to be recalled; the review's outcome then
scores that prediction.

Which reviews are scored. A review is a memory test when it is not the card's first and
falls on a later learner day than the card's previous review. Same-day repeats (SM-2's
relearning and drill, FSRS's learning steps) are not: the answer was just seen. This is
the rule of py-fsrs's optimizer and of the open-spaced-repetition srs-benchmark. The
outcome is recalled when the rating is not Again (an SM-2 grade of 3 or more).

The clock. Tutor counts time in learner days, as Anki and the srs-benchmark do: the
elapsed time between two reviews is the number of learner days between them, whatever the
hours. FSRS replays on a clock made of those days (`day_clock`): a review at 21:00 and
the next at 08:00 on the following learner day are one day apart, not 11 hours. On the
raw timestamps py-fsrs would count 0 days there (it floors elapsed time to whole days),
predict certain recall, and treat the review as a same-day repeat.

FSRS's prediction is py-fsrs's own retrievability, `Scheduler.get_card_retrievability`,
taken before each `review_card` with the given parameters (the package's defaults unless
told). The desired retention and the learning steps change when cards fall due, never
the memory state, so they do not change a prediction of a history that already happened.

SM-2's prediction. SM-2 has no forgetting curve; it schedules each card at an interval
it expects the learner to pass. As the srs-benchmark does for SM-2 (its SM-2 model and
its interval-to-probability conversion, p = exp(ln 0.9 · t / I)), Tutor assumes recall
falls to 90% at the scheduled interval on an exponential curve:

    R = 0.9 ** (elapsed_days / max(interval, 1))

where interval is the SM-2 interval in force before the review (0 after a lapse, hence
the floor of one day) and elapsed_days the learner days since the previous review.

Metrics (per scheduler, over the scored reviews):
- log loss: mean binary cross-entropy, predictions clipped to [1e-6, 1 − 1e-6] so that a
  certain prediction proved wrong costs a large, finite amount;
- RMSE (bins): the srs-benchmark's calibration metric, implemented as it does it. The
  scored reviews are grouped by three features of the card's history, each on a
  logarithmic scale: elapsed days (bins of width ×3.62), the review's ordinal among the
  card's day-distinct reviews, counting its first review as 1 (×1.89), and the number of
  earlier scored reviews rated Again (0 alone, then ×1.73). Within each group the mean
  prediction is compared with the share recalled; RMSE = sqrt(Σ n_g (ȳ_g − p̄_g)² / Σ n_g).
  Binning by history rather than by the prediction itself means a model cannot look
  calibrated by predicting the same number for everything;
- mean predicted recall against the share actually recalled.
With nothing scored, the count is 0 and every metric is None.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta

import fsrs

from scheduler import sm2
from scheduler.grades import recalled
from scheduler.history import CardHistory, PastReview

# A certain prediction proved wrong costs -ln(1e-6) ≈ 13.8 rather than infinity.
PREDICTION_CLIP = 1e-6
# SM-2's assumed recall at exactly the scheduled interval.
SM2_RECALL_AT_INTERVAL = 0.9
SM2_MAX_INTERVAL = 36500
# The srs-benchmark's bin widths (utils.rmse_matrix): elapsed days, review ordinal, lapses.
_ELAPSED_BASE = 3.62
_ORDINAL_BASE = 1.89
_LAPSES_BASE = 1.73


@dataclass(frozen=True)
class ScoredReview:
    """A review that tests memory, with what the RMSE (bins) groups it by.

    `index` is its position in the card's history; `ordinal` counts the card's reviews
    on distinct learner days up to this one, the first review being 1 (the benchmark's
    `i`); `lapses` counts earlier scored reviews rated Again.
    """

    card: Hashable
    index: int
    review_date: date
    elapsed_days: int
    ordinal: int
    lapses: int
    recalled: bool


@dataclass(frozen=True)
class Metrics:
    """How well one scheduler predicted the scored reviews. None when nothing was scored."""

    reviews: int
    log_loss: float | None
    rmse_bins: float | None
    mean_predicted: float | None
    mean_recalled: float | None


@dataclass(frozen=True)
class Comparison:
    """Both schedulers judged on the same history."""

    sm2: Metrics
    fsrs: Metrics


def is_scored(reviews: Sequence[PastReview], index: int) -> bool:
    """Whether reviews[index] tests memory: not the first, and on a later learner day."""
    return index > 0 and reviews[index].review_date > reviews[index - 1].review_date


def scored_reviews(history: CardHistory) -> list[ScoredReview]:
    """The card's reviews that test memory, oldest first."""
    scored: list[ScoredReview] = []
    ordinal = 1
    lapses = 0
    reviews = history.reviews
    for index in range(1, len(reviews)):
        if not is_scored(reviews, index):
            continue
        ordinal += 1
        review = reviews[index]
        remembered = recalled(review.rating)
        scored.append(
            ScoredReview(
                card=history.key,
                index=index,
                review_date=review.review_date,
                elapsed_days=(review.review_date - reviews[index - 1].review_date).days,
                ordinal=ordinal,
                lapses=lapses,
                recalled=remembered,
            )
        )
        lapses += not remembered
    return scored


def day_clock(history: CardHistory) -> list[datetime]:
    """The UTC instants FSRS replays the card's reviews at: learner days, not hours.

    Each review sits at midnight UTC of its learner day, plus one microsecond per review
    before it in the card's history, which keeps the reviews in order within a day while
    the whole days between two reviews stay exactly the learner days between them.
    """
    return [
        datetime.combine(review.review_date, time(), tzinfo=UTC) + timedelta(microseconds=index)
        for index, review in enumerate(history.reviews)
    ]


def fsrs_predictions(
    history: CardHistory, parameters: Sequence[float] | None = None
) -> list[float]:
    """FSRS's predicted recall at each scored review of the card (see scored_reviews)."""
    return _fsrs_predictions(history, _fsrs_scheduler(parameters))


def sm2_predictions(history: CardHistory) -> list[float]:
    """SM-2's predicted recall at each scored review of the card (see the module notes)."""
    reviews = history.reviews
    if not reviews:
        return []
    state = sm2.Sm2State.new(reviews[0].review_date)
    predictions: list[float] = []
    for index, review in enumerate(reviews):
        if is_scored(reviews, index):
            elapsed = (review.review_date - reviews[index - 1].review_date).days
            predictions.append(sm2_recall(elapsed, state.interval))
        # SM-2 multiplies the interval at every pass however early the review, so a card
        # FSRS showed often can reach intervals past the last date Python can hold. Past
        # a century the prediction is 1 either way; py-fsrs and Anki stop there too.
        capped = replace(state, interval=min(state.interval, SM2_MAX_INTERVAL))
        state = sm2.review(capped, review.grade, review.review_date)
    return predictions


def sm2_recall(elapsed_days: int, interval: int) -> float:
    """90% at the scheduled interval, on an exponential curve; a lapsed card's 0 counts as 1."""
    return float(SM2_RECALL_AT_INTERVAL ** (elapsed_days / max(interval, 1)))


def log_loss(predicted: Sequence[float], outcomes: Sequence[bool]) -> float | None:
    """Mean binary cross-entropy, predictions clipped to [1e-6, 1 − 1e-6]."""
    _check_aligned(predicted, outcomes)
    if not predicted:
        return None
    total = 0.0
    for p, y in zip(predicted, outcomes, strict=True):
        clipped = min(max(p, PREDICTION_CLIP), 1 - PREDICTION_CLIP)
        total -= math.log(clipped if y else 1 - clipped)
    return total / len(predicted)


def rmse_bins(scored: Sequence[ScoredReview], predicted: Sequence[float]) -> float | None:
    """The srs-benchmark's RMSE (bins): see the module notes for the grouping."""
    _check_aligned(predicted, scored)
    if not scored:
        return None
    groups: dict[tuple[int, int, int], list[tuple[float, bool]]] = defaultdict(list)
    for review, p in zip(scored, predicted, strict=True):
        groups[history_bin(review)].append((p, review.recalled))
    squared = 0.0
    for members in groups.values():
        mean_p = sum(p for p, _ in members) / len(members)
        mean_y = sum(y for _, y in members) / len(members)
        squared += len(members) * (mean_y - mean_p) ** 2
    return math.sqrt(squared / len(scored))


def history_bin(review: ScoredReview) -> tuple[int, int, int]:
    """The review's RMSE group: log-scale bins of elapsed days, ordinal and lapses."""
    lapses = -1 if review.lapses == 0 else _log_bin(review.lapses, _LAPSES_BASE)
    return (
        _log_bin(review.elapsed_days, _ELAPSED_BASE),
        _log_bin(review.ordinal, _ORDINAL_BASE),
        lapses,
    )


def metrics(scored: Sequence[ScoredReview], predicted: Sequence[float]) -> Metrics:
    """All the metrics of one scheduler's predictions of the scored reviews."""
    _check_aligned(predicted, scored)
    if not scored:
        return Metrics(
            reviews=0, log_loss=None, rmse_bins=None, mean_predicted=None, mean_recalled=None
        )
    outcomes = [review.recalled for review in scored]
    return Metrics(
        reviews=len(scored),
        log_loss=log_loss(predicted, outcomes),
        rmse_bins=rmse_bins(scored, predicted),
        mean_predicted=sum(predicted) / len(predicted),
        mean_recalled=sum(outcomes) / len(outcomes),
    )


def evaluate_fsrs(
    histories: Iterable[CardHistory], parameters: Sequence[float] | None = None
) -> Metrics:
    """FSRS's metrics on the histories, with the given parameters or the defaults."""
    scheduler = _fsrs_scheduler(parameters)
    scored: list[ScoredReview] = []
    predicted: list[float] = []
    for history in histories:
        scored.extend(scored_reviews(history))
        predicted.extend(_fsrs_predictions(history, scheduler))
    return metrics(scored, predicted)


def evaluate_sm2(histories: Iterable[CardHistory]) -> Metrics:
    """SM-2's metrics on the histories."""
    scored: list[ScoredReview] = []
    predicted: list[float] = []
    for history in histories:
        scored.extend(scored_reviews(history))
        predicted.extend(sm2_predictions(history))
    return metrics(scored, predicted)


def compare(
    histories: Iterable[CardHistory], *, fsrs_parameters: Sequence[float] | None = None
) -> Comparison:
    """SM-2 and FSRS judged on the same history."""
    kept = list(histories)
    return Comparison(sm2=evaluate_sm2(kept), fsrs=evaluate_fsrs(kept, fsrs_parameters))


def _fsrs_scheduler(parameters: Sequence[float] | None) -> fsrs.Scheduler:
    # Fuzzing draws from the global random module; a replay must not.
    if parameters is None:
        return fsrs.Scheduler(enable_fuzzing=False)
    return fsrs.Scheduler(parameters=tuple(parameters), enable_fuzzing=False)


def _fsrs_predictions(history: CardHistory, scheduler: fsrs.Scheduler) -> list[float]:
    reviews = history.reviews
    clock = day_clock(history)
    if not reviews:
        return []
    # Card id and due date never reach a prediction; both are given so that py-fsrs
    # reads no clock (it would stamp a new card with the time now).
    card = fsrs.Card(card_id=0, due=clock[0])
    predictions: list[float] = []
    for index, review in enumerate(reviews):
        if is_scored(reviews, index):
            predictions.append(float(scheduler.get_card_retrievability(card, clock[index])))
        card, _ = scheduler.review_card(card, fsrs.Rating(int(review.rating)), clock[index])
    return predictions


def _log_bin(value: int, base: float) -> int:
    return math.floor(math.log(value) / math.log(base))


def _check_aligned(predicted: Sequence[float], others: Sequence[object]) -> None:
    if len(predicted) != len(others):
        raise ValueError(f"{len(predicted)} predictions for {len(others)} reviews")
