"""The process that fits FSRS's parameters: histories in on stdin, the fit out on stdout.

`python -m service.reviews.fit_worker` reads a JSON list of card histories, runs
scheduler/fitting.py and writes one JSON object. The optimizer runs pure Python loops
for seconds to minutes; in the API's own process it would hold the interpreter lock
and stall every request meanwhile, and a stuck fit could not be stopped. A process of
its own can be stopped (service/reviews/optimizing.py kills it at shutdown) and, when it
dies, takes nothing else with it.
"""

from __future__ import annotations

import json
import sys
from datetime import date, datetime
from typing import Any

from scheduler.fitting import NotEnoughReviews, OptimizerUnavailable, fit_fsrs
from scheduler.grades import Rating
from scheduler.history import CardHistory, PastReview


def encode(histories: list[CardHistory]) -> bytes:
    """Each review as [reviewed_at (ISO 8601 with offset), review_date, grade, rating]."""
    return json.dumps(
        [
            {
                "key": str(history.key),
                "reviews": [
                    [r.reviewed_at.isoformat(), r.review_date.isoformat(), r.grade, int(r.rating)]
                    for r in history.reviews
                ],
            }
            for history in histories
        ]
    ).encode()


def decode(data: bytes) -> list[CardHistory]:
    return [
        CardHistory(
            key=card["key"],
            reviews=tuple(
                PastReview(
                    datetime.fromisoformat(reviewed_at),
                    date.fromisoformat(review_date),
                    grade,
                    Rating(rating),
                )
                for reviewed_at, review_date, grade, rating in card["reviews"]
            ),
        )
        for card in json.loads(data)
    ]


def run(data: bytes) -> dict[str, Any]:
    """The fit as JSON-ready data: `{"ok": true, ...}` or `{"ok": false, "error": ...}`."""
    try:
        fit = fit_fsrs(decode(data))
    except (NotEnoughReviews, OptimizerUnavailable) as error:
        return {"ok": False, "error": str(error)}
    return {
        "ok": True,
        "parameters": list(fit.parameters),
        "reviews": fit.reviews,
        "log_loss_before": fit.before.log_loss,
        "log_loss_after": fit.after.log_loss,
    }


def main() -> None:
    json.dump(run(sys.stdin.buffer.read()), sys.stdout)


if __name__ == "__main__":
    main()
