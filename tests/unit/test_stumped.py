"""When failed explanations make the learner stumped (service/critiques/stumped.py)."""

from __future__ import annotations

import pytest

from service.critiques.stumped import stumped
from service.sessions.models import Verdict

S, K, W = Verdict.solid, Verdict.shaky, Verdict.wrong


@pytest.mark.parametrize(
    ("verdicts", "expected"),
    [
        ([], False),
        ([K], False),
        ([W], False),
        ([K, W], True),
        ([W, W, W], True),
        ([K, S], False),  # got it in the end
        ([K, S, K], False),  # a slip after a solid one
        ([K, S, K, W], True),  # two in a row again
        ([K, None, W], True),  # a critique the model failed on does not count
        ([None, None], False),
        ([S, S], False),
    ],
)
def test_two_failed_in_a_row_since_the_last_solid(
    verdicts: list[Verdict | None], expected: bool
) -> None:
    assert stumped(verdicts) is expected
