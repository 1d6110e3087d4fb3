"""What the API says about cards, and what it accepts."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from functools import lru_cache
from typing import Annotated, ClassVar, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)
from pydantic.config import JsonDict

from service.cards import cloze
from service.cards.models import Card, CardKind, CardOrigin, CardStatus, FsrsState
from service.patch import PatchModel
from service.rendering import render_markdown

_render = lru_cache(maxsize=4096)(render_markdown)
MAX_TAGS = 20


def clean_tags(tags: list[str]) -> list[str]:
    """Anki's rules: no spaces inside a tag; and no empty or repeated tags."""
    cleaned = ("_".join(tag.split()) for tag in tags)
    return list(dict.fromkeys(tag for tag in cleaned if tag))


Side = Annotated[str, StringConstraints(strip_whitespace=True, max_length=5000)]
Tags = Annotated[
    list[Annotated[str, StringConstraints(max_length=100)]],
    Field(max_length=MAX_TAGS),
    AfterValidator(clean_tags),
]


# The examples below: cards from one session on "Attention Is All You Need" (the
# reviews' examples show CARD_EXAMPLE too).
_SCHEDULE: JsonDict = {
    "repetitions": 2,
    "easiness": 2.6,
    "interval": 6,
    "due": "2025-03-21",
    "drill": False,
    "lapses": 0,
    "last_reviewed_at": "2025-03-15T08:12:40Z",
    "fsrs": {"state": "review", "stability": 6.41, "difficulty": 4.87},
}
CARD_EXAMPLE: JsonDict = {
    "id": "8d4e2f1a-6b3c-4d5e-9f70-1a2b3c4d5e6f",
    "front": "Why are the dot products in attention scaled by 1/√d_k?",
    "back": "For large d_k they grow large, pushing the softmax into regions with tiny gradients.",
    "kind": "basic",
    "tags": ["attention", "transformers"],
    "status": "active",
    "origin": "distilled",
    "session_id": "5f0c6f2e-8f0e-4c44-9a43-3f1f1fb0d2a1",
    "source_id": "3f2c1e4a-9b7d-4e21-8a65-0c1d2e3f4a5b",
    "quality_flags": [],
    "front_html": "<p>Why are the dot products in attention scaled by 1/√d_k?</p>",
    "back_html": "<p>For large d_k they grow large, pushing the softmax into regions "
    "with tiny gradients.</p>",
    "schedule": _SCHEDULE,
    "from_paper": {
        "source_id": "3f2c1e4a-9b7d-4e21-8a65-0c1d2e3f4a5b",
        "paper_title": "Attention Is All You Need",
        "section_number": "3.2.1",
        "section_heading": "Scaled Dot-Product Attention",
        "page": 4,
        "first_block": 6,
        "last_block": 8,
    },
    "created_at": "2025-03-14T09:31:02.377Z",
    "updated_at": "2025-03-15T08:12:40.102Z",
}
_NEW_SCHEDULE: JsonDict = {
    **_SCHEDULE,
    "repetitions": 0,
    "interval": 0,
    "due": None,
    "last_reviewed_at": None,
    "fsrs": None,
}
_DRAFT: JsonDict = {
    **CARD_EXAMPLE,
    "id": "2c9b8a7d-1e0f-4a3b-8c5d-6e7f8a9b0c1d",
    "front": "Multi-head attention runs {{c1::h}} attention functions in parallel.",
    "back": "",
    "kind": "cloze",
    "tags": ["attention"],
    "status": "draft",
    "front_html": "<p>Multi-head attention runs […] attention functions in parallel.</p>",
    "back_html": "<p>Multi-head attention runs <strong>h</strong> attention functions in "
    "parallel.</p>",
    "schedule": _NEW_SCHEDULE,
    "updated_at": "2025-03-14T09:31:02.377Z",
}
_ACCEPTED: JsonDict = {
    **_DRAFT,
    "status": "active",
    "schedule": {**_NEW_SCHEDULE, "due": "2025-03-14"},
}


class CardCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "front": "What does Adam's bias correction fix?",
                    "back": "The first and second moment estimates start at zero, so early "
                    "ones are biased towards zero; dividing by 1 − β^t undoes it.",
                    "tags": ["optimization", "adam"],
                },
                {
                    "front": "LoRA trains a {{c1::low-rank}} update ΔW = BA beside the "
                    "frozen weights.",
                    "kind": "cloze",
                    "source_id": "3f2c1e4a-9b7d-4e21-8a65-0c1d2e3f4a5b",
                },
            ]
        },
    )

    front: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=5000)]
    back: Side = ""
    kind: CardKind = CardKind.basic
    tags: Tags = []
    source_id: uuid.UUID | None = None


class CardUpdate(PatchModel):
    """Status moves: draft → active (accept), active ↔ suspended. An active card must be
    reviewable: a cloze card needs a deletion, `{{c1::…}}` (422 `cloze_without_deletion`)."""

    nullable: ClassVar[frozenset[str]] = frozenset()
    examples: ClassVar[list[dict[str, object]]] = [
        {"status": "active"},
        {"back": "They grow with d_k, and a saturated softmax has vanishing gradients."},
        {"status": "suspended"},
    ]

    front: Side | None = None
    back: Side | None = None
    kind: CardKind | None = None
    tags: Tags | None = None
    status: CardStatus | None = None


