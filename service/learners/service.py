"""Learners and their keys, callable from the API and the CLI alike."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from service.db import utcnow
from service.errors import Conflict, InvalidRequest, NotFound
from service.learners import queries
from service.learners.auth import generate_key, hash_key, key_prefix
from service.learners.models import ApiKey, Learner
from service.learners.schemas import check_timezone
from service.webhooks import WebhookRefused, check_destination

FIRST_LEARNER_NAME = "me"


class LearnerNotFound(NotFound):
    code = "learner_not_found"


class ApiKeyNotFound(NotFound):
    code = "api_key_not_found"


class NameTaken(Conflict):
    """For the operator, who sees every learner anyway; never for a learner (see
    `update_learner`)."""

    code = "name_taken"

    def __init__(self, name: str) -> None:
        super().__init__(f"A learner named {name!r} already exists.")


class InvalidSetting(InvalidRequest):
    """A value the schema accepts but Tutor will not take. Shaped like the schema's own
    errors (`validation_error`, details naming the field), so a client shows it next to
    the field just the same."""

    code = "validation_error"

    def __init__(self, field: str, message: str, *, kind: str) -> None:
        super().__init__(
            f"{field}: {message}", details=[{"field": field, "message": message, "type": kind}]
        )


# Why a learner cannot rename themselves: the name is the operator's handle for the
# account (`tutor learner key NAME` finds it by it), hence unique; a rename refused
# because a name is taken would tell any learner which other learners exist.
_NAME_IS_THE_OPERATORS = (
    "your name is the account name this Tutor's operator gave you (the `tutor learner` "
    "commands find your account by it), so only they can change it"
)


@dataclass(frozen=True)
class IssuedKey:
    """The one moment the plain key exists outside the learner's hands."""

    learner: Learner
    key: str


@dataclass(frozen=True)
class LearnerSummary:
    learner: Learner
    active_keys: int


async def create_learner(session: AsyncSession, *, name: str, timezone: str = "UTC") -> IssuedKey:
    name = name.strip()
    if not name:
        raise ValueError("a learner needs a name")
    check_timezone(timezone)
    if await queries.learner_id_named(session, name=name) is not None:
        raise NameTaken(name)
    learner = Learner(name=name, timezone=timezone)
    session.add(learner)
    key = _add_key(session, learner)
    try:
        await session.commit()
    except IntegrityError:
        # Another process took the name between the check and the insert.
        await session.rollback()
        raise NameTaken(name) from None
    return IssuedKey(learner=learner, key=key)


async def lock_learner(session: AsyncSession, learner_id: uuid.UUID) -> Learner:
    """The learner's row, read afresh and locked until the transaction ends: work that
    rewrites many of a learner's rows at once (an import, a switch of scheduler) takes
    turns with the same work started at the same moment, rather than interleave."""
    return await session.get_one(Learner, learner_id, with_for_update=True, populate_existing=True)


async def get_learner_by_name(session: AsyncSession, *, name: str) -> Learner:
    learner = await queries.learner_named(session, name=name)
    if learner is None:
        raise LearnerNotFound(f"No learner named {name!r}.")
    return learner


async def issue_key(session: AsyncSession, *, learner: Learner) -> str:
    key = _add_key(session, learner)
    await session.commit()
    return key


async def revoke_key(session: AsyncSession, *, prefix: str) -> ApiKey:
    api_key = await queries.api_key_with_prefix(session, prefix=prefix)
    if api_key is None:
        raise ApiKeyNotFound(f"No API key starts with {prefix!r}.")
    if api_key.revoked_at is None:
        api_key.revoked_at = utcnow()
        await session.commit()
    return api_key


async def list_learners(session: AsyncSession) -> list[LearnerSummary]:
    rows = await queries.learners_with_active_keys(session)
    return [LearnerSummary(learner=learner, active_keys=count) for learner, count in rows]


async def list_keys(session: AsyncSession, *, learner: Learner) -> list[ApiKey]:
    return await queries.keys_of(session, learner_id=learner.id)


async def update_learner(
    session: AsyncSession,
    *,
    learner: Learner,
    changes: dict[str, Any],
    allow_private_webhooks: bool,
) -> Learner:
    """The learner's own settings. `name` may be sent but not changed (clients that send
    back what they read keep working); a new webhook URL is checked as delivery checks it."""
    if "name" in changes and changes["name"] != learner.name:
        raise InvalidSetting("name", _NAME_IS_THE_OPERATORS, kind="read_only")
    new_url = changes.get("webhook_url")
    if new_url is not None and new_url != learner.webhook_url:
        # The host's lookup can take seconds (a slow resolver may be the point of the
        # URL): the connection the key's lookup holds goes back to the pool meanwhile.
        await session.close()
        await _check_webhook(new_url, allow_private=allow_private_webhooks)
    learner = await session.get_one(Learner, learner.id)  # the request's is read-only
    for field, value in changes.items():
        setattr(learner, field, value)
    await session.commit()
    return learner


async def _check_webhook(url: str, *, allow_private: bool) -> None:
    # Delivery refuses such a URL anyway, but only at reminder time, in a log the learner
    # never sees; refused here, the learner learns why while they can still fix it.
    try:
        await check_destination(url, allow_private=allow_private)
    except WebhookRefused as exc:
        raise InvalidSetting("webhook_url", str(exc), kind="webhook_refused") from None


async def rename_learner(session: AsyncSession, *, name: str, new_name: str) -> Learner:
    """The operator's rename (`tutor learner`): NameTaken names the name in use, to someone
    who can list every learner anyway."""
    learner = await get_learner_by_name(session, name=name)
    new_name = new_name.strip()
    if not new_name:
        raise ValueError("a learner needs a name")
    if new_name == learner.name:
        return learner
    if await queries.learner_id_named(session, name=new_name) is not None:
        raise NameTaken(new_name)
    learner.name = new_name
    try:
        await session.commit()
    except IntegrityError:
        # Another process took the name between the check and the update.
        await session.rollback()
        raise NameTaken(new_name) from None
    return learner


async def delete_learner(session: AsyncSession, *, learner_id: uuid.UUID) -> None:
    """The learner and everything of theirs: every table that holds a learner's rows
    refers to `learners` (or to a row that does) with ON DELETE CASCADE, so the database
    removes the rest in the same transaction, on SQLite and PostgreSQL alike."""
    learner = await session.get(Learner, learner_id)
    if learner is None:
        raise LearnerNotFound("No such learner (deleted meanwhile?).")
    await session.delete(learner)
    await session.commit()


async def ensure_first_learner(session: AsyncSession) -> IssuedKey | None:
    """On a fresh install, create the learner `me` so the first run just works."""
    if await queries.any_learner(session):
        return None
    try:
        return await create_learner(session, name=FIRST_LEARNER_NAME)
    except NameTaken:
        # Another replica starting at the same moment created it first.
        return None


def _add_key(session: AsyncSession, learner: Learner) -> str:
    key = generate_key()
    session.add(ApiKey(learner=learner, prefix=key_prefix(key), key_hash=hash_key(key)))
    return key
