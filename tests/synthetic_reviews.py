"""Review histories of a simulated learner whose memory follows FSRS: the right answer is known.

The learner studies `new_per_day` new cards a day, starting on START. The first answer to
a new card is drawn from `first_ratings` (Again, Hard, Good, Easy). From then on, on the
day a card falls due, the learner recalls it with exactly the probability FSRS with
`parameters` gives (counting elapsed time in learner days, as Tutor does) and answers
Good, or Again. After an Again the card is relearnt the same day (answered Good, as SM-2
makes Tutor's learners do), and the next review is the interval FSRS with the same
parameters gives. So FSRS with `parameters` predicts this learner perfectly, and any
other model can only do worse, up to chance.

Deterministic: one seeded random.Random draws every answer and every time of day.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta

import fsrs
from fsrs.scheduler import DEFAULT_PARAMETERS

from scheduler.grades import Rating
from scheduler.history import CardHistory, PastReview

START = date(2026, 1, 5)
# The learner's day starts at 04:00 and their clock is UTC; reviews happen at any hour
# of the day up to 23:00, so two reviews on consecutive learner days are sometimes less
# than 24 hours apart.
DAY_STARTS_AT = time(4)
_LATEST_OFFSET = timedelta(hours=19)
_RELEARN_AFTER = timedelta(minutes=10)
# Roughly what Anki learners answer a new card with.
FIRST_RATINGS = (0.2, 0.1, 0.6, 0.1)

# A learner who forgets much faster than FSRS's defaults expect: low first stabilities,
# slow growth after a pass, weaker memory after a lapse, a different curve.
FORGETFUL_PARAMETERS: tuple[float, ...] = (
    *(0.1, 0.3, 0.6, 2.0),  # w0–w3, first stabilities (defaults 0.21, 1.29, 2.31, 8.30)
    *DEFAULT_PARAMETERS[4:8],
    1.0,  # w8, growth after a pass (default 1.87)
    *DEFAULT_PARAMETERS[9:11],
    0.8,  # w11, stability after a lapse (default 1.48)
    *DEFAULT_PARAMETERS[12:20],
    0.6,  # w20, the curve's decay (default 0.15)
)


def simulate_histories(
    *,
    cards: int,
    days: int,
    seed: int,
    parameters: Sequence[float] = DEFAULT_PARAMETERS,
    new_per_day: int = 5,
    desired_retention: float = 0.9,
    first_ratings: Sequence[float] = FIRST_RATINGS,
    start: date = START,
) -> list[CardHistory]:
    """`cards` cards' histories over `days` learner days from `start`, keyed 0, 1, 2, …"""
    rng = random.Random(seed)
    # No learning steps: every answer is followed by an interval in whole days.
    scheduler = fsrs.Scheduler(
        parameters=tuple(parameters),
        desired_retention=desired_retention,
        learning_steps=(),
        relearning_steps=(),
        enable_fuzzing=False,
    )
    return [
        _simulate_card(
            key,
            first_day=key // new_per_day,
            days=days,
            rng=rng,
            scheduler=scheduler,
            first_ratings=first_ratings,
            start=start,
        )
        for key in range(cards)
    ]


def scored_review_count(histories: Sequence[CardHistory]) -> int:
    """How many reviews fall on a later learner day than the card's previous one."""
    return sum(
        after.review_date > before.review_date
        for history in histories
        for before, after in zip(history.reviews, history.reviews[1:], strict=False)
    )


def _simulate_card(
    key: int,
    *,
    first_day: int,
    days: int,
    rng: random.Random,
    scheduler: fsrs.Scheduler,
    first_ratings: Sequence[float],
    start: date,
) -> CardHistory:
    reviews: list[PastReview] = []
    card = fsrs.Card(card_id=key, due=_instant(start, first_day, 0))
    day = first_day
    rating = rng.choices(list(Rating), weights=first_ratings)[0]
    while day < days:
        review_date = start + timedelta(days=day)
        reviewed_at = datetime.combine(review_date, DAY_STARTS_AT, tzinfo=UTC) + rng.random() * (
            _LATEST_OFFSET
        )
        answers = [rating] if rating is not Rating.again else [Rating.again, Rating.good]
        for repeat, answer in enumerate(answers):
            now = _instant(start, day, len(reviews))
            card, _ = scheduler.review_card(card, fsrs.Rating(int(answer)), now)
            reviews.append(
                PastReview.from_rating(reviewed_at + repeat * _RELEARN_AFTER, review_date, answer)
            )
        day += (card.due - now).days
        if day >= days:
            break
        recall = scheduler.get_card_retrievability(card, _instant(start, day, len(reviews)))
        rating = Rating.good if rng.random() < recall else Rating.again
    return CardHistory(key=key, reviews=tuple(reviews))


def _instant(start: date, day: int, index: int) -> datetime:
    # FSRS's clock in learner days, as scheduler.recall.day_clock builds it: midnight UTC,
    # plus a microsecond per earlier review of the card to keep a day's repeats in order.
    midnight = datetime.combine(start + timedelta(days=day), time(), tzinfo=UTC)
    return midnight + timedelta(microseconds=index)
