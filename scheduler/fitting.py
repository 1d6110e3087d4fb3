"""Fitting FSRS's 21 parameters to one learner's own history, with py-fsrs's optimizer.

Pure (no database, no clock) but slow and heavy: the optimizer needs PyTorch (the
`optimizer` extra) and offers no progress callback (only a tqdm bar on stderr when
verbose). On two cores, importing it takes 2–3 s and ~260 MB; fitting takes about 5 s for
600 scored reviews, 12 s for 2,000 and 50–70 s for 10,000 (~380 MB at most). Run it as a
background job, in its own process.

What the optimizer does (py-fsrs 6.3.2, `Optimizer.compute_optimal_parameters`): five
epochs of Adam from the default parameters, minimising log loss over the reviews that
fall on a later day than the card's previous one, on each card's first 64 reviews, in
mini-batches of 512 such reviews; it keeps the epoch with the lowest loss. With fewer
than 512 such reviews it returns the defaults untouched; `fit_fsrs` refuses instead
(`NotEnoughReviews`), so that defaults are never presented as a fit.

The history goes to the optimizer on the learner-day clock FSRS is judged on
(scheduler/recall.py, `day_clock`), so its "later day" is the learner's later day and the
reviews it learns from are exactly the reviews `recall` scores.

The log loss before (defaults) and after (fitted) is measured on the same history the
parameters were fitted to: in-sample. It shows the fit took hold, not how well the
parameters will predict reviews to come.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

import fsrs

from scheduler.history import CardHistory
from scheduler.recall import Metrics, day_clock, evaluate_fsrs, is_scored

# py-fsrs 6.3.2's optimizer constants (fsrs/optimizer.py: mini_batch_size, max_seq_len),
# copied because reading them imports torch; tests/api/reviews/test_fitting.py checks they
# still agree.
OPTIMIZER_MINI_BATCH = 512
OPTIMIZER_MAX_REVIEWS_PER_CARD = 64
PARAMETER_COUNT = 21
INSTALL_HINT = "pip install 'tutor-service[optimizer]'"


class OptimizerUnavailable(RuntimeError):
    """PyTorch (py-fsrs's optimizer extra) is not installed."""

    def __init__(self) -> None:
        super().__init__(
            "fitting FSRS parameters needs PyTorch, which is not installed; "
            f"install the optimizer extra: {INSTALL_HINT}"
        )


class NotEnoughReviews(ValueError):
    """Too few scored reviews to fit: the optimizer would return its defaults."""

    def __init__(self, have: int, need: int) -> None:
        self.have = have
        self.need = need
        super().__init__(
            f"fitting FSRS needs {need} reviews on a later day than the card's previous "
            f"review; this history has {have}"
        )


@dataclass(frozen=True)
class FitResult:
    """Fitted parameters and how they and the defaults predict the same (in-sample) history.

    `reviews` is how many reviews the optimizer learnt from (scored reviews among each
    card's first 64); `before` and `after` score every scored review.
    """

    parameters: tuple[float, ...]
    reviews: int
    before: Metrics
    after: Metrics

    @property
    def log_loss_before(self) -> float:
        return _known(self.before.log_loss)

    @property
    def log_loss_after(self) -> float:
        return _known(self.after.log_loss)


class _Optimizer(Protocol):
    def compute_optimal_parameters(self, verbose: bool = False) -> list[float]: ...


def optimizer_review_count(histories: Iterable[CardHistory]) -> int:
    """The reviews py-fsrs's optimizer learns from: scored ones in each card's first 64."""
    total = 0
    for history in histories:
        first = history.reviews[:OPTIMIZER_MAX_REVIEWS_PER_CARD]
        total += sum(is_scored(first, index) for index in range(len(first)))
    return total


def review_logs(histories: Sequence[CardHistory]) -> list[fsrs.ReviewLog]:
    """The histories as py-fsrs review logs: cards numbered in order, learner-day clock."""
    return [
        fsrs.ReviewLog(
            card_id=card_id,
            rating=fsrs.Rating(int(review.rating)),
            review_datetime=instant,
            review_duration=None,
        )
        for card_id, history in enumerate(histories)
        for review, instant in zip(history.reviews, day_clock(history), strict=True)
    ]


def fit_fsrs(histories: Iterable[CardHistory]) -> FitResult:
    """FSRS parameters fitted to the histories; refuses below the optimizer's minimum.

    Raises NotEnoughReviews when fewer than 512 reviews can be learnt from (checked
    first: it needs no PyTorch), OptimizerUnavailable when PyTorch is missing.
    """
    kept = list(histories)
    have = optimizer_review_count(kept)
    if have < OPTIMIZER_MINI_BATCH:
        raise NotEnoughReviews(have=have, need=OPTIMIZER_MINI_BATCH)
    optimizer = _load_optimizer(review_logs(kept))
    fitted = optimizer.compute_optimal_parameters(verbose=False)
    if len(fitted) != PARAMETER_COUNT:
        raise RuntimeError(f"the optimizer returned {len(fitted)} parameters, not 21")
    parameters = tuple(float(value) for value in fitted)
    return FitResult(
        parameters=parameters,
        reviews=have,
        before=evaluate_fsrs(kept),
        after=evaluate_fsrs(kept, parameters),
    )


def _load_optimizer(logs: list[fsrs.ReviewLog]) -> _Optimizer:
    # Imported here, not at the top: PyTorch is optional and takes seconds to import.
    try:
        importlib.import_module("torch")
        optimizer_module = importlib.import_module("fsrs.optimizer")
        # Without pandas or tqdm py-fsrs swaps in a class that raises on construction.
        optimizer: _Optimizer = optimizer_module.Optimizer(logs)
    except ImportError as error:
        raise OptimizerUnavailable() from error
    return optimizer


def _known(value: float | None) -> float:
    # A fit needs 512 scored reviews, so both log losses exist.
    assert value is not None
    return value
