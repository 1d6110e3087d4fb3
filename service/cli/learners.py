"""`tutor learner ...`: learners and their API keys, from the operator's side."""

from __future__ import annotations

import json
import uuid
from typing import Annotated, Any

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from service.archive import service as archive
from service.cli.common import settings_or_fail, with_database
from service.learners import service as learners
from service.learners.models import ApiKey

learner_app = typer.Typer(help="Learners and their API keys.", no_args_is_help=True)

_AS_JSON = typer.Option("--json", help="Print JSON (stable keys) instead of text.")


@learner_app.command("add")
def learner_add(
    name: str,
    timezone: Annotated[str, typer.Option(help="IANA timezone, e.g. Europe/Berlin.")] = "UTC",
) -> None:
    """Create a learner and print their first API key."""

    async def work(session: AsyncSession) -> learners.IssuedKey:
        return await learners.create_learner(session, name=name, timezone=timezone)

    issued = with_database(settings_or_fail(), work)
    typer.echo(f"Created the learner '{issued.learner.name}'. Their API key, shown only once:")
    typer.echo(issued.key)


@learner_app.command("key")
def learner_key(name: str) -> None:
    """Issue another API key for a learner (old keys keep working until revoked)."""

    async def work(session: AsyncSession) -> str:
        learner = await learners.get_learner_by_name(session, name=name)
        return await learners.issue_key(session, learner=learner)

    typer.echo(with_database(settings_or_fail(), work))


@learner_app.command("rename")
def learner_rename(name: str, new_name: str) -> None:
    """Rename a learner (learners cannot rename themselves: a name is how you find them)."""

    async def work(session: AsyncSession) -> str:
        return (await learners.rename_learner(session, name=name, new_name=new_name)).name

    typer.echo(f"Renamed '{name}' to '{with_database(settings_or_fail(), work)}'.")


@learner_app.command("revoke")
def learner_revoke(prefix: str) -> None:
    """Revoke the API key with this prefix (as `tutor learner list` shows it)."""

    async def work(session: AsyncSession) -> None:
        await learners.revoke_key(session, prefix=prefix)

    with_database(settings_or_fail(), work)
    typer.echo(f"Revoked {prefix}.")


@learner_app.command("list")
def learner_list(as_json: Annotated[bool, _AS_JSON] = False) -> None:
    """List learners and the prefixes of their API keys."""

    async def work(session: AsyncSession) -> list[dict[str, Any]]:
        listed = []
        for summary in await learners.list_learners(session):
            learner = summary.learner
            keys = await learners.list_keys(session, learner=learner)
            listed.append(
                {
                    "name": learner.name,
                    "id": str(learner.id),
                    "timezone": learner.timezone,
                    "created_at": learner.created_at.isoformat(),
                    "active_keys": summary.active_keys,
                    "keys": [_key(key) for key in keys],
                }
            )
        return listed

    listed = with_database(settings_or_fail(), work)
    if as_json:
        typer.echo(json.dumps(listed, indent=2))
    elif not listed:
        typer.echo("No learners yet: `tutor learner add NAME`.")
    else:
        typer.echo("\n".join(line for learner in listed for line in _lines(learner)))


def _key(key: ApiKey) -> dict[str, Any]:
    return {
        "prefix": key.prefix,
        "state": "revoked" if key.revoked else "active",
        "created_at": key.created_at.isoformat(),
        "last_used_at": key.last_used_at.isoformat() if key.last_used_at else None,
        "revoked_at": key.revoked_at.isoformat() if key.revoked_at else None,
    }


def _lines(learner: dict[str, Any]) -> list[str]:
    lines = [
        f"{learner['name']}  timezone={learner['timezone']}  "
        f"active_keys={learner['active_keys']}  created={learner['created_at'][:10]}"
    ]
    for key in learner["keys"]:
        used = key["last_used_at"][:16].replace("T", " ") if key["last_used_at"] else "never"
        lines.append(f"    {key['prefix']}  {key['state']}  last used {used}")
    return lines


@learner_app.command("delete")
def learner_delete(
    name: str,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Delete a learner and everything of theirs: keys, sources, sessions, cards, reviews,
    study log, ... It cannot be undone: `tutor export --learner NAME` keeps a copy first.

    Deleting the last learner is allowed; the next `tutor serve` then creates `me` again,
    as on a fresh install."""
    settings = settings_or_fail()

    async def look(session: AsyncSession) -> tuple[uuid.UUID, dict[str, int]]:
        learner = await learners.get_learner_by_name(session, name=name)
        return learner.id, await archive.counts_of(session, learner=learner)

    learner_id, counts = with_database(settings, look)
    if not yes:
        has = ", ".join(f"{count} {kind}" for kind, count in counts.items())
        typer.confirm(
            f"Delete the learner '{name}' ({has}) with their API keys and everything else "
            "of theirs? This cannot be undone",
            abort=True,
        )

    async def delete(session: AsyncSession) -> bool:
        await learners.delete_learner(session, learner_id=learner_id)
        return bool(await learners.list_learners(session))

    others_left = with_database(settings, delete)
    typer.echo(f"Deleted the learner '{name}' and everything of theirs.")
    if not others_left:
        typer.echo(
            "No learners are left: the next `tutor serve` creates 'me' with a new key, "
            "or add one with `tutor learner add NAME`."
        )
