"""The learner's cards from other sessions that a session's distillation should see.

The duplicate check in code catches a card asked again in nearly the same words; it
cannot see that "Why divide the logits by √d_k?" repeats "What does the 1/√d_k factor
prevent?". So distillation also shows the model the learner's existing cards on the
same subject, and asks for none that repeat them. The rule that picks them is meant to
be cheap (one query, then a set lookup per word) and easy to predict:

- Candidates are the learner's drafts and active cards from other sessions or from
  none (written by hand, imported). Suspended cards were put aside by the learner, and
  deleted ones are gone.
- A candidate is related when it shares a tag with the session: the source's tag, or a
  tag of a card already made from the session (the concepts the model named there).
  Or when the transcript covers its front: at least `RELATED_COVERAGE` of the front's
  content words (normalised as `dedupe.normalise` does, stop words such as "what",
  "the", "of" left out) occur in the transcript.
- The most related come first: by that coverage, then the newest; at most
  `MAX_RELATED_CARDS`. A shared tag lets a card in but does not rank it above a card
  whose words the transcript uses, since a source's tag may cover a hundred cards.

Why coverage and not rapidfuzz's `token_set_ratio(front, transcript)`: for a short
front against a long text that score reduces to nearly the same thing (its best term
compares the words both share with all of the front's words: 100 when the transcript
has them all), but it compares against the whole transcript to get there: about ten
seconds for 20,000 cards against a transcript of 5,000 distinct words, where coverage
takes half a second, most of it the normalising that the duplicate check does anyway.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from operator import itemgetter

from sqlalchemy.ext.asyncio import AsyncSession

from service.cards.dedupe import normalise
from service.cards.queries import related_candidates

__all__ = [
    "MAX_RELATED_CARDS",
    "RELATED_COVERAGE",
    "content_words",
    "related_cards",
]

MAX_RELATED_CARDS = 15
# Three quarters: a front with one word of four missing is still on the subject.
RELATED_COVERAGE = 0.75

# Words every question and transcript has: matching them says nothing about the subject.
# (A string split, not a list literal, which the formatter would spread one word a line.)
_STOP_WORDS = frozenset(
    """a an the of in on at to for by with from into as and or not no is are was were be
    been being do does did what which why how when where who whose this that these those
    it its they their them we our you your i he she his her there than then so if one
    can could would should will may might must has have had""".split()  # noqa: SIM905
)


def content_words(text: str) -> frozenset[str]:
    """The words of `text` that say what it is about, normalised."""
    return frozenset(normalise(text).split()) - _STOP_WORDS


async def related_cards(
    db: AsyncSession,
    *,
    learner_id: uuid.UUID,
    session_id: uuid.UUID,
    tags: Collection[str],
    transcript: str,
) -> list[str]:
    """The fronts of the learner's cards most related to the session, most related first."""
    rows = await related_candidates(db, learner_id=learner_id, session_id=session_id, tags=tags)
    transcript_words = content_words(transcript)
    related = []
    for front, created_at, shared in rows:
        coverage = _coverage(content_words(front), transcript_words)
        if shared or coverage >= RELATED_COVERAGE:
            related.append((coverage, created_at, front))
    related.sort(key=itemgetter(0, 1), reverse=True)
    return [front for _coverage, _created, front in related[:MAX_RELATED_CARDS]]


def _coverage(front_words: frozenset[str], transcript_words: frozenset[str]) -> float:
    """The share of the front's content words that the transcript has (0 for none)."""
    if not front_words:
        return 0.0
    return len(front_words & transcript_words) / len(front_words)
