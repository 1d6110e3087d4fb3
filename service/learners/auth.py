"""API keys and the CurrentLearner dependency.

Keys are long random strings, so a fast hash (SHA-256) is enough to keep them safe at
rest: there is nothing to brute-force. Only the hash and a short visible prefix are
stored; the key itself is shown once, when it is issued.
"""

from __future__ import annotations

import hashlib
import secrets
import string
from datetime import timedelta
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import HTTPBearer

from service.db import SessionDep, utcnow
from service.errors import Unauthorized
from service.learners.models import Learner
from service.learners.queries import key_owner, mark_key_used

KEY_SCHEME = "tutor_"
# Base62: a key selects with one double-click and needs no escaping anywhere.
_ALPHABET = string.ascii_letters + string.digits
_SECRET_LENGTH = 40  # about 238 bits
_VISIBLE_CHARS = 8
# Writing last_used_at on every request would turn each read into a write.
_LAST_USED_RESOLUTION = timedelta(minutes=1)

# Declares the scheme in the OpenAPI schema (the "Authorize" button in /docs);
# the header itself is parsed below so every failure gets its own message.
_bearer = HTTPBearer(auto_error=False, description="An API key from `tutor learner add`.")


def generate_key() -> str:
    return KEY_SCHEME + "".join(secrets.choice(_ALPHABET) for _ in range(_SECRET_LENGTH))


def key_prefix(key: str) -> str:
    return key[: len(KEY_SCHEME) + _VISIBLE_CHARS]


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def bearer_token(authorization: str | None) -> str:
    if not authorization:
        raise Unauthorized("Missing API key: send the header 'Authorization: Bearer <key>'.")
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or " " in token:
        raise Unauthorized("Malformed Authorization header: expected 'Bearer <key>'.")
    return token


async def current_learner(
    request: Request,
    session: SessionDep,
    _scheme: Annotated[object, Security(_bearer)] = None,
) -> Learner:
    """The learner whose key the request carries, read-only: it is not in the session."""
    token = bearer_token(request.headers.get("authorization"))
    # The key's lookup and its mark share the session's connection, asked for once.
    connection = await session.connection()
    found = await key_owner(connection, key_hash=hash_key(token))
    if found is None:
        raise Unauthorized("Unknown API key.")
    if found.revoked_at is not None:
        raise Unauthorized("This API key has been revoked.")
    now = utcnow()
    if found.last_used_at is None or now - found.last_used_at > _LAST_USED_RESOLUTION:
        await mark_key_used(connection, key_id=found.key_id, now=now)
        await session.commit()
    return found.learner


CurrentLearner = Annotated[Learner, Depends(current_learner)]
