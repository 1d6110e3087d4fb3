"""/v1/cards and /v1/sessions/{id}/distill: drafts in, accepted cards out."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, status

from service.cards import service
from service.cards.distill import distill_session
from service.cards.models import CardStatus
from service.cards.schemas import (
    AcceptRequest,
    AcceptResult,
    CardCreate,
    CardOut,
    CardUpdate,
    DistillRequest,
    DistillResult,
)
from service.clock import ClockDep
from service.db import SessionDep
from service.errors import ErrorResponse
from service.learners.auth import CurrentLearner
from service.limits.service import ModelCallAllowed
from service.llm.errors import MODEL_ERRORS
from service.llm.model import LLMDep
from service.pagination import CursorParam, Limit, Page

router = APIRouter(tags=["cards"])

_NOTHING_TO_DISTILL: dict[int | str, dict[str, Any]] = {
    409: {
        "model": ErrorResponse,
        "description": "The session has no finished exchange yet (`nothing_to_distill`).",
    }
}
_CLOZE_WITHOUT_DELETION: dict[int | str, dict[str, Any]] = {
    422: {
        "model": ErrorResponse,
        "description": "The request is not valid (`validation_error`), or it would make an "
        "active cloze card without a deletion, which has nothing to review "
        "(`cloze_without_deletion`): write one as `{{c1::answer}}`. A draft may lack one, "
        "but cannot be accepted until it has one.",
    }
}
_INVALID_TRANSITION: dict[int | str, dict[str, Any]] = {
    409: {
        "model": ErrorResponse,
        "description": "The card cannot move to that status (`invalid_transition`): drafts "
        "are accepted (active), and active cards suspended and back.",
    }
}


@router.post(
    "/v1/sessions/{session_id}/distill",
    status_code=status.HTTP_201_CREATED,
    responses={**MODEL_ERRORS, **_NOTHING_TO_DISTILL},
)
async def distill(
    session_id: uuid.UUID,
    learner: CurrentLearner,
    db: SessionDep,
    llm: LLMDep,
    clock: ClockDep,
    _allowed: ModelCallAllowed,
    body: DistillRequest | None = None,
) -> DistillResult:
    """Turn the session into draft cards; duplicates and empty cards are skipped."""
    max_cards = (body or DistillRequest()).max_cards
    result = await distill_session(
        db, llm=llm, learner=learner, session_id=session_id, max_cards=max_cards, now=clock.now()
    )
    return DistillResult(cards=[CardOut.of(c) for c in result.cards], skipped=result.skipped)


@router.get("/v1/cards")
async def list_cards(
    learner: CurrentLearner,
    db: SessionDep,
    status: CardStatus | None = None,
    session_id: uuid.UUID | None = None,
    source_id: uuid.UUID | None = None,
    tag: Annotated[str | None, Query(max_length=100)] = None,
    q: Annotated[str | None, Query(max_length=200, description="Search both sides.")] = None,
    limit: Limit = 50,
    cursor: CursorParam = None,
) -> Page[CardOut]:
    where = service.CardFilter(
        status=status, session_id=session_id, source_id=source_id, tag=tag, q=q
    )
    cards, next_cursor = await service.list_cards(
        db, learner=learner, where=where, cursor=cursor, limit=limit
    )
    return Page(items=[CardOut.of(card) for card in cards], next_cursor=next_cursor)


@router.post("/v1/cards", status_code=status.HTTP_201_CREATED, responses=_CLOZE_WITHOUT_DELETION)
async def create_card(
    body: CardCreate, learner: CurrentLearner, db: SessionDep, clock: ClockDep
) -> CardOut:
    """A card written by hand: active at once, so a cloze card needs a deletion."""
    return CardOut.of(await service.create_card(db, learner=learner, data=body, now=clock.now()))


@router.post("/v1/cards/accept", responses=_CLOZE_WITHOUT_DELETION)
async def accept_cards(
    body: AcceptRequest, learner: CurrentLearner, db: SessionDep, clock: ClockDep
) -> AcceptResult:
    """Accept several drafts at once: the `ids` given, or `all` of them (of `session_id`),
    leaving flagged drafts for the learner to read unless `include_flagged`. Drafts that
    cannot be reviewed (a cloze card without a deletion) are never accepted: among `ids`
    they refuse the request (422, their ids in `details.ids`), with `all` they stay."""
    if body.ids is not None:
        cards = await service.accept_drafts(db, learner=learner, card_ids=body.ids, now=clock.now())
        return AcceptResult(cards=[CardOut.of(card) for card in cards])
    accepted = await service.accept_all_drafts(
        db,
        learner=learner,
        session_id=body.session_id,
        include_flagged=body.include_flagged,
        now=clock.now(),
    )
    return AcceptResult(
        cards=[CardOut.of(card) for card in accepted.cards],
        skipped_flagged=accepted.skipped_flagged,
    )


@router.get("/v1/cards/{card_id}")
async def get_card(card_id: uuid.UUID, learner: CurrentLearner, db: SessionDep) -> CardOut:
    return CardOut.of(await service.get_card(db, learner=learner, card_id=card_id))


@router.patch("/v1/cards/{card_id}", responses={**_INVALID_TRANSITION, **_CLOZE_WITHOUT_DELETION})
async def update_card(
    card_id: uuid.UUID, body: CardUpdate, learner: CurrentLearner, db: SessionDep, clock: ClockDep
) -> CardOut:
    """Edit a card, or move it: accept a draft (`status: active`), suspend, resume. A
    change that would leave an active cloze card without a deletion is refused (422)."""
    card = await service.update_card(
        db, learner=learner, card_id=card_id, changes=body.changes(), now=clock.now()
    )
    return CardOut.of(card)


@router.delete("/v1/cards/{card_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_card(card_id: uuid.UUID, learner: CurrentLearner, db: SessionDep) -> Response:
    await service.delete_card(db, learner=learner, card_id=card_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
