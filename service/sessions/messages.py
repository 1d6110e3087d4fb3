"""Adding to a session: a new last message, and why one cannot be added."""

from __future__ import annotations

from service.errors import Conflict, TutorError
from service.sessions.models import Message, TutorSession


class TooManyTokens(TutorError):
    status_code = 413

    def __init__(self, what: str, code: str, tokens: int, limit: int) -> None:
        super().__init__(
            f"The {what} is {tokens} tokens long; the limit is {limit}. "
            "Split it and send the parts one at a time.",
            details={"tokens": tokens, "limit": limit},
        )
        self.code = code


class SessionBusy(Conflict):
    code = "session_busy"

    def __init__(self) -> None:
        super().__init__("Another message reached this session at the same moment; send again.")


def append_message(session: TutorSession, **fields: object) -> Message:
    """A new last message in the session (its messages must be loaded)."""
    position = (session.messages[-1].position + 1) if session.messages else 0
    message = Message(session_id=session.id, position=position, **fields)
    session.messages.append(message)
    return message
