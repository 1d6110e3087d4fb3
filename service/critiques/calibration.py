"""Verdict, score and praise that tell one story, whatever the model wrote.

Models, small ones most, return "solid" with 1/5, or a misconception under a "solid"
verdict, or a list of strengths for an explanation they call wrong. A learner reads the
verdict first, so the issues decide, then the verdict, then the score:

- a misconception (a false statement) is never `solid`: the verdict drops to `shaky`;
- the score is moved into its verdict's range (solid 4-5, shaky 2-3, wrong 0-1);
- praise follows the verdict: at most one strength for `wrong`, three for `shaky`,
  since a long list of strengths tells the learner a wrong explanation is nearly right.

A low-effort answer is left alone: it asks for a real attempt and has no verdict to
calibrate.
"""

from __future__ import annotations

from service.critiques.schemas import CritiqueDraft
from service.sessions.models import Verdict

SCORE_RANGES = {Verdict.solid: (4, 5), Verdict.shaky: (2, 3), Verdict.wrong: (0, 1)}
MOST_STRENGTHS = {Verdict.solid: 3, Verdict.shaky: 3, Verdict.wrong: 1}


def calibrate(draft: CritiqueDraft) -> CritiqueDraft:
    if draft.low_effort:
        return draft
    verdict = draft.verdict
    if verdict is Verdict.solid and any(i.type == "misconception" for i in draft.issues):
        verdict = Verdict.shaky
    low, high = SCORE_RANGES[verdict]
    return draft.model_copy(
        update={
            "verdict": verdict,
            "score": min(max(draft.score, low), high),
            "strengths": draft.strengths[: MOST_STRENGTHS[verdict]],
        }
    )
