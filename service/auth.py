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
from sqlalchemy import bindparam, select

from service.db import SessionDep, utcnow
from service.errors import Unauthorized
from service.learners.models import ApiKey, Learner

KEY_SCHEME = "tutor_"
# Base62: a key selects with one double-click and needs no escaping anywhere.
_ALPHABET = string.ascii_letters + string.digits
_SECRET_LENGTH = 40  # about 238 bits
_VISIBLE_CHARS = 8
# Writing last_used_at on every request would turn each read into a write.
_LAST_USED_RESOLUTION = timedelta(minutes=1)

# Every request runs this, so it is built once: building a statement costs more than
# running it.
_KEY_AND_LEARNER = (
    select(ApiKey, Learner).join(ApiKey.learner).where(ApiKey.key_hash == bindparam("key_hash"))
)

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
    token = bearer_token(request.headers.get("authorization"))
    found = (await session.execute(_KEY_AND_LEARNER, {"key_hash": hash_key(token)})).first()
    if found is None:
        raise Unauthorized("Unknown API key.")
    api_key, learner = found
    if api_key.revoked:
        raise Unauthorized("This API key has been revoked.")
    now = utcnow()
    if api_key.last_used_at is None or now - api_key.last_used_at > _LAST_USED_RESOLUTION:
        api_key.last_used_at = now
        await session.commit()
    return learner


CurrentLearner = Annotated[Learner, Depends(current_learner)]
