"""Is the learner stumped on a concept? When their explanations of it have failed twice
(verdict wrong or shaky) since they last got it right: two tries that did not land say
something underneath is missing, and the web app then offers the way back to it
(service/prerequisites). A solid explanation in between starts the count again: the
learner got it then, and a later slip is a slip."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence

from service.sessions.models import Critique, Verdict

FAILED = frozenset({Verdict.wrong, Verdict.shaky})
# Failed attempts (since the last solid one) that make the learner stumped.
STUMPED_AFTER = 2


def stumped(verdicts: Sequence[Verdict | None]) -> bool:
    """Whether the last of a concept's critiqued attempts, in order, leaves the learner
    stumped. Attempts without a verdict (a failed model call) do not count."""
    judged = [verdict for verdict in verdicts if verdict is not None]
    if not judged or judged[-1] not in FAILED:
        return False
    failed = 0
    for verdict in reversed(judged):
        if verdict not in FAILED:
            break
        failed += 1
    return failed >= STUMPED_AFTER


def stumped_by_critique(critiques: Iterable[Critique]) -> dict[uuid.UUID, bool]:
    """For each of a session's critiques, whether it left the learner stumped (as
    `stumped` reads the attempts on its concept up to it)."""
    by_concept: dict[str, list[Critique]] = {}
    for critique in critiques:
        by_concept.setdefault(critique.concept_key, []).append(critique)
    flags: dict[uuid.UUID, bool] = {}
    for attempts in by_concept.values():
        attempts.sort(key=lambda critique: critique.attempt)
        for index, critique in enumerate(attempts):
            flags[critique.id] = stumped([c.verdict for c in attempts[: index + 1]])
    return flags
