"""Never show the learner words they did not write.

The model is asked to quote the learner's explanation exactly, and usually does; when
it paraphrases, "fixes" a typo or invents a phrase, the quote is dropped (set to null)
rather than shown as if the learner had written it.
"""

from __future__ import annotations

from service.critiques.schemas import CritiqueDraft, IssueDraft

# Quotation marks a model may wrap around a quote it otherwise copied exactly.
_WRAPPERS = "\"'“”‘’«»`"


def normalise_whitespace(text: str) -> str:
    return " ".join(text.split())


def grounded_quote(quote: str | None, explanation: str) -> str | None:
    if quote is None:
        return None
    candidate = normalise_whitespace(quote.strip().strip(_WRAPPERS))
    if not candidate or candidate not in normalise_whitespace(explanation):
        return None
    return candidate


def ground(draft: CritiqueDraft, explanation: str) -> CritiqueDraft:
    issues = [
        IssueDraft(
            severity=issue.severity,
            quote=grounded_quote(issue.quote, explanation),
            problem=issue.problem,
            hint=issue.hint,
        )
        for issue in draft.issues
    ]
    return draft.model_copy(update={"issues": issues})
