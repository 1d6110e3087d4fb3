"""Cards out to Anki and CSV, and in from CSV (ours, or Anki's plain-text export)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from service.cards import cloze
from service.cards.anki import AnkiCard, build_apkg
from service.cards.csv_io import CsvCard, RowError, format_csv, parse_cards
from service.cards.models import Card, CardKind, CardOrigin, CardStatus
from service.cards.schemas import clean_tags
from service.cards.service import NewCard, add_batch, duplicate_finder
from service.learners.models import Learner
from service.sources.models import Source


async def _cards_with_sources(
    db: AsyncSession, *, learner: Learner, include_all: bool
) -> Sequence[tuple[Card, str | None]]:
    statement = (
        select(Card, Source.title)
        .outerjoin(Source, Source.id == Card.source_id)
        .where(Card.learner_id == learner.id)
        .order_by(Card.created_at, Card.id)
    )
    if not include_all:
        statement = statement.where(Card.status == CardStatus.active)
    return [(card, title) for card, title in await db.execute(statement)]


async def export_anki(db: AsyncSession, *, learner: Learner, include_all: bool) -> bytes:
    rows = await _cards_with_sources(db, learner=learner, include_all=include_all)
    cards = [
        AnkiCard(
            id=card.id,
            front=card.front,
            back=card.back,
            kind=card.kind.value,
            tags=tuple(card.tags),
            source_title=title,
            modified_at=card.updated_at,
        )
        for card, title in rows
    ]
    # Building the package is CPU and SQLite work: keep it off the event loop.
    return await asyncio.to_thread(build_apkg, cards)


async def export_csv(db: AsyncSession, *, learner: Learner, include_all: bool) -> str:
    rows = await _cards_with_sources(db, learner=learner, include_all=include_all)
    return format_csv(
        CsvCard(
            front=card.front,
            back=card.back,
            kind=card.kind.value,
            tags=tuple(card.tags),
            status=card.status.value,
            source=title,
            due=card.due,
        )
        for card, title in rows
    )


@dataclass
class ImportReport:
    imported: int = 0
    skipped_duplicates: int = 0
    errors: list[RowError] = field(default_factory=list)


async def import_csv(
    db: AsyncSession, *, learner: Learner, data: bytes, now: datetime
) -> ImportReport:
    """Import what can be imported; report each bad row by its line. Raises NotUtf8."""
    parsed = parse_cards(data)
    report = ImportReport(errors=list(parsed.errors))
    finder = await duplicate_finder(db, learner=learner)
    for row in parsed.rows:
        kind = CardKind.cloze if cloze.deletions(row.front) else CardKind.basic
        draft = NewCard(front=row.front, back=row.back, kind=kind, tags=clean_tags(list(row.tags)))
        result = await add_batch(
            db,
            learner=learner,
            drafts=[draft],
            status=CardStatus.active,
            origin=CardOrigin.imported,
            finder=finder,
            now=now,
        )
        report.imported += len(result.cards)
        for skipped in result.skipped:
            if skipped.reason == "duplicate":
                report.skipped_duplicates += 1
            else:
                problems = ", ".join(skipped.quality_flags)
                report.errors.append(
                    RowError(line=row.line, message=f"not a usable card ({problems})")
                )
    await db.commit()
    report.errors.sort(key=lambda error: error.line)
    return report