class AcceptRequest(BaseModel):
    """Which drafts to accept: the `ids` given, or `all` drafts (of one session)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"ids": ["2c9b8a7d-1e0f-4a3b-8c5d-6e7f8a9b0c1d"]},
                {"all": True, "session_id": "5f0c6f2e-8f0e-4c44-9a43-3f1f1fb0d2a1"},
            ]
        },
    )

    ids: Annotated[list[uuid.UUID], Field(min_length=1, max_length=500)] | None = Field(
        default=None, description="These drafts, flagged or not: the learner chose them."
    )
    all_drafts: bool = Field(
        default=False,
        alias="all",
        description="Every draft instead of `ids`: the learner's, or `session_id`'s.",
    )
    session_id: uuid.UUID | None = Field(
        default=None, description="With `all`: only this session's drafts."
    )
    include_flagged: bool = Field(
        default=False,
        description="With `all`: accept drafts with quality flags too; otherwise they stay "
        "drafts for the learner to read, and `skipped_flagged` counts them.",
    )

    @model_validator(mode="after")
    def _one_way_to_choose(self) -> Self:
        if self.all_drafts == (self.ids is not None):
            raise ValueError("Send either `ids` or `all: true`.")
        if not self.all_drafts and (self.session_id is not None or self.include_flagged):
            raise ValueError("`session_id` and `include_flagged` go with `all: true`.")
        return self


class FsrsMemoryOut(BaseModel):
    """FSRS's memory of the card, kept while FSRS schedules the learner's cards."""

    state: FsrsState
    stability: float | None = Field(
        description="Days until the chance of recall falls to 90%; null before a review."
    )
    difficulty: float | None = Field(description="1 (easy) to 10 (hard); null before a review.")


class ScheduleOut(BaseModel):
    """Where the card stands in SM-2 (and in FSRS, `fsrs`, while FSRS schedules it);
    `due` is null until the card is first active."""

    repetitions: int
    easiness: float
    interval: int
    due: date | None
    drill: bool
    lapses: int
    last_reviewed_at: datetime | None
    fsrs: FsrsMemoryOut | None


class CardPassageOut(BaseModel):
    """The passage of a paper a card was distilled from, as it was then: the review page
    says "from <paper_title> §<section_number>" and opens the reader at `first_block`."""

    model_config = ConfigDict(from_attributes=True)

    source_id: uuid.UUID
    paper_title: str
    section_number: str | None = Field(description='As the paper numbers it ("3.2.1").')
    section_heading: str
    page: int | None = Field(description="A PDF's page (1-based); null for a LaTeX source.")
    first_block: int = Field(description="The `position` of the passage's first block.")
    last_block: int


class CardOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [CARD_EXAMPLE, _DRAFT]})

    id: uuid.UUID
    front: str
    back: str
    kind: CardKind
    tags: list[str]
    status: CardStatus
    origin: CardOrigin
    session_id: uuid.UUID | None
    source_id: uuid.UUID | None
    quality_flags: list[str]
    front_html: str
    back_html: str
    schedule: ScheduleOut
    from_paper: CardPassageOut | None = Field(
        description="The passage of a paper the card was distilled from; null otherwise."
    )
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, card: Card) -> CardOut:
        if card.kind is CardKind.cloze:
            # The question hides the deletion; the answer shows it, then any extra.
            # A card from an Anki note asks its own deletion number, as in Anki.
            number = None if card.anki_ord is None else card.anki_ord + 1
            front_html = _render(cloze.hide(card.front, number))
            back_html = _render(
                cloze.reveal(card.front, number) + ("\n\n" + card.back if card.back else "")
            )
        else:
            front_html, back_html = _render(card.front), _render(card.back)
        return cls(
            id=card.id,
            front=card.front,
            back=card.back,
            kind=card.kind,
            tags=card.tags,
            status=card.status,
            origin=card.origin,
            session_id=card.session_id,
            source_id=card.source_id,
            quality_flags=list(card.quality_flags),
            front_html=front_html,
            back_html=back_html,
            schedule=ScheduleOut(
                repetitions=card.repetitions,
                easiness=card.easiness,
                interval=card.interval,
                due=card.due,
                drill=card.drill,
                lapses=card.lapses,
                last_reviewed_at=card.last_reviewed_at,
                fsrs=_fsrs_memory(card),
            ),
            from_paper=CardPassageOut.model_validate(card.passage) if card.passage else None,
            created_at=card.created_at,
            updated_at=card.updated_at,
        )


def _fsrs_memory(card: Card) -> FsrsMemoryOut | None:
    if card.fsrs_state is None:
        return None
    return FsrsMemoryOut(
        state=card.fsrs_state, stability=card.stability, difficulty=card.difficulty
    )


class SkippedDraft(BaseModel):
    front: str
    reason: str = Field(description="`duplicate` or `low_quality`.")
    duplicate_of: uuid.UUID | None = None
    quality_flags: list[str] = []


class DistillRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"max_cards": 5}]})

    max_cards: Annotated[int, Field(ge=1, le=30)] = 10


class DistillResult(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "cards": [_DRAFT],
                    "skipped": [
                        {
                            "front": "Why scale the dot products by 1/√d_k?",
                            "reason": "duplicate",
                            "duplicate_of": "8d4e2f1a-6b3c-4d5e-9f70-1a2b3c4d5e6f",
                            "quality_flags": [],
                        }
                    ],
                }
            ]
        }
    )

    cards: list[CardOut]
    skipped: list[SkippedDraft]


class AcceptResult(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"cards": [_ACCEPTED], "skipped_flagged": 1}]}
    )

    cards: list[CardOut] = Field(description="The drafts accepted now.")
    skipped_flagged: int = Field(
        default=0,
        description="Flagged drafts left as drafts: all of them without `include_flagged`; "
        "with it, those that cannot be reviewed yet (a cloze card without a deletion).",
    )
