"""Flashcards, and the tags they carry."""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, ColumnElement, ForeignKey, Index, Label, String, Text, func, select
from sqlalchemy.orm import Mapped, QueryableAttribute, mapped_column, relationship

from service.db import Base, CreatedMixin, IdMixin, string_enum, utcnow


class CardKind(enum.StrEnum):
    basic = "basic"
    cloze = "cloze"


class CardStatus(enum.StrEnum):
    draft = "draft"  # proposed by distillation, waiting for the learner
    active = "active"  # accepted: reviewed on schedule
    suspended = "suspended"  # kept, but out of reviews


class FsrsState(enum.StrEnum):
    """Where a card is in FSRS (py-fsrs's State): in its first steps, on its interval,
    or back in steps after a lapse."""

    learning = "learning"
    review = "review"
    relearning = "relearning"


class CardOrigin(enum.StrEnum):
    distilled = "distilled"
    manual = "manual"
    imported = "imported"


class Card(IdMixin, CreatedMixin, Base):
    __tablename__ = "cards"
    __table_args__ = (
        Index("ix_cards_learner_created", "learner_id", "created_at", "id"),
        Index("ix_cards_learner_status_created", "learner_id", "status", "created_at", "id"),
        # The daily queue: a learner's active cards by due date.
        Index("ix_cards_learner_status_due", "learner_id", "status", "due"),
        # "New cards started today", counted for every queue.
        Index("ix_cards_learner_started", "learner_id", "started_on"),
        # An Anki note's cards, found again when the same package is imported twice.
        Index("ux_cards_learner_anki", "learner_id", "anki_guid", "anki_ord", unique=True),
    )

    learner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("learners.id", ondelete="CASCADE"))
    front: Mapped[str] = mapped_column(Text)
    back: Mapped[str] = mapped_column(Text, default="")
    kind: Mapped[CardKind] = mapped_column(string_enum(CardKind, "card_kind"))
    status: Mapped[CardStatus] = mapped_column(string_enum(CardStatus, "card_status"))
    origin: Mapped[CardOrigin] = mapped_column(string_enum(CardOrigin, "card_origin"))
    session_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("sessions.id", ondelete="SET NULL"), index=True
    )
    source_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("sources.id", ondelete="SET NULL"), index=True
    )
    quality_flags: Mapped[list[str]] = mapped_column(JSON, default=list)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    # The SM-2 schedule (scheduler/sm2.py); `due` is set when the card turns active.
    repetitions: Mapped[int] = mapped_column(default=0)
    easiness: Mapped[float] = mapped_column(default=2.5)
    interval: Mapped[int] = mapped_column(default=0)
    due: Mapped[date | None]
    drill: Mapped[bool] = mapped_column(default=False)
    lapses: Mapped[int] = mapped_column(default=0)
    last_reviewed_at: Mapped[datetime | None]
    # The learner's day of the first review: "new cards started today" counts these.
    started_on: Mapped[date | None]
    # The learner's day the card first became active (accepted, written or imported).
    activated_on: Mapped[date | None]

    # The FSRS memory state (scheduler/fsrs_schedule.py), kept while the learner uses FSRS
    # and derived from the review log when they switch to it; null before a first review.
    stability: Mapped[float | None]
    difficulty: Mapped[float | None]
    fsrs_state: Mapped[FsrsState | None] = mapped_column(string_enum(FsrsState, "fsrs_state"))
    fsrs_step: Mapped[int | None]

    # The Anki note this card is, and which of its cards (0-based): set for cards that
    # came from Anki, so a second import of the same package finds them again.
    anki_guid: Mapped[str | None] = mapped_column(String(64))
    anki_ord: Mapped[int | None]

    tag_rows: Mapped[list[CardTag]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True, lazy="selectin"
    )
    # The passage of a paper the card was distilled from, if it was (a row or none).
    # Loaded with the card, as its tags are; a new card has none unless given one.
    passage: Mapped[CardPassage | None] = relationship(
        cascade="all, delete-orphan", passive_deletes=True, lazy="selectin"
    )

    def __init__(self, **fields: Any) -> None:
        # Set, so that reading it on a new card never loads it (no lazy load in async).
        fields.setdefault("passage", None)
        super().__init__(**fields)

    @property
    def tags(self) -> list[str]:
        read: list[str] | None = self.__dict__.get(_READ_TAGS)
        if read is not None:
            return list(read)  # a copy, as the sorted rows below are
        return sorted(row.tag for row in self.tag_rows)

    @tags.setter
    def tags(self, tags: list[str]) -> None:
        self.__dict__.pop(_READ_TAGS, None)
        current = {row.tag: row for row in self.tag_rows}
        self.tag_rows = [current.get(tag) or CardTag(tag=tag) for tag in dict.fromkeys(tags)]


class CardTag(Base):
    """One row per tag, so "cards tagged X" is an indexed lookup on every database."""

    __tablename__ = "card_tags"
    __table_args__ = (Index("ix_card_tags_tag", "tag"),)

    card_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("cards.id", ondelete="CASCADE"), primary_key=True
    )
    tag: Mapped[str] = mapped_column(String(100), primary_key=True)


class CardPassage(Base):
    """Where in a paper a card came from, as it was when the card was distilled: the
    review page says "from <title> §<number>" and opens the passage. Deleted with the
    card, and with the source (the link would lead nowhere)."""

    __tablename__ = "card_passages"

    card_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("cards.id", ondelete="CASCADE"), primary_key=True
    )
    source_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("sources.id", ondelete="CASCADE"), index=True
    )
    first_block: Mapped[int]
    last_block: Mapped[int]
    paper_title: Mapped[str] = mapped_column(Text)
    section_number: Mapped[str | None] = mapped_column(String(32))
    section_heading: Mapped[str] = mapped_column(Text)
    page: Mapped[int | None]


# A card's tags in the statement that reads the card, rather than a second one: the
# review queue reads a hundred cards at a time, and loading their tags separately (an
# IN list of a hundred ids, rendered into the SQL afresh each time) cost more than the
# rest of the request. Tags hold no whitespace (cards/schemas.py), so a control
# character can join them.
_TAG_SEPARATOR = "\x1f"
# Where such a card keeps them: not a mapped attribute, so the ORM never sees it.
_READ_TAGS = "_read_tags"


def joined_tags(
    card_id: ColumnElement[uuid.UUID] | QueryableAttribute[uuid.UUID],
) -> Label[str | None]:
    """The tags of the card `card_id` as one string, a column of the statement."""
    return (
        select(func.aggregate_strings(CardTag.tag, _TAG_SEPARATOR))
        .where(CardTag.card_id == card_id)
        .scalar_subquery()
        .label("joined_tags")
    )


def set_joined_tags(card: Card, joined: str | None) -> None:
    """Give a card read with `joined_tags` its tags (`tag_rows` stays unloaded)."""
    card.__dict__[_READ_TAGS] = sorted(joined.split(_TAG_SEPARATOR)) if joined else []
