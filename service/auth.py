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
from sqlalchemy import bindparam, select, update

from service.db import SessionDep, built, table_of, utcnow
from service.errors import Unauthorized
from service.learners.models import ApiKey, Learner

KEY_SCHEME = "tutor_"
# Base62: a key selects with one double-click and needs no escaping anywhere.
_ALPHABET = string.ascii_letters + string.digits
_SECRET_LENGTH = 40  # about 238 bits
_VISIBLE_CHARS = 8
# Writing last_used_at on every request would turn each read into a write.
_LAST_USED_RESOLUTION = timedelta(minutes=1)

# Every request runs these, so they are built once (building a statement costs more
# than running it), on the tables: loading the key and the learner as ORM objects cost
# about a twentieth of a whole request.
_KEYS, _LEARNERS = table_of(ApiKey), table_of(Learner)
_KEY_AND_LEARNER = (
    select(_KEYS.c.id, _KEYS.c.revoked_at, _KEYS.c.last_used_at, _LEARNERS)
    .join(_LEARNERS, _KEYS.c.learner_id == _LEARNERS.c.id)
    .where(_KEYS.c.key_hash == bindparam("key_hash"))
)
_LEARNER_COLUMNS = tuple(_LEARNERS.columns.keys())
_MARK_USED = (
    update(_KEYS).where(_KEYS.c.id == bindparam("key_id")).values(last_used_at=bindparam("now"))
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
    """The learner whose key the request carries, read-only: it is not in the session."""
    token = bearer_token(request.headers.get("authorization"))
    connection = await session.connection()
    found = (await connection.execute(_KEY_AND_LEARNER, {"key_hash": hash_key(token)})).first()
    if found is None:
        raise Unauthorized("Unknown API key.")
    key_id, revoked_at, last_used_at, *learner = found
    if revoked_at is not None:
        raise Unauthorized("This API key has been revoked.")
    now = utcnow()
    if last_used_at is None or now - last_used_at > _LAST_USED_RESOLUTION:
        await connection.execute(_MARK_USED, {"key_id": key_id, "now": now})
        await session.commit()
    return built(Learner, dict(zip(_LEARNER_COLUMNS, learner, strict=True)))


CurrentLearner = Annotated[Learner, Depends(current_learner)]
