"""Refusals of the per-learner limits, as errors a client can act on.

Every refusal happens before anything of the request is stored, so the message says
that the client can send the same request again; nothing has to be recovered.
"""

from __future__ import annotations

import math
from datetime import datetime

from service.errors import TutorError

_NOTHING_STORED = "Nothing of this request was stored; send it again then."


def retry_after(seconds: float) -> int:
    """Whole seconds, rounded up: a client that waits exactly this long gets in."""
    return max(1, math.ceil(seconds))


def _seconds(count: int) -> str:
    return f"{count} second" if count == 1 else f"{count} seconds"


def _answers(count: int) -> str:
    return "one answer" if count == 1 else f"{count} answers"


class RateLimited(TutorError):
    status_code = 429
    code = "rate_limited"

    def __init__(self, *, wait: float, limit: int) -> None:
        seconds = retry_after(wait)
        super().__init__(
            f"Too many requests to the model: at most {limit} a minute. "
            f"Try again in {_seconds(seconds)}. {_NOTHING_STORED}",
            details={"retry_after": seconds, "limit": limit},
            headers={"Retry-After": str(seconds)},
        )


class QuotaExceeded(TutorError):
    status_code = 429
    code = "quota_exceeded"

    def __init__(self, *, used: int, quota: int, resets_at: datetime, now: datetime) -> None:
        seconds = retry_after((resets_at - now).total_seconds())
        stamp = resets_at.isoformat()
        super().__init__(
            f"Today's model quota is used up ({used} of {quota} tokens). "
            f"It resets at {stamp}, the start of your next day. {_NOTHING_STORED}",
            details={"resets_at": stamp, "used": used, "quota": quota},
            headers={"Retry-After": str(seconds)},
        )


class TooManyStreams(TutorError):
    status_code = 429
    code = "too_many_streams"

    def __init__(self, *, limit: int) -> None:
        # No Retry-After: the slot frees when one of the learner's answers ends, not at a
        # time anyone can know.
        super().__init__(
            f"At most {_answers(limit)} can stream at once. Wait for one to finish, or ask "
            f"for a JSON answer. {_NOTHING_STORED}",
            details={"limit": limit},
        )


class LimitsUnavailable(TutorError):
    """Redis is configured and does not answer: refuse rather than run without limits."""

    status_code = 503
    code = "limits_unavailable"

    def __init__(self) -> None:
        super().__init__(
            "The limits store (Redis) does not answer, so requests to the model are refused "
            f"until it is back. {_NOTHING_STORED}",
            headers={"Retry-After": "5"},
        )
